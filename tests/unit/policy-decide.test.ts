import { test } from "node:test";
import assert from "node:assert/strict";
import { compilePolicy, limitDenial, NO_POLICY_DECISION, parsePolicy, type PolicyDocument, type PolicyDocumentInput } from "../../sdk/index.ts";

const compile = (doc: PolicyDocumentInput, name?: string) => compilePolicy(parsePolicy(doc), { name });
const call = (tool: string, args: unknown = {}, now = Date.UTC(2026, 0, 31, 12, 0, 30)) => ({ tool, args, grant: "alice", server: "stripe", now });

const PAYMENTS: PolicyDocumentInput = {
  version: "1",
  default: "deny",
  hide: ["delete_account"],
  all_tools: { limits: [{ counter: "calls", window: "minute", max: 120, scope: "grant" }] },
  tools: {
    search: {},
    delete_account: {},
    create_charge: {
      require: [{ path: "args.reason", op: "exists" }],
      deny_if: [{ path: "args.amount", op: "gt", value: 10000, on_deny: "Charges over 100.00 need finance." }],
      limits: [{ counter: "create_charge_rate", window: "minute", max: 30, scope: "grant" }],
    },
  },
};

test("a grant without a policy denies with (no policy)", () => {
  assert.deepEqual({ ...NO_POLICY_DECISION }, {
    effect: "deny",
    rule: "(no policy)",
    message: "No policy is attached to this grant, so every call is denied.",
    reservations: [],
  });
});

test("every rule ID form and message, in decision order", () => {
  const policy = compile(PAYMENTS);
  const cases: [string, unknown, string, string][] = [
    ["delete_account", {}, "(hidden)", 'Tool "delete_account" is hidden by policy'],
    ["export", {}, "(default deny)", 'Tool "export" is not permitted by policy'],
    ["create_charge", { amount: 20000 }, "/tools/create_charge/require/args.reason-exists", 'Call to "create_charge" requires args.reason exists'],
    ["create_charge", { amount: 20000, reason: "x" }, "/tools/create_charge/deny_if/args.amount-gt", "Charges over 100.00 need finance."],
  ];
  for (const [tool, args, rule, message] of cases) {
    const d = policy.decide(call(tool, args));
    assert.deepEqual({ effect: d.effect, rule: d.rule, message: d.message }, { effect: "deny", rule, message }, tool);
  }
});

test("hidden wins over tools, default deny over rules, require over deny_if", () => {
  const policy = compile({
    version: "1", default: "deny", hide: ["h"],
    tools: { h: {}, t: { require: [{ path: "args.a", op: "eq", value: 1 }], deny_if: [{ path: "args.b", op: "eq", value: 1 }] } },
  });
  assert.equal(policy.decide(call("h")).rule, "(hidden)");
  assert.equal(policy.decide(call("t", { a: 2, b: 1 })).rule, "/tools/t/require/args.a-eq");
  assert.equal(policy.decide(call("t", { a: 1, b: 1 })).rule, "/tools/t/deny_if/args.b-eq");
  assert.equal(policy.decide(call("t", { a: 1, b: 2 })).effect, "allow");
});

test("an allowed call returns rule '' and one reservation per limit, tool limits first", () => {
  const d = compile(PAYMENTS, "payments").decide(call("create_charge", { amount: 50, reason: "x" }));
  assert.equal(d.effect, "allow");
  assert.equal(d.rule, "");
  assert.equal(d.message, "");
  assert.deepEqual(d.reservations.map((r) => [r.rule, r.max, r.windowStart, r.resetAt, r.scope]), [
    ["/tools/create_charge/limits/create_charge_rate", 30, Date.UTC(2026, 0, 31, 12, 0), Date.UTC(2026, 0, 31, 12, 1), "grant"],
    ["/all_tools/limits/calls", 120, Date.UTC(2026, 0, 31, 12, 0), Date.UTC(2026, 0, 31, 12, 1), "grant"],
  ]);
});

test("a tool listed as {} is allowed with only all_tools limits", () => {
  const d = compile(PAYMENTS).decide(call("search"));
  assert.deepEqual(d.reservations.map((r) => r.rule), ["/all_tools/limits/calls"]);
});

test("default allow admits unlisted tools, still under all_tools limits and hide", () => {
  const policy = compile({ version: "1", default: "allow", hide: ["rm"], all_tools: { limits: [{ counter: "c", window: "hour", max: 5 }] } });
  const d = policy.decide(call("anything"));
  assert.equal(d.effect, "allow");
  assert.deepEqual(d.reservations.map((r) => r.rule), ["/all_tools/limits/c"]);
  assert.equal(policy.decide(call("rm")).rule, "(hidden)");
});

