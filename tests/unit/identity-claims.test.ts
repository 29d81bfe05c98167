import assert from "node:assert/strict";
import { test } from "node:test";
import { claimValue, conditionHolds, identityConditions, identityMatches, selectGrant } from "../../gateway/identity/claims.ts";
import type { GrantIdentity } from "../../gateway/contracts.ts";

const alice = { provider: "corp", subject: "alice", clientId: "agent", claims: { sub: "alice", email: "alice@Example.com", email_verified: true, groups: ["payments", "oncall"], scope: "mcp tools:call", realm_access: { roles: ["admin"] } } };
const grant = (name: string, identity: GrantIdentity["identity"], expiresAt: number | null = null): GrantIdentity => ({ name, server: "s", policy: "p", expiresAt, identity });

test("claim conditions: equals, contains in lists and space-separated strings, dotted paths", () => {
  assert.deepEqual(claimValue(alice.claims, "realm_access.roles"), ["admin"]);
  assert.equal(conditionHolds(alice.claims, { claim: "groups", contains: "oncall" }), true);
  assert.equal(conditionHolds(alice.claims, { claim: "groups", contains: "pay" }), false);
  assert.equal(conditionHolds(alice.claims, { claim: "scope", contains: "tools:call" }), true);
  assert.equal(conditionHolds(alice.claims, { claim: "realm_access.roles", contains: "admin" }), true);
  assert.equal(conditionHolds(alice.claims, { claim: "sub", equals: "alice" }), true);
  assert.equal(conditionHolds(alice.claims, { claim: "missing.path", equals: "x" }), false);
  assert.equal(identityMatches({ identityProvider: "corp", emailDomain: "example.com" }, alice), true);
  assert.equal(identityMatches({ identityProvider: "corp", emailDomain: "example.com" }, { ...alice, claims: { ...alice.claims, email_verified: false } }), false);
  assert.equal(identityMatches({ identityProvider: "other" }, alice), false);
});

test("the most specific grant wins: subject beats any number of conditions, more conditions beat fewer, ties are refused", () => {
  const everyone = grant("everyone", { identityProvider: "corp" });
  const team = grant("team", { identityProvider: "corp", claims: [{ claim: "groups", contains: "payments" }] });
  const oncall = grant("oncall", { identityProvider: "corp", clientId: "agent", claims: [{ claim: "groups", contains: "oncall" }] });
  const mine = grant("mine", { identityProvider: "corp", subject: "alice" });
  const pick = (grants: GrantIdentity[]) => selectGrant(grants, alice, "s", 0);
  assert.equal((pick([everyone, team]) as { grant: GrantIdentity }).grant.name, "team");
  assert.equal((pick([everyone, team, oncall]) as { grant: GrantIdentity }).grant.name, "oncall");
  assert.equal((pick([everyone, team, oncall, mine]) as { grant: GrantIdentity }).grant.name, "mine");
  const tie = pick([team, grant("mail", { identityProvider: "corp", emailDomain: "example.com" })]);
  assert.equal(tie.ok, false);
  assert.match((tie as { message: string }).message, /"mail" and "team"/);
  const none = pick([grant("bob", { identityProvider: "corp", subject: "bob" })]);
  assert.deepEqual(none, { ok: false, reason: "none", message: "no grant for alice on server s" });
  // An expired grant is left out: the next most specific applies.
  assert.equal((selectGrant([grant("old", { identityProvider: "corp", subject: "alice" }, 10), team], alice, "s", 20) as { grant: GrantIdentity }).grant.name, "team");
});

test("whoami's per-condition outcomes agree with the match the proxy makes, and say which condition failed", () => {
  const matches: GrantIdentity["identity"][] = [
    { identityProvider: "corp" },
    { identityProvider: "other" },
    { identityProvider: "corp", subject: "alice", clientId: "agent" },
    { identityProvider: "corp", subject: "bob" },
    { identityProvider: "corp", clientId: "nightly" },
    { identityProvider: "corp", emailDomain: "example.com", claims: [{ claim: "groups", contains: "oncall" }] },
    { identityProvider: "corp", emailDomain: "other.example" },
    { identityProvider: "corp", claims: [{ claim: "realm_access.roles", contains: "admin" }, { claim: "scope", contains: "admin" }] },
  ];
  for (const match of matches) assert.equal(identityConditions(match!, alice).every((c) => c.holds), identityMatches(match!, alice), JSON.stringify(match));
  assert.deepEqual(
    identityConditions({ identityProvider: "corp", subject: "bob", emailDomain: "example.com", claims: [{ claim: "scope", contains: "admin" }] }, alice).map((c) => [c.condition, c.holds, c.claims]),
    [
      ["identity provider is corp", true, ["iss"]],
      ['subject is "bob"', false, ["sub"]],
      ["verified email at example.com", true, ["email", "email_verified"]],
      ['scope contains "admin"', false, ["scope"]],
    ],
  );
});
