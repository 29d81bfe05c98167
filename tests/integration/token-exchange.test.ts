import { test } from "node:test";
import assert from "node:assert/strict";
import { createRemoteJWKSet, jwtVerify } from "jose";
import type { ServerTarget, TrustedIdentityProvider } from "../../gateway/contracts.ts";
import { createTokenExchanger, type ExchangeClient, type ExchangeRequest } from "../../gateway/identity/token-exchange.ts";
import { createUpstreamAuthorization } from "../../gateway/identity/upstream-authorization.ts";
import { freePort } from "../helpers/free-port.ts";
import { GATEWAY_CLIENT, startIdp, WORKLOAD_CLIENT } from "../helpers/idp.ts";

const RESOURCE = "http://127.0.0.1:9/mcp/payments";
const settings = { identityProvider: "corp", audience: "payments-api", scope: "payments:read" };

test("the gateway's RFC 8693 client against a real authorization server", async (t) => {
  const idp = await startIdp({ exchangeAudiences: ["payments-api", "ledger-api"], exchangedTokenTtlSeconds: 600 });
  t.after(() => idp.stop());
  const gateway: ExchangeClient = { tokenEndpoint: idp.tokenEndpoint, clientId: GATEWAY_CLIENT.clientId, clientSecret: GATEWAY_CLIENT.clientSecret };
  let now = Date.now();
  const exchanger = createTokenExchanger({ client: async () => gateway, clock: () => now });
  const alice = await idp.mintAccessToken({ user: "alice", resource: RESOURCE });
  const bob = await idp.mintAccessToken({ user: "bob", resource: RESOURCE });
  const call = (token: string, subject: string, extra: Partial<ExchangeRequest> = {}) => exchanger.exchange({ server: "payments", provider: "corp", subject, token, settings, ...extra });

  await t.test("the exchanged token is the IdP's, for the upstream's audience, on behalf of the caller, with the gateway as actor", async () => {
    const r = await call(alice, "alice");
    assert.ok(r.ok, JSON.stringify(r));
    const { payload } = await jwtVerify(r.token, createRemoteJWKSet(new URL(idp.jwksUri)), { issuer: idp.issuer, audience: "payments-api" });
    assert.deepEqual([payload.sub, payload.client_id, payload.act, payload.scope, payload.groups], ["alice", "toolgate", { sub: "toolgate" }, "payments:read", ["payments", "payments-oncall"]]);
    assert.notEqual(r.token, alice);
    assert.deepEqual(idp.exchanges(), [{ clientId: "toolgate", subject: "alice", audience: "payments-api", scope: "payments:read" }]);
  });

  await t.test("reused per caller token until shortly before it expires; another caller, token or audience gets its own", async () => {
    const first = await call(alice, "alice");
    assert.equal(idp.exchanges().length, 1, "the first test's token is reused");
    const again = await call(alice, "alice");
    assert.ok(first.ok && again.ok);
    assert.equal(again.token, first.token);
    assert.equal(idp.exchanges().length, 1);
    const forBob = await call(bob, "bob");
    assert.ok(forBob.ok);
    assert.notEqual(forBob.token, first.token);
    const ledger = await call(alice, "alice", { settings: { identityProvider: "corp", audience: "ledger-api" } });
    assert.ok(ledger.ok);
    assert.deepEqual(idp.exchanges().map((e) => [e.subject, e.audience]), [["alice", "payments-api"], ["bob", "payments-api"], ["alice", "ledger-api"]]);
    // 600 s tokens are renewed 60 s before they expire.
    now += 539_000;
    assert.ok((await call(alice, "alice")).ok);
    assert.equal(idp.exchanges().length, 3);
    now += 2_000;
    assert.ok((await call(alice, "alice")).ok);
    assert.equal(idp.exchanges().length, 4);
  });

  await t.test("not reused past the caller's own token expiry", async () => {
    const before = idp.exchanges().length;
    assert.ok((await call(bob, "bob", { tokenExpiresAt: now + 1_000, server: "short" })).ok);
    assert.ok((await call(bob, "bob", { tokenExpiresAt: now + 1_000, server: "short" })).ok);
    assert.equal(idp.exchanges().length, before + 1);
    now += 1_000;
    assert.ok((await call(bob, "bob", { tokenExpiresAt: now + 1_000, server: "short" })).ok);
    assert.equal(idp.exchanges().length, before + 2);
  });

  await t.test("concurrent calls of one caller share one exchange", async () => {
    const carol = await idp.mintAccessToken({ user: "carol", resource: RESOURCE });
    const before = idp.exchanges().length;
    const results = await Promise.all(Array.from({ length: 8 }, () => call(carol, "carol")));
    assert.equal(new Set(results.map((r) => (r.ok ? r.token : r.reason))).size, 1);
    assert.equal(idp.exchanges().length, before + 1);
  });

  await t.test("refusals are 403 with the IdP's reason and never the caller's token", async () => {
    const other = await call(alice, "alice", { settings: { identityProvider: "corp", audience: "hr-api" } });
    assert.deepEqual(other, { ok: false, status: 403, reason: 'The identity provider "corp" refused to exchange the caller\'s token for server "payments" (invalid_target: this IdP issues no tokens for audience hr-api)' });
    const forged = alice.slice(0, -4) + (alice.endsWith("AAAA") ? "BBBB" : "AAAA");
    const r = await call(forged, "alice");
    assert.deepEqual(r, { ok: false, status: 403, reason: 'The identity provider "corp" refused to exchange the caller\'s token for server "payments" (invalid_grant: grant request is invalid)' });
    assert.ok(!JSON.stringify([other, r]).includes(alice.slice(20, 60)));
    const workload = await idp.clientCredentials({ ...WORKLOAD_CLIENT, resource: RESOURCE });
    const delegated = await call(workload.access_token, WORKLOAD_CLIENT.clientId);
    assert.ok(delegated.ok, "a workload's token is exchanged like a user's");
  });

  await t.test("the gateway's own misconfiguration and an unreachable IdP are 503, not the caller's fault", async () => {
    const wrongSecret = createTokenExchanger({ client: async () => ({ ...gateway, clientSecret: "not-the-secret-0123456789" }) });
    const r = await wrongSecret.exchange({ server: "payments", provider: "corp", subject: "alice", token: alice, settings });
    assert.equal(r.ok, false);
    assert.equal(!r.ok && r.status, 503);
    assert.match(!r.ok ? r.reason : "", /^Cannot exchange the caller's token for server "payments": identity provider "corp" refused the gateway's client \(invalid_client.*\); check the identity provider's clientId and clientSecret$/);
    const unconfigured = createTokenExchanger({ client: async (name) => ({ error: `identity provider "${name}" has no clientId and clientSecret` }) });
    assert.deepEqual(await unconfigured.exchange({ server: "payments", provider: "corp", subject: "alice", token: alice, settings }), {
      ok: false,
      status: 503,
      reason: 'Cannot exchange the caller\'s token for server "payments": identity provider "corp" has no clientId and clientSecret',
    });
    const port = await freePort();
    const down = createTokenExchanger({ client: async () => ({ ...gateway, tokenEndpoint: `http://127.0.0.1:${port}/token` }) });
    assert.deepEqual(await down.exchange({ server: "payments", provider: "corp", subject: "alice", token: alice, settings }), {
      ok: false,
      status: 503,
      retryAfter: 5,
      reason: 'Cannot exchange the caller\'s token for server "payments": identity provider "corp" is unreachable (ECONNREFUSED)',
    });
  });

  await t.test("the cache is bounded: the least recently used exchanged token goes first", async () => {
    const small = createTokenExchanger({ client: async () => gateway, maxEntries: 2 });
    const tokens = await Promise.all(["alice", "bob", "carol"].map((user) => idp.mintAccessToken({ user, resource: RESOURCE })));
    for (const [i, user] of ["alice", "bob", "carol"].entries()) assert.ok((await small.exchange({ server: "payments", provider: "corp", subject: user, token: tokens[i]!, settings })).ok);
    assert.equal(small.size(), 2);
    const before = idp.exchanges().length;
    await small.exchange({ server: "payments", provider: "corp", subject: "carol", token: tokens[2]!, settings });
    assert.equal(idp.exchanges().length, before, "carol's is still held");
    await small.exchange({ server: "payments", provider: "corp", subject: "alice", token: tokens[0]!, settings });
    assert.equal(idp.exchanges().length, before + 1, "alice's was dropped");
  });
});

test("the upstream credential of a call: discovered token endpoint, the caller's own IdP only, configuration problems named", async (t) => {
  const idp = await startIdp({ exchangeAudiences: ["payments-api"] });
  t.after(() => idp.stop());
  const corp: TrustedIdentityProvider = { name: "corp", version: 1, issuer: idp.issuer, audiences: [], jwksUri: null, introspectionEndpoint: null, algorithms: ["RS256"], clockSkewSeconds: 30, clientId: GATEWAY_CLIENT.clientId, clientSecret: GATEWAY_CLIENT.clientSecret };
  const providers = new Map<string, TrustedIdentityProvider>([["corp", corp], ["bare", { ...corp, name: "bare", clientId: null, clientSecret: null }], ["elsewhere", { ...corp, name: "elsewhere", issuer: `${idp.issuer}/nope` }]]);
  const upstreamAuthorization = createUpstreamAuthorization({ view: { identityProvider: (name) => providers.get(name) } });
  const target = (identityProvider: string): ServerTarget => ({ name: "payments", version: 1, transport: { type: "streamable-http", url: "http://127.0.0.1:9/mcp", headers: {} }, timeoutMs: 1000, totalTimeoutMs: null, maxInFlight: 1, roots: null, tokenExchange: { identityProvider, audience: "payments-api" } });
  const token = await idp.mintAccessToken({ user: "alice", resource: RESOURCE });
  const alice = { provider: "corp", subject: "alice", claims: {}, token };

  const r = await upstreamAuthorization(target("corp"), alice);
  assert.ok(r.ok && r.authorization?.startsWith("Bearer ey"), JSON.stringify(r));
  assert.deepEqual(await upstreamAuthorization({ ...target("corp"), tokenExchange: null }, alice), { ok: true }, "no tokenExchange: the server's own headers");
  assert.deepEqual(await upstreamAuthorization(target("corp"), { ...alice, provider: "other" }), {
    ok: false,
    status: 403,
    headers: {},
    message: 'Server "payments" exchanges tokens of identity provider "corp"; this caller signed in with "other"',
  });
  assert.deepEqual(await upstreamAuthorization(target("bare"), { ...alice, provider: "bare" }), {
    ok: false,
    status: 503,
    headers: {},
    message: 'Cannot exchange the caller\'s token for server "payments": identity provider "bare" has no clientId and clientSecret for the gateway to exchange tokens with',
  });
  const lost = await upstreamAuthorization(target("elsewhere"), { ...alice, provider: "elsewhere" });
  assert.equal(lost.ok, false);
  assert.match(!lost.ok ? lost.message : "", /^Cannot exchange the caller's token for server "payments": identity provider "elsewhere": its metadata at http:\/\/127\.0\.0\.1:\d+\/\.well-known\/oauth-authorization-server\/nope answered HTTP 404$/);
});