test('hide "*" hides every tool, listed or not', () => {
  const policy = compile({ version: "1", default: "allow", hide: ["*"], tools: { search: {} } });
  assert.equal(policy.decide(call("search")).rule, "(hidden)");
  assert.equal(policy.decide(call("other")).rule, "(hidden)");
  assert.deepEqual(policy.filterTools([{ name: "search" }, { name: "other" }]), []);
});

test("group predicates: all conditions must hold; an empty group in deny_if always denies", () => {
  const policy = compile({
    version: "1", default: "deny",
    tools: {
      transfer: { deny_if: [{ conditions: [{ path: "args.amount", op: "gt", value: 100 }, { path: "args.currency", op: "eq", value: "usd" }], on_deny: "Large USD transfers are blocked." }] },
      refund: { deny_if: [{ conditions: [], on_deny: "Requires human approval." }] },
      open: { require: [{ conditions: [] }] },
    },
  });
  assert.equal(policy.decide(call("transfer", { amount: 500, currency: "eur" })).effect, "allow");
  assert.deepEqual(pick(policy.decide(call("transfer", { amount: 500, currency: "usd" }))), ["deny", "/tools/transfer/deny_if/0", "Large USD transfers are blocked."]);
  assert.deepEqual(pick(policy.decide(call("refund"))), ["deny", "/tools/refund/deny_if/0", "Requires human approval."]);
  assert.equal(policy.decide(call("open")).effect, "allow", "an empty require group always holds");
});

test("engine messages for a group without on_deny name every condition", () => {
  const policy = compile({ version: "1", default: "deny", tools: { t: { require: [{ conditions: [{ path: "args.a", op: "exists" }, { path: "args.b", op: "lte", value: 3 }] }] } } });
  assert.deepEqual(pick(policy.decide(call("t", { a: 1, b: 4 }))), ["deny", "/tools/t/require/0", 'Call to "t" requires args.a exists and args.b lte 3']);
});

test("rule IDs escape / and ~ in tool and counter names as JSON pointer segments", () => {
  const policy = compile({ version: "1", default: "deny", tools: { "fs/read~x": { deny_if: [{ path: "args.p", op: "exists" }], limits: [{ counter: "a/b", window: "minute", max: 1 }] } } });
  assert.equal(policy.decide(call("fs/read~x", { p: 1 })).rule, "/tools/fs~1read~0x/deny_if/args.p-exists");
  assert.equal(policy.decide(call("fs/read~x")).reservations[0]!.rule, "/tools/fs~1read~0x/limits/a~1b");
});

test('filterTools with list: "filtered" keeps only tools some call could be allowed to use', () => {
  const policy = compile({
    version: "1", default: "deny", hide: ["secret"], list: "filtered",
    tools: { search: {}, secret: {}, refund: { deny_if: [{ conditions: [] }] }, charge: { require: [{ path: "args.a", op: "exists" }] } },
  });
  const tools = ["search", "secret", "refund", "charge", "unlisted"].map((name) => ({ name, description: name }));
  assert.deepEqual(policy.filterTools(tools).map((t) => t.name), ["search", "charge"]);
  assert.equal(tools.length, 5, "input is not mutated");
});

test('filterTools by default (list: "visible", as PolicyLayer) removes only hidden tools; denied ones stay listed', () => {
  const document: PolicyDocumentInput = {
    version: "1", default: "deny", hide: ["secret"],
    tools: { search: {}, secret: {}, refund: { deny_if: [{ conditions: [] }] } },
  };
  const tools = ["search", "secret", "refund", "unlisted"].map((name) => ({ name }));
  for (const policy of [compile(document), compile({ ...document, list: "visible" })]) {
    assert.deepEqual(policy.filterTools(tools).map((t) => t.name), ["search", "refund", "unlisted"]);
    assert.equal(policy.decide(call("unlisted")).rule, "(default deny)", "a listed tool's calls are still denied");
  }
});

