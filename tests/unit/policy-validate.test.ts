import { test } from "node:test";
import assert from "node:assert/strict";
import { parsePolicy, parsePolicyText, ToolgateError, validatePolicy } from "../../sdk/index.ts";

const base = { version: "1", default: "deny" };
const errorsOf = (doc: unknown) => {
  const r = validatePolicy(doc);
  assert.equal(r.ok, false, "expected the document to be rejected");
  return r.ok ? [] : r.errors.map((e) => `${e.path}: ${e.message}`);
};
const warningsOf = (doc: unknown) => validatePolicy(doc).warnings.map((w) => `${w.path}: ${w.message}`);
const tool = (rules: unknown) => ({ ...base, tools: { t: rules } });

test("a PolicyLayer document is valid as written", () => {
  const r = validatePolicy({
    version: "1", default: "deny", hide: ["delete_account"],
    all_tools: { limits: [{ counter: "calls-per-minute", window: "minute", max: 120, scope: "grant" }] },
    tools: {
      search: {},
      create_charge: {
        require: [{ path: "args.reason", op: "exists" }],
        deny_if: [{ path: "args.amount", op: "gt", value: 10000, on_deny: "Charges over 100.00 need finance." }],
        limits: [{ counter: "create_charge_rate", window: "minute", max: 30, scope: "grant" }],
      },
      request_refund: { deny_if: [{ conditions: [], on_deny: "Requires human approval." }] },
    },
  });
  assert.deepEqual(r, { ok: true, document: r.ok ? r.document : undefined, warnings: [] });
});

test("missing or wrong version and default", () => {
  assert.deepEqual(errorsOf({}), ['/default: default must be "allow" or "deny", it is missing', '/version: version must be "1", it is missing']);
  assert.deepEqual(errorsOf({ version: "2", default: "block" }), ['/default: default must be "allow" or "deny", got "block"', '/version: version must be "1", got "2"']);
  assert.deepEqual(errorsOf({ version: 1, default: "deny" }), ['/version: version must be "1", got 1']);
  assert.deepEqual(errorsOf([]), [": a policy document must be a JSON object, got []"]);
});

test("unknown keys everywhere, with suggestions for near misses", () => {
  assert.deepEqual(errorsOf({ ...base, defualt: "x", all_tools: { limit: [] }, tools: { t: { "deny-if": [], limits: [{ counter: "c", window: "minute", max: 1, scop: "grant" }], require: [{ path: "args.a", op: "exists", onDeny: "x" }] } } }), [
    '/all_tools/limit: unknown key "limit"; did you mean "limits"?',
    '/defualt: unknown key "defualt"; did you mean "default"?',
    '/tools/t/deny-if: unknown key "deny-if"; did you mean "deny_if"?',
    '/tools/t/limits/0/scop: unknown key "scop"; did you mean "scope"?',
    '/tools/t/require/0/onDeny: unknown key "onDeny"; did you mean "on_deny"?',
  ]);
});

test("unknown operators, and the path is still checked", () => {
  assert.deepEqual(errorsOf(tool({ deny_if: [{ path: "amount", op: "greater", value: 1 }, { path: "args.a" }] })), [
    '/tools/t/deny_if/0/op: unknown operator "greater"; expected one of eq, neq, in, not_in, lt, lte, gt, gte, regex, contains, exists',
    '/tools/t/deny_if/0/path: path must start with "args." and name an argument, e.g. "args.amount", got "amount"',
    "/tools/t/deny_if/1/op: op is required; expected one of eq, neq, in, not_in, lt, lte, gt, gte, regex, contains, exists",
  ]);
});

test("paths must start with args. and name an argument", () => {
  for (const path of ["amount", "args", "args.", "args..a", "state.x.y", "Args.a"]) {
    assert.deepEqual(errorsOf(tool({ require: [{ path, op: "exists" }] })), [`/tools/t/require/0/path: path must start with "args." and name an argument, e.g. "args.amount", got ${JSON.stringify(path)}`]);
  }
});

test("value types per operator", () => {
  assert.deepEqual(errorsOf(tool({ deny_if: [
    { path: "args.a", op: "gt", value: "10" },
    { path: "args.a", op: "lte" },
    { path: "args.a", op: "in", value: "eu" },
    { path: "args.a", op: "not_in", value: { a: 1 } },
    { path: "args.a", op: "regex", value: 5 },
    { path: "args.a", op: "regex", value: "([a-z" },
    { path: "args.a", op: "regex", value: "(a)\\1" },
    { path: "args.a", op: "exists", value: "yes" },
    { path: "args.a", op: "eq" },
  ] })), [
    '/tools/t/deny_if/0/value: operator "gt" requires a numeric value, got "10"',
    '/tools/t/deny_if/1/value: operator "lte" requires a numeric value, it is missing',
    '/tools/t/deny_if/2/value: operator "in" requires a list value, got "eu"',
    '/tools/t/deny_if/3/value: operator "not_in" requires a list value, got {"a":1}',
    "/tools/t/deny_if/4/value: regex value must be a string, got 5",
    '/tools/t/deny_if/5/value: invalid regex "([a-z" (RE2 syntax): missing closing ]: `[a-z`',
    '/tools/t/deny_if/6/value: invalid regex "(a)\\\\1" (RE2 syntax): invalid escape sequence: `\\1`',
    '/tools/t/deny_if/7/value: operator "exists" requires a boolean value, got "yes"',
    '/tools/t/deny_if/8/value: operator "eq" requires a value',
  ]);
});

