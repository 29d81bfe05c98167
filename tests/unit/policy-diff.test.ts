import { test } from "node:test";
import assert from "node:assert/strict";
import { diffPolicies, parsePolicy, type PolicyDocumentInput } from "../../sdk/index.ts";

const diff = (a: PolicyDocumentInput, b: PolicyDocumentInput) =>
  diffPolicies(parsePolicy(a), parsePolicy(b)).map((c) => `${c.direction} ${c.path}: ${c.description}`);
const doc = (extra: Partial<PolicyDocumentInput>): PolicyDocumentInput => ({ version: "1", default: "deny", ...extra });

test("identical documents, reordered keys and tools: no changes", () => {
  const a = doc({ tools: { a: {}, b: { limits: [{ counter: "c", window: "minute", max: 1 }] } } });
  const b: PolicyDocumentInput = { tools: { b: { limits: [{ max: 1, window: "minute", counter: "c" }] }, a: {} }, default: "deny", version: "1" };
  assert.deepEqual(diff(a, b), []);
});

test("default deny → allow is LOOSER; allow → deny is stricter", () => {
  assert.deepEqual(diff(doc({}), doc({ default: "allow" })), ["looser /default: default changed deny → allow: tools not listed under tools are now allowed"]);
  assert.deepEqual(diff(doc({ default: "allow" }), doc({})), ["stricter /default: default changed allow → deny: tools not listed under tools are now denied"]);
});

test("a tool leaving hide is LOOSER; entering it is stricter", () => {
  assert.deepEqual(diff(doc({ hide: ["rm"], tools: { rm: {} } }), doc({ tools: { rm: {} } })), ['looser /hide: "rm" is no longer hidden (now allowed, subject to its rules)']);
  assert.deepEqual(diff(doc({ tools: { rm: {} } }), doc({ hide: ["rm"], tools: { rm: {} } })), ['stricter /hide: "rm" is now hidden (was allowed)']);
  assert.deepEqual(diff(doc({}), doc({ hide: ["*"] })), ['stricter /hide: "*" added to hide: every tool is now hidden']);
});

test("listing a tool under default deny is LOOSER; removing it is stricter", () => {
  assert.deepEqual(diff(doc({}), doc({ tools: { search: {} } })), ['looser /tools/search: "search" is now allowed (subject to its rules); it was denied']);
  assert.deepEqual(diff(doc({ tools: { search: {} } }), doc({})), ['stricter /tools/search: "search" is now denied; it was allowed']);
});

test("limits: raised max, removed limit, shorter window and narrower scope are LOOSER", () => {
  const l = (x: object) => doc({ tools: { t: { limits: [{ counter: "c", window: "minute", max: 30, scope: "server", ...x }] } } });
  assert.deepEqual(diff(l({}), l({ max: 60 })), ["looser /tools/t/limits/c: max raised from 30 to 60 per minute"]);
  assert.deepEqual(diff(l({}), l({ max: 10 })), ["stricter /tools/t/limits/c: max lowered from 30 to 10 per minute"]);
  assert.deepEqual(diff(l({}), l({ window: "30s" })), ["looser /tools/t/limits/c: window changed from minute to 30s"]);
  assert.deepEqual(diff(l({}), l({ window: "hour" })), ["stricter /tools/t/limits/c: window changed from minute to hour"]);
  assert.deepEqual(diff(l({}), l({ scope: "grant" })), ["looser /tools/t/limits/c: scope changed from server to grant"]);
  assert.deepEqual(diff(l({}), l({ scope: "global" })), ["stricter /tools/t/limits/c: scope changed from server to global"]);
  assert.deepEqual(diff(l({}), doc({ tools: { t: {} } })), ['looser /tools/t/limits/c: limit removed from "t": 30 per minute (server scope, counter "c")']);
  assert.deepEqual(diff(doc({}), doc({ all_tools: { limits: [{ counter: "calls", window: "hour", max: 5 }] } })), ['stricter /all_tools/limits/calls: limit added on every tool: 5 per hour (grant scope, counter "calls")']);
});