test("reservation keys separate scopes, tools, counters and windows", () => {
  const doc: PolicyDocumentInput = {
    version: "1", default: "allow",
    all_tools: { limits: [
      { counter: "g", window: "minute", max: 1, scope: "grant" },
      { counter: "s", window: "minute", max: 1, scope: "server" },
      { counter: "p", window: "minute", max: 1, scope: "policy" },
      { counter: "x", window: "minute", max: 1, scope: "global" },
    ] },
  };
  const policy = compile(doc, "pol");
  const keys = (grant: string, server: string, now: number) => policy.decide({ tool: "t", grant, server, now }).reservations.map((r) => r.key);
  const base = keys("alice", "stripe", 60_000);
  assert.equal(new Set(base).size, 4);
  const otherGrant = keys("bob", "stripe", 60_000);
  assert.deepEqual(base.map((k, i) => k === otherGrant[i]), [false, true, true, true]);
  const otherServer = keys("alice", "github", 60_000);
  assert.deepEqual(base.map((k, i) => k === otherServer[i]), [true, false, true, true]);
  const otherPolicy = compile(doc, "other").decide({ tool: "t", grant: "alice", server: "stripe", now: 60_000 }).reservations.map((r) => r.key);
  assert.deepEqual(base.map((k, i) => k === otherPolicy[i]), [true, true, false, true]);
  const nextWindow = keys("alice", "stripe", 120_000);
  assert.deepEqual(base.map((k, i) => k === nextWindow[i]), [false, false, false, false]);
});

test("counter keys encode their parts, so distinct (scope id, tool, counter) never share a key", () => {
  const limit = (counter: string) => ({ limits: [{ counter, window: "minute", max: 1 }] });
  // compilePolicy without validation: the key must stay distinct even for names validation would refuse.
  const key = (tools: Record<string, unknown>, tool: string, grant: string) =>
    compilePolicy({ version: "1", default: "deny", tools } as unknown as PolicyDocument).decide({ tool, grant, server: "s", now: 0 }).reservations[0]!.key;
  assert.notEqual(key({ a: limit("tools/b\u001fc") }, "a", "g"), key({ b: limit("c") }, "b", "g\u001ftools/a"));
  assert.notEqual(key({ "a%1Fb": limit("c") }, "a%1Fb", "g"), key({ "a\u001fb": limit("c") }, "a\u001fb", "g"));
  assert.notEqual(key({ t: limit("c%") }, "t", "g"), key({ t: limit("c%25") }, "t", "g"));
  assert.equal(key({ t: limit("c") }, "t", "g"), "grant\u001fg\u001ftools/t\u001fc\u001f0", "names without % or the separator keep their key");
});

test("a value that cannot be compared fails closed, and decide and explain say why", () => {
  const policy = compile(PAYMENTS);
  const charge = (amount: unknown) => policy.decide(call("create_charge", { reason: "r", amount }));
  assert.deepEqual(pick(charge("20000")), ["deny", "/tools/create_charge/deny_if/args.amount-gt", "Charges over 100.00 need finance."]);
  assert.deepEqual(pick(charge({ value: 20000 })), ["deny", "/tools/create_charge/deny_if/args.amount-gt", "Charges over 100.00 need finance. (args.amount is an object, not a number)"]);
  assert.equal(charge([20000]).message, "Charges over 100.00 need finance. (args.amount is an array, not a number)");
  assert.equal(charge(true).message, "Charges over 100.00 need finance. (args.amount is a boolean, not a number)");
  assert.equal(charge(null).message, "Charges over 100.00 need finance. (args.amount is null, not a number)");
  assert.equal(charge("lots").message, "Charges over 100.00 need finance. (args.amount is a string that is not a number)");
  assert.equal(charge("500").effect, "allow");
  assert.equal(policy.decide(call("create_charge", { reason: "r" })).effect, "allow", "a missing argument is not a present one");
  assert.deepEqual(policy.explain(call("create_charge", { reason: "r", amount: { value: 1 } })).steps.at(-1), {
    rule: "/tools/create_charge/deny_if/args.amount-gt",
    outcome: "deny",
    detail: "args.amount gt 10000 cannot be decided: args.amount is an object, not a number; a deny_if counts that as holding",
  });

  const limited = compile({ version: "1", default: "deny", tools: { t: { require: [{ path: "args.n", op: "lte", value: 3 }, { path: "args.p", op: "regex", value: "^/srv/" }] } } });
  assert.deepEqual(pick(limited.decide(call("t", { n: "three", p: "/srv/a" }))), ["deny", "/tools/t/require/args.n-lte", 'Call to "t" requires args.n lte 3 (args.n is a string that is not a number)']);
  assert.deepEqual(pick(limited.decide(call("t", { n: "2", p: ["/srv/a"] }))), ["deny", "/tools/t/require/args.p-regex", 'Call to "t" requires args.p regex "^/srv/" (args.p is an array, not a string)']);
  assert.equal(limited.explain(call("t", { n: {}, p: "/srv/a" })).steps.at(-1)!.detail, "args.n lte 3 cannot be decided: args.n is an object, not a number; a require counts that as failing");
  assert.equal(limited.decide(call("t", { n: "2", p: "/srv/a" })).effect, "allow");
});

