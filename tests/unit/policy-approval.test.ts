import { test } from "node:test";
import assert from "node:assert/strict";
import { compilePolicy, diffPolicies, parsePolicy, validatePolicy } from "../../sdk/index.ts";

const policy = compilePolicy(parsePolicy({
  version: "1",
  default: "deny",
  tools: {
    wire_transfer: {
      deny_if: [{ path: "args.currency", op: "eq", value: "btc" }],
      approval: { when: [{ path: "args.amount", op: "gt", value: 1000 }], timeout: "4h" },
      limits: [{ counter: "wires", window: "day", max: 10 }],
    },
    close_account: { approval: { error: "jsonrpc", mode: "hold" } },
  },
}));
const decide = (tool: string, args: object) => policy.decide({ tool, args, grant: "g", server: "s", now: 0 });

test("approval comes after deny rules and before limits; it carries the limits the call takes once approved", () => {
  assert.equal(decide("wire_transfer", { amount: 5000, currency: "btc" }).rule, "/tools/wire_transfer/deny_if/args.currency-eq");
  const held = decide("wire_transfer", { amount: 5000, currency: "usd" });
  assert.equal(held.effect, "approval");
  assert.equal(held.rule, "/tools/wire_transfer/approval");
  assert.equal(held.message, 'Call to "wire_transfer" needs a person\'s approval (args.amount gt 1000)');
  assert.deepEqual(held.effect === "approval" && held.approval, { timeoutMs: 4 * 3_600_000, error: "result", mode: "retry", reason: "args.amount gt 1000" });
  assert.deepEqual(held.reservations.map((r) => r.rule), ["/tools/wire_transfer/limits/wires"]);
  assert.equal(decide("wire_transfer", { amount: 5, currency: "usd" }).effect, "allow");
  const always = decide("close_account", {});
  assert.deepEqual([always.effect, always.effect === "approval" && always.approval], ["approval", { timeoutMs: 30 * 60_000, error: "jsonrpc", mode: "hold", reason: "every call" }]);
});

test("explain shows the approval step", () => {
  const { steps } = policy.explain({ tool: "wire_transfer", args: { amount: 5000 }, grant: "g", server: "s", now: 0 });
  assert.deepEqual(steps.find((s) => s.rule === "/tools/wire_transfer/approval"), { rule: "/tools/wire_transfer/approval", outcome: "approval", detail: "a person must approve this call (args.amount gt 1000; the agent retries once approved; waits up to 14400 s)" });
  const held = policy.explain({ tool: "close_account", args: {}, grant: "g", server: "s", now: 0 }).steps.find((s) => s.outcome === "approval");
  assert.equal(held?.detail, "a person must approve this call (every call; the request is held open; waits up to 1800 s)");
});

test("approval is validated with paths", () => {
  const r = validatePolicy({ version: "1", default: "deny", tools: { t: { approval: { when: [{ path: "amount", op: "gt", value: 1 }], timeout: "8d", error: "exception", mode: "wait", who: "me" } } } });
  assert.deepEqual((r.ok ? [] : r.errors).map((e) => [e.path, e.message]), [
    ["/tools/t/approval/error", 'error must be "result" or "jsonrpc", got "exception"'],
    ["/tools/t/approval/mode", 'mode must be "retry" or "hold", got "wait"'],
    ["/tools/t/approval/timeout", 'timeout must be a duration like "90s", "30m", "4h" or "2d" (at most 7d), got "8d"'],
    ["/tools/t/approval/when/0/path", 'path must start with "args." and name an argument, e.g. "args.amount", got "amount"'],
    ["/tools/t/approval/who", 'unknown key "who"; did you mean "when"?'],
  ]);
});

test("diff: adding an approval is stricter, removing it looser", () => {
  const without = parsePolicy({ version: "1", default: "allow", tools: { t: {} } });
  const withIt = parsePolicy({ version: "1", default: "allow", tools: { t: { approval: {} } } });
  assert.deepEqual(diffPolicies(without, withIt), [{ path: "/tools/t/approval", direction: "stricter", description: 'approval added: calls to "t" need a person\'s approval (every call)' }]);
  assert.deepEqual(diffPolicies(withIt, without).map((c) => c.direction), ["looser"]);
  const held = parsePolicy({ version: "1", default: "allow", tools: { t: { approval: { mode: "hold" } } } });
  assert.deepEqual(diffPolicies(withIt, held), [{ path: "/tools/t/approval/mode", direction: "neutral", description: "approval mode changed from retry to hold" }]);
});
