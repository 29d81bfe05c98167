import { test } from "node:test";
import assert from "node:assert/strict";
import { randomBytes } from "node:crypto";
import pino from "pino";
import { ToolgateError } from "../../sdk/index.ts";
import { createApprovals, type CallToApprove } from "../../gateway/approvals/approvals.ts";
import { createSealer } from "../../gateway/store/seal.ts";
import { createSqliteApprovalStore } from "../../gateway/store/sqlite-approvals.ts";
import { openDatabase } from "../../gateway/store/sqlite.ts";

function setup(maxPendingPerGrant: number) {
  const store = createSqliteApprovalStore(openDatabase(":memory:"), createSealer(randomBytes(32)));
  const clock = { now: Date.parse("2026-03-01T10:00:00Z") };
  const approvals = createApprovals({ store, audit: { write() {} }, log: pino({ level: "silent" }), clock: () => clock.now, sweepMs: 3_600_000, maxPendingPerGrant });
  return { approvals, clock };
}

const call = (grant: string, amount: number): CallToApprove => ({
  grant, server: "bank", tool: "wire_transfer", args: { amount }, policy: "treasury", policyVersion: 1, rule: "/tools/wire_transfer/approval",
  requirement: { timeoutMs: 60_000, error: "result", mode: "retry", reason: "every call" },
});

const FULL = 'Grant "agent-a" already has 2 approvals pending, the most it may have, so no approval was requested for this call. Ask an approver to decide the pending ones, or retry once they expire.';

test("a grant with the most pending approvals gets no new one: the call is refused and nothing is created", async () => {
  const { approvals } = setup(2);
  try {
    assert.equal((await approvals.admit(call("agent-a", 1))).kind, "pending");
    assert.equal((await approvals.admit(call("agent-a", 2))).kind, "pending");
    await assert.rejects(approvals.admit(call("agent-a", 3)), (error: unknown) => {
      assert.ok(error instanceof ToolgateError);
      assert.deepEqual([error.code, error.message], ["rate_limited", FULL]);
      return true;
    });
    assert.equal((await approvals.list({ status: "pending", limit: 10 })).length, 2);
    const again = await approvals.admit(call("agent-a", 1));
    assert.deepEqual([again.kind, again.kind === "pending" && again.created], ["pending", false], "an identical call still finds its own request");
    assert.equal((await approvals.admit(call("agent-b", 3))).kind, "pending", "other grants have their own room");
  } finally {
    approvals.stop();
  }
});

test("a decided or expired request makes room again", async () => {
  const { approvals, clock } = setup(2);
  try {
    const first = await approvals.admit(call("agent-a", 1));
    await approvals.admit(call("agent-a", 2));
    await approvals.decide(first.approval.id, "denied", "bob@example.com", "no");
    assert.equal((await approvals.admit(call("agent-a", 3))).kind, "pending");
    await assert.rejects(approvals.admit(call("agent-a", 4)), { code: "rate_limited" });
    clock.now += 61_000;
    assert.equal((await approvals.admit(call("agent-a", 4))).kind, "pending", "expired requests (not yet swept) do not count");
  } finally {
    approvals.stop();
  }
});

test("concurrent calls cannot overshoot the cap in one gateway", async () => {
  const { approvals } = setup(2);
  try {
    const outcomes = await Promise.allSettled([1, 2, 3, 4, 5].map((n) => approvals.admit(call("agent-a", n))));
    assert.deepEqual(outcomes.map((o) => o.status).sort(), ["fulfilled", "fulfilled", "rejected", "rejected", "rejected"]);
    assert.equal((await approvals.list({ status: "pending", grant: "agent-a", limit: 10 })).length, 2);
  } finally {
    approvals.stop();
  }
});
