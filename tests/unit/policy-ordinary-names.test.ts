import { test } from "node:test";
import assert from "node:assert/strict";
import { compilePolicy, diffPolicies, parsePolicy, parsePolicyText, validatePolicy } from "../../sdk/index.ts";

// Names that are also properties of Object.prototype. JSON.parse (and YAML) keep "__proto__" as an own key.
const NAMES = ["__proto__", "constructor", "toString", "hasOwnProperty", "valueOf", "__defineGetter__", "isPrototypeOf"];

const documentText = (names: readonly string[], rules: object) =>
  JSON.stringify({ version: "1", default: "allow", tools: Object.fromEntries(names.map((n) => [n, rules])) });
const call = (tool: string, args: unknown = {}) => ({ tool, args, grant: "g", server: "s", now: 0 });

test("a tool named __proto__, constructor, toString… validates, compiles and its deny_if applies", () => {
  const text = documentText(NAMES, { deny_if: [{ path: "args.amount", op: "gt", value: 10000 }], limits: [{ counter: "c", window: "minute", max: 5 }] });
  const result = validatePolicy(JSON.parse(text));
  assert.equal(result.ok, true);
  assert.deepEqual(result.ok && Object.keys(result.document.tools!), NAMES);
  assert.equal(JSON.stringify(result.ok && result.document), text, "the parsed document is the document written");
  const policy = compilePolicy(parsePolicy(JSON.parse(text)));
  for (const name of NAMES) {
    const denied = policy.decide(call(name, { amount: 20000 }));
    assert.deepEqual([denied.effect, denied.rule], ["deny", `/tools/${name}/deny_if/args.amount-gt`], name);
    const allowed = policy.decide(call(name, { amount: 5 }));
    assert.deepEqual([allowed.effect, allowed.reservations[0]!.rule], ["allow", `/tools/${name}/limits/c`], name);
  }
});

test("the same in YAML", () => {
  const policy = compilePolicy(parsePolicy(parsePolicyText("version: '1'\ndefault: allow\ntools:\n  __proto__:\n    deny_if: [{ path: args.x, op: exists }]\n", "p.yaml")));
  assert.equal(policy.decide(call("__proto__", { x: 1 })).effect, "deny");
});

test("a __proto__ tool's rules are validated like any other's", () => {
  const result = validatePolicy(JSON.parse('{"version":"1","default":"deny","tools":{"__proto__":{"deny-if":[],"require":[{"path":"args.a","op":"greater","value":1}]},"ok":{"limits":"no"}}}'));
  assert.deepEqual(result.ok ? [] : result.errors.map((e) => `${e.path}: ${e.message}`), [
    '/tools/__proto__/deny-if: unknown key "deny-if"; did you mean "deny_if"?',
    '/tools/__proto__/require/0/op: unknown operator "greater"; expected one of eq, neq, in, not_in, lt, lte, gt, gte, regex, contains, exists',
    "/tools/ok/limits: limits must be a list, got \"no\"",
  ]);
});

test("names that are not listed are not found on Object.prototype", () => {
  const deny = compilePolicy(parsePolicy({ version: "1", default: "deny", tools: { search: {} } }));
  for (const name of NAMES) assert.equal(deny.decide(call(name)).rule, "(default deny)", name);
  const hidden = compilePolicy(parsePolicy(JSON.parse('{"version":"1","default":"allow","hide":["__proto__","constructor"]}')));
  assert.deepEqual(["__proto__", "constructor", "toString"].map((n) => hidden.decide(call(n)).rule), ["(hidden)", "(hidden)", ""]);
  const filtered = compilePolicy(parsePolicy(JSON.parse('{"version":"1","default":"deny","list":"filtered","tools":{"__proto__":{"deny_if":[{"conditions":[]}]},"toString":{}}}')));
  assert.deepEqual(filtered.filterTools(NAMES.map((name) => ({ name }))).map((t) => t.name), ["toString"]);
});

test("policy diff sees a __proto__ tool", () => {
  const before = parsePolicy(JSON.parse('{"version":"1","default":"deny"}'));
  const listed = parsePolicy(JSON.parse('{"version":"1","default":"deny","tools":{"__proto__":{}}}'));
  const guarded = parsePolicy(JSON.parse('{"version":"1","default":"deny","tools":{"__proto__":{"deny_if":[{"path":"args.a","op":"exists"}]}}}'));
  assert.deepEqual(diffPolicies(before, listed).map((c) => `${c.direction} ${c.path}: ${c.description}`), ['looser /tools/__proto__: "__proto__" is now allowed (subject to its rules); it was denied']);
  assert.deepEqual(diffPolicies(listed, guarded).map((c) => `${c.direction} ${c.path}`), ["stricter /tools/__proto__/deny_if/args.a-exists"]);
});