test("limits: max, window, scope, counter, duplicates", () => {
  const limits = [
    { counter: "a", window: "minute", max: 0 },
    { counter: "b", window: "week", max: 1.5, scope: "org" },
    { counter: "", window: "0s", max: -1 },
    { counter: "a", window: "367d", max: 1 },
    { counter: "c", window: "15m", max: 5, scope: "server" },
  ];
  assert.deepEqual(errorsOf({ ...base, all_tools: { limits } }), [
    "/all_tools/limits/0/max: max must be a positive integer, got 0",
    "/all_tools/limits/1/max: max must be a positive integer, got 1.5",
    '/all_tools/limits/1/scope: scope must be one of "grant", "server", "policy", "global", "user", got "org"',
    '/all_tools/limits/1/window: window must be "minute", "hour", "day" or a duration like "30s", "15m", "6h", "2d" (at most 366d), got "week"',
    "/all_tools/limits/2/counter: counter must not be empty",
    "/all_tools/limits/2/max: max must be a positive integer, got -1",
    '/all_tools/limits/2/window: window must be "minute", "hour", "day" or a duration like "30s", "15m", "6h", "2d" (at most 366d), got "0s"',
    '/all_tools/limits/3/counter: duplicate counter "a" (also used by /all_tools/limits/0)',
    '/all_tools/limits/3/window: window must be "minute", "hour", "day" or a duration like "30s", "15m", "6h", "2d" (at most 366d), got "367d"',
  ]);
});

test("the same counter name in different limits arrays is fine", () => {
  const r = validatePolicy({ ...base, all_tools: { limits: [{ counter: "c", window: "minute", max: 1 }] }, tools: { t: { limits: [{ counter: "c", window: "hour", max: 1 }] } } });
  assert.equal(r.ok, true);
});

test("hide: duplicate and empty entries", () => {
  assert.deepEqual(errorsOf({ ...base, hide: ["a", "", "a"] }), ['/hide/1: hide entry must not be empty', '/hide/2: duplicate entry "a" (also at /hide/0)']);
});

test("dead rules: contradictions are errors, overlaps are warnings", () => {
  assert.deepEqual(warningsOf({ ...base, hide: ["t"], tools: { t: {} } }), ['/tools/t: rules for "t" never apply: the tool is also in hide, which wins']);
  assert.deepEqual(warningsOf({ ...base, hide: ["*"], tools: { t: {} } }), ['/tools/t: rules for "t" never apply: hide contains "*", which hides every tool']);
  assert.deepEqual(warningsOf({ ...base, tools: { "*": {} } }), ['/tools/*: "*" is a tool name here, not a wildcard; use all_tools for limits on every tool']);
  assert.deepEqual(warningsOf(tool({ deny_if: [{ conditions: [] }, { path: "args.a", op: "exists" }], limits: [{ counter: "c", window: "minute", max: 1 }] })), [
    '/tools/t/deny_if/0: denies every call to "t", so the rules after it (1 deny_if, 1 limits) never apply',
  ]);
  assert.deepEqual(warningsOf(tool({ require: [{ conditions: [] }] })), ["/tools/t/require/0: a require group with no conditions always holds, so it has no effect"]);
  assert.deepEqual(errorsOf(tool({ require: [{ path: "args.a", op: "gt", value: 10 }, { path: "args.a", op: "lt", value: 5 }] })), [
    "/tools/t/require: these requirements can never all hold, so every call would be denied: args.a must be > 10 and < 5",
  ]);
  assert.deepEqual(errorsOf(tool({ deny_if: [{ conditions: [{ path: "args.a", op: "gte", value: 5 }, { path: "args.a", op: "lt", value: 5 }] }] })), [
    "/tools/t/deny_if/0: conditions can never all hold: args.a must be >= 5 and < 5",
  ]);
  assert.deepEqual(errorsOf(tool({ deny_if: [{ path: "args.a", op: "in", value: [] }] })), [
    '/tools/t/deny_if/0/value: "in" with an empty list never holds, so this rule can never deny',
  ]);
});

test("every problem is reported at once, sorted by path", () => {
  const r = validatePolicy({ version: "0", default: "deny", hide: ["x", "x"], tools: { a: { limits: [{ counter: "c", window: "minute", max: 0 }] }, b: { require: [{ path: "q", op: "exists" }] } } });
  assert.equal(r.ok, false);
  assert.deepEqual(!r.ok && r.errors.map((e) => e.path), ["/hide/1", "/tools/a/limits/0/max", "/tools/b/require/0/path", "/version"]);
});

test("parsePolicy throws one ToolgateError listing every problem", () => {
  assert.throws(() => parsePolicy({ version: "1" }), (e: unknown) => e instanceof ToolgateError && e.code === "invalid_policy" && e.issues.length === 1 && e.message === 'invalid policy document:\n  /default: default must be "allow" or "deny", it is missing');
});

test("YAML and JSON text are both accepted; duplicate keys are an error with a position", () => {
  const yaml = 'version: "1"\ndefault: deny\ntools:\n  search: {}\n  write_file:\n    limits:\n      - { counter: writes, window: 15m, max: 20 }\n';
  assert.equal(validatePolicy(parsePolicyText(yaml)).ok, true);
  assert.equal(validatePolicy(parsePolicyText('{"version":"1","default":"allow"}')).ok, true);
  assert.throws(() => parsePolicyText("version: '1'\nversion: '1'\n", "p.yaml"), (e: unknown) => e instanceof ToolgateError && e.code === "parse_error" && e.message === "p.yaml:2:1: Map keys must be unique");
  assert.throws(() => parsePolicyText('{"version": "1",', "p.json"), (e: unknown) => e instanceof ToolgateError && e.code === "parse_error" && e.message.startsWith("p.json:"));
});

test('YAML 1.2: "no" and "on" stay strings, so a tool named "no" is not a boolean', () => {
  assert.deepEqual(parsePolicyText("hide: [no, on, yes]\n"), { hide: ["no", "on", "yes"] });
});