test("predicates: removed deny_if is LOOSER; numeric bounds change in the right direction", () => {
  const d = (value: number) => doc({ tools: { t: { deny_if: [{ path: "args.amount", op: "gt", value }] } } });
  assert.deepEqual(diff(d(100), doc({ tools: { t: {} } })), ["looser /tools/t/deny_if/args.amount-gt: deny_if removed: calls are no longer denied when args.amount gt 100"]);
  assert.deepEqual(diff(d(100), d(200)), ["looser /tools/t/deny_if/args.amount-gt: deny_if changed: args.amount gt 100 → args.amount gt 200"]);
  assert.deepEqual(diff(d(100), d(50)), ["stricter /tools/t/deny_if/args.amount-gt: deny_if changed: args.amount gt 100 → args.amount gt 50"]);
  const r = (value: number) => doc({ tools: { t: { require: [{ path: "args.n", op: "lte", value }] } } });
  assert.deepEqual(diff(r(10), r(20)), ["looser /tools/t/require/args.n-lte: require changed: args.n lte 10 → args.n lte 20"]);
  assert.deepEqual(diff(doc({ tools: { t: {} } }), r(10)), ["stricter /tools/t/require/args.n-lte: require added: calls must now satisfy args.n lte 10"]);
  const i = (value: string[]) => doc({ tools: { t: { require: [{ path: "args.region", op: "in", value }] } } });
  assert.deepEqual(diff(i(["eu"]), i(["eu", "us"])), ['looser /tools/t/require/args.region-in: require changed: args.region in ["eu"] → args.region in ["eu","us"]']);
});

test("a changed eq number has no knowable direction; list items an argument already matched change nothing", () => {
  const e = (value: number) => doc({ tools: { t: { deny_if: [{ path: "args.n", op: "eq", value }] } } });
  assert.deepEqual(diff(e(5), e(6)), ["looser /tools/t/deny_if/args.n-eq: deny_if changed: args.n eq 5 → args.n eq 6 (direction unknown; review)"]);
  const i = (value: (number | string)[]) => doc({ tools: { t: { deny_if: [{ path: "args.n", op: "in", value }] } } });
  assert.deepEqual(diff(i([10000]), i([10000, "10000"])), ['neutral /tools/t/deny_if/args.n-in: deny_if changed: args.n in [10000] → args.n in [10000,"10000"] (the same arguments match)']);
  assert.deepEqual(diff(i(["10000"]), i(["10000", 10000])), ['stricter /tools/t/deny_if/args.n-in: deny_if changed: args.n in ["10000"] → args.n in ["10000",10000]']);
  assert.deepEqual(diff(i([10000, "10000"]), i([10000])), ['neutral /tools/t/deny_if/args.n-in: deny_if changed: args.n in [10000,"10000"] → args.n in [10000] (the same arguments match)']);
  assert.deepEqual(diff(i([1, 2]), i([2, 1])), ["neutral /tools/t/deny_if/args.n-in: deny_if changed: args.n in [1,2] → args.n in [2,1] (the same arguments match)"]);
});

test("a changed regex has no knowable direction and is flagged LOOSER for review", () => {
  const d = (value: string) => doc({ tools: { t: { deny_if: [{ path: "args.p", op: "regex", value }] } } });
  assert.deepEqual(diff(d("^/etc"), d("^/etc/")), ['looser /tools/t/deny_if/args.p-regex: deny_if changed: args.p regex "^/etc" → args.p regex "^/etc/" (direction unknown; review)']);
});

test("an on_deny wording change is neutral", () => {
  const d = (on_deny: string) => doc({ tools: { t: { deny_if: [{ path: "args.p", op: "exists", on_deny }] } } });
  assert.deepEqual(diff(d("no"), d("No, ask finance.")), ["neutral /tools/t/deny_if/args.p-exists: on_deny message changed"]);
});
