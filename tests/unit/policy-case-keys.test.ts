import { test } from "node:test";
import assert from "node:assert/strict";
import { compilePolicy, parsePolicy, type PolicyDocumentInput } from "../../sdk/index.ts";

// Upstreams written in Go decode JSON objects into structs case-insensitively (encoding/json): "AMOUNT",
// "Amount" and "amount" all fill the field Amount, and the last one in the object wins.
const PAYMENTS: PolicyDocumentInput = {
  version: "1",
  default: "deny",
  tools: {
    transfer: {
      require: [{ path: "args.memo", op: "exists" }],
      deny_if: [{ path: "args.amount", op: "gt", value: 10000, on_deny: "Transfers over 10000 need finance." }],
    },
    nested: { deny_if: [{ path: "args.payment.amount", op: "gt", value: 10000 }] },
    keyed: { deny_if: [{ path: "args.key", op: "eq", value: "prod" }] },
    forced: { deny_if: [{ path: "args.force", op: "exists" }] },
    limited: { require: [{ path: "args.amount", op: "lte", value: 100 }] },
    reviewed: { approval: { when: [{ path: "args.amount", op: "gt", value: 100 }] } },
  },
};
const policy = compilePolicy(parsePolicy(PAYMENTS));
const decide = (tool: string, args: unknown) => {
  const d = policy.decide({ tool, args, grant: "g", server: "s", now: 0 });
  return [d.effect, d.message];
};

test('{"AMOUNT": 20000} does not pass deny_if args.amount gt 10000: the key differs only in letter case', () => {
  assert.deepEqual(decide("transfer", { memo: "m", AMOUNT: 20000 }), ["deny", 'Transfers over 10000 need finance. (argument key "AMOUNT" differs from "amount" only in letter case)']);
  assert.deepEqual(decide("transfer", { memo: "m", Amount: 5 }), ["deny", 'Transfers over 10000 need finance. (argument key "Amount" differs from "amount" only in letter case)']);
  assert.deepEqual(decide("transfer", { memo: "m", amount: 5 }), ["allow", ""]);
});

test("an exact key next to a case variant is denied too: an upstream may read either", () => {
  assert.deepEqual(decide("transfer", { memo: "m", amount: 5, AMOUNT: 20000 }), ["deny", 'Transfers over 10000 need finance. (argument keys "amount" and "AMOUNT" differ only in letter case)']);
  assert.deepEqual(decide("transfer", { memo: "m", AMOUNT: 20000, amount: 5 }), ["deny", 'Transfers over 10000 need finance. (argument keys "amount" and "AMOUNT" differ only in letter case)']);
});

test("Unicode simple folds count: the long s and the Kelvin sign", () => {
  assert.deepEqual(decide("keyed", { "\u212Aey": "prod" }), ["deny", 'Call to "keyed" denied because args.key eq "prod" (argument key "\u212Aey" differs from "key" only in letter case)']);
  assert.equal(decide("nested", { payment: { amount: 1, "amounſ": 1 } })[0], "allow", "ſ folds to s, not t");
  assert.equal(decide("forced", { "forſe": true })[0], "allow", "ſ folds to s, not c");
  assert.equal(decide("keyed", { "KEY": "dev" })[0], "deny");
});

test("every segment of the path is checked, and keys the path does not name do not matter", () => {
  assert.deepEqual(decide("nested", { Payment: { amount: 20000 } }), ["deny", 'Call to "nested" denied because args.payment.amount gt 10000 (argument key "Payment" differs from "payment" only in letter case)']);
  assert.equal(decide("nested", { payment: { AMOUNT: 20000 } })[0], "deny");
  assert.equal(decide("nested", { payment: { amount: 5 }, PAYMENTS: 1, Amount: 20000 })[0], "allow");
  assert.equal(decide("transfer", { memo: "m", amount: 5, amounts: 20000, amoun: 1 })[0], "allow", "not a case variant: different keys");
});

test("require fails on a case variant, whatever the operator, exists included", () => {
  assert.deepEqual(decide("transfer", { MEMO: "m", amount: 5 }), ["deny", 'Call to "transfer" requires args.memo exists (argument key "MEMO" differs from "memo" only in letter case)']);
  assert.equal(decide("limited", { Amount: 50 })[0], "deny");
  assert.equal(decide("limited", { amount: 50 })[0], "allow");
  assert.equal(decide("forced", { FORCE: false })[0], "deny", "deny_if exists holds on a case variant");
});

test("an approval condition on a case variant asks a person", () => {
  const d = policy.decide({ tool: "reviewed", args: { AMOUNT: 5 }, grant: "g", server: "s", now: 0 });
  assert.equal(d.effect, "approval");
  assert.equal(d.effect === "approval" && d.approval.reason, 'args.amount gt 100 cannot be decided: argument key "AMOUNT" differs from "amount" only in letter case');
  assert.equal(policy.decide({ tool: "reviewed", args: { amount: 5 }, grant: "g", server: "s", now: 0 }).effect, "allow");
});

test("explain says which key and that deny_if counts it as holding", () => {
  const { steps } = policy.explain({ tool: "transfer", args: { memo: "m", AMOUNT: 20000 }, grant: "g", server: "s", now: 0 });
  assert.deepEqual(steps.at(-1), {
    rule: "/tools/transfer/deny_if/args.amount-gt",
    outcome: "deny",
    detail: 'args.amount gt 10000 cannot be decided: argument key "AMOUNT" differs from "amount" only in letter case; a deny_if counts that as holding',
  });
});

test("a variant key is shown with invisible characters escaped", () => {
  const keyed = compilePolicy(parsePolicy({ version: "1", default: "deny", tools: { t: { deny_if: [{ path: "args.a\u200bb", op: "exists" }] } } }));
  const d = keyed.decide({ tool: "t", args: { "A\u200bB": 1 }, grant: "g", server: "s", now: 0 });
  assert.equal(d.message, 'Call to "t" denied because args.a\\u{200B}b exists (argument key "A\\u{200B}B" differs from "a\\u{200B}b" only in letter case)');
});