test("in a group, a condition that does not hold outweighs one that cannot be decided", () => {
  const policy = compile({
    version: "1", default: "deny",
    tools: { transfer: { deny_if: [{ conditions: [{ path: "args.amount", op: "gt", value: 100 }, { path: "args.currency", op: "eq", value: "usd" }] }] } },
  });
  assert.equal(policy.decide(call("transfer", { amount: "much", currency: "eur" })).effect, "allow");
  assert.deepEqual(pick(policy.decide(call("transfer", { amount: "much", currency: "usd" }))), ["deny", "/tools/transfer/deny_if/0", 'Call to "transfer" denied because args.amount gt 100 and args.currency eq "usd" (args.amount is a string that is not a number)']);
  assert.equal(policy.decide(call("transfer", { amount: "500", currency: "usd" })).message, 'Call to "transfer" denied because args.amount gt 100 and args.currency eq "usd"');
});

test("windows are fixed: UTC-aligned for minute/hour/day, epoch-aligned for durations, at the boundaries", () => {
  const policy = compile({
    version: "1", default: "allow",
    all_tools: { limits: [
      { counter: "m", window: "minute", max: 1 }, { counter: "h", window: "hour", max: 1 }, { counter: "d", window: "day", max: 1 },
      { counter: "s30", window: "30s", max: 1 }, { counter: "m15", window: "15m", max: 1 }, { counter: "h6", window: "6h", max: 1 },
    ] },
  });
  const windows = (iso: string) => policy.decide({ tool: "t", grant: "g", server: "s", now: new Date(iso) }).reservations.map((r) => [new Date(r.windowStart).toISOString(), new Date(r.resetAt).toISOString()]);
  assert.deepEqual(windows("2026-03-01T05:59:59.999Z"), [
    ["2026-03-01T05:59:00.000Z", "2026-03-01T06:00:00.000Z"],
    ["2026-03-01T05:00:00.000Z", "2026-03-01T06:00:00.000Z"],
    ["2026-03-01T00:00:00.000Z", "2026-03-02T00:00:00.000Z"],
    ["2026-03-01T05:59:30.000Z", "2026-03-01T06:00:00.000Z"],
    ["2026-03-01T05:45:00.000Z", "2026-03-01T06:00:00.000Z"],
    ["2026-03-01T00:00:00.000Z", "2026-03-01T06:00:00.000Z"],
  ]);
  assert.deepEqual(windows("2026-03-01T06:00:00.000Z"), [
    ["2026-03-01T06:00:00.000Z", "2026-03-01T06:01:00.000Z"],
    ["2026-03-01T06:00:00.000Z", "2026-03-01T07:00:00.000Z"],
    ["2026-03-01T00:00:00.000Z", "2026-03-02T00:00:00.000Z"],
    ["2026-03-01T06:00:00.000Z", "2026-03-01T06:00:30.000Z"],
    ["2026-03-01T06:00:00.000Z", "2026-03-01T06:15:00.000Z"],
    ["2026-03-01T06:00:00.000Z", "2026-03-01T12:00:00.000Z"],
  ]);
});

test("a full counter's denial names the limit and when the window resets", () => {
  const d = compile(PAYMENTS).decide(call("create_charge", { amount: 1, reason: "x" }));
  assert.deepEqual(pick(limitDenial(d.reservations[0]!)), [
    "deny",
    "/tools/create_charge/limits/create_charge_rate",
    'Rate limit reached: at most 30 calls per minute (counter "create_charge_rate", grant scope). The window resets at 2026-01-31T12:01:00.000Z.',
  ]);
});

test("explain walks the same rules decide uses and reaches the same decision", () => {
  const policy = compile(PAYMENTS);
  for (const [tool, args] of [["search", {}], ["create_charge", { reason: "r", amount: 5 }], ["create_charge", {}], ["delete_account", {}], ["nope", {}]] as const) {
    const { decision, steps } = policy.explain(call(tool, args));
    const d = policy.decide(call(tool, args));
    assert.deepEqual(decision, d);
    if (d.effect === "deny") assert.deepEqual(steps.at(-1)!.rule, d.rule);
  }
  assert.deepEqual(policy.explain(call("create_charge", { reason: "r", amount: 5 })).steps.map((s) => `${s.outcome} ${s.rule}`), [
    "pass (hidden)",
    "pass (default deny)",
    "pass /tools/create_charge/require/args.reason-exists",
    "pass /tools/create_charge/deny_if/args.amount-gt",
    "reserve /tools/create_charge/limits/create_charge_rate",
    "reserve /all_tools/limits/calls",
  ]);
});

function pick(d: { effect: string; rule: string; message: string }) {
  return [d.effect, d.rule, d.message];
}
