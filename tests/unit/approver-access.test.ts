import assert from "node:assert/strict";
import { test } from "node:test";
import { approverAccess, deciderOf, selfDecision, type Approver } from "../../gateway/admin/sign-in/approver-access.ts";

const erin: Approver = { provider: "corp", subject: "00u8erin", claims: { groups: ["payments", "payments-oncall"], realm_access: { roles: ["approver"] }, scope: "openid approvals" } };
const oncall = { identityProvider: "corp", claims: [{ claim: "groups", contains: "payments-oncall" }] };

test("an approver is someone of the server's identity provider whose claims satisfy every condition", () => {
  assert.deepEqual(approverAccess(erin, "bank", oncall), { ok: true });
  assert.deepEqual(approverAccess(erin, "bank", { identityProvider: "corp", claims: [{ claim: "realm_access.roles", contains: "approver" }, { claim: "scope", contains: "approvals" }] }), { ok: true });
  assert.deepEqual(approverAccess(erin, "bank", { identityProvider: "corp", claims: [{ claim: "groups", contains: "payments-oncall" }, { claim: "groups", contains: "treasury" }] }), {
    ok: false,
    reason: 'You are not an approver of server "bank": your claims do not satisfy groups contains "treasury"',
  });
});

test("no approvers, or approvers of another identity provider: not through a signed-in session", () => {
  assert.deepEqual(approverAccess(erin, "bank", null), { ok: false, reason: 'Server "bank" names no approvers: its approvals are decided with the admin token (CLI or API)' });
  assert.deepEqual(approverAccess(erin, "bank", { ...oncall, identityProvider: "partner" }), { ok: false, reason: 'Approvers of server "bank" sign in with identity provider "partner", not "corp"' });
});

test("the decider is provider:subject, and nobody decides a call they made", () => {
  assert.equal(deciderOf(erin), "corp:00u8erin");
  assert.deepEqual(selfDecision("corp:00u8erin", "corp:00u8erin"), { ok: false, reason: "You made this call (as corp:00u8erin): someone else must decide it" });
  assert.equal(selfDecision("corp:00u8erin", "partner:00u8erin").ok, false, "the same sub at another IdP may be the same person (one directory behind both): refused");
  assert.deepEqual(selfDecision("corp:00u8erin", "corp:00u8eve"), { ok: true });
  assert.deepEqual(selfDecision("corp:00u8erin", null), { ok: true }, "a call made with a grant token has no subject");
  assert.equal(selfDecision("partner:00u8erin", "*:00u8erin").ok, false, "when the requester's provider is unknown, the subject alone decides");
});
