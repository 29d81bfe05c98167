import assert from "node:assert/strict";
import { test } from "node:test";
import { exportJWK, generateKeyPair, SignJWT, type CryptoKey, type JWK } from "jose";
import { createAccessTokenVerifier } from "../../gateway/identity/access-tokens.ts";
import { createRuntimeView } from "../../gateway/runtime-view.ts";

const ISSUER = "https://idp.example";
const RESOURCE = "https://gateway.example/mcp/payments";
const T0 = Date.parse("2026-06-30T12:00:00Z");
const stamp = { description: null, owner: null, createdAt: "2026-01-01T00:00:00Z", updatedAt: "2026-01-01T00:00:00Z" };

/** A verifier whose JWKS comes from `keys` (counted fetches) on a clock the test moves. */
async function setup() {
  const view = createRuntimeView();
  const provider = (version: number, audiences: string[] = []) =>
    view.setIdentityProvider({ name: "corp", issuer: ISSUER, audiences, jwksUri: `${ISSUER}/jwks`, introspectionEndpoint: null, algorithms: ["RS256"], clockSkewSeconds: 0, clientId: null, clientSecret: null, clientSecretDigest: null, version, ...stamp });
  provider(1);
  const state = { now: T0, keys: [] as JWK[], fetches: 0, down: false };
  const fetchJwks = (async () => {
    state.fetches++;
    if (state.down) throw new TypeError("fetch failed");
    return new Response(JSON.stringify({ keys: state.keys }), { headers: { "content-type": "application/json" } });
  }) as typeof fetch;
  const verifier = createAccessTokenVerifier({ view, providers: () => view.identityProviders(), fetch: fetchJwks, clock: () => state.now, unknownKidCooldownMs: 0 });
  const newKey = async (kid: string) => {
    const pair = await generateKeyPair("RS256");
    return { kid, privateKey: pair.privateKey, jwk: { ...(await exportJWK(pair.publicKey)), kid, alg: "RS256", use: "sig" } };
  };
  const sign = (key: { kid: string; privateKey: CryptoKey }, claims: Record<string, unknown> = {}) =>
    new SignJWT({ sub: "alice", iss: ISSUER, aud: RESOURCE, iat: T0 / 1000, exp: T0 / 1000 + 60, ...claims }).setProtectedHeader({ alg: "RS256", kid: key.kid }).sign(key.privateKey);
  const verify = async (token: string, resource = RESOURCE) => {
    const check = await verifier.verify(token, resource);
    return check.ok ? "ok" : check.reason;
  };
  return { state, provider, newKey, sign, verify };
}

test("a remembered JWT is refused once it expires", async () => {
  const s = await setup();
  const key = await s.newKey("k1");
  s.state.keys = [key.jwk];
  const token = await s.sign(key);
  assert.equal(await s.verify(token), "ok");
  s.state.now = T0 + 59_999;
  assert.equal(await s.verify(token), "ok");
  s.state.now = T0 + 60_000;
  assert.equal(await s.verify(token), "the access token expired");
});

test("a remembered JWT is verified again when the keys are refetched: a key the IdP removed no longer verifies it", async () => {
  const s = await setup();
  const old = await s.newKey("old");
  s.state.keys = [old.jwk];
  const token = await s.sign(old);
  assert.equal(await s.verify(token), "ok");
  assert.equal(await s.verify(token), "ok");
  assert.equal(s.state.fetches, 1);
  // The IdP rotates and drops the old key; a token with the new kid makes the gateway refetch.
  const fresh = await s.newKey("new");
  s.state.keys = [fresh.jwk];
  assert.equal(await s.verify(await s.sign(fresh)), "ok");
  assert.equal(s.state.fetches, 2);
  assert.equal(await s.verify(token), "no signing key of the identity provider matches the access token (kid)");
});

test("a remembered JWT is checked again when its provider changes, and per resource", async () => {
  const s = await setup();
  const key = await s.newKey("k1");
  s.state.keys = [key.jwk];
  const token = await s.sign(key, { aud: "payments-api" });
  s.provider(2, ["payments-api"]);
  assert.equal(await s.verify(token), "ok");
  // The audience is taken off the provider: the token is no longer for this gateway.
  s.provider(3, []);
  assert.equal(await s.verify(token), `the access token's audience is not this server's resource ${RESOURCE}`);
  // Accepted for one server's resource says nothing about another's.
  s.provider(4, []);
  const forPayments = await s.sign(key);
  assert.equal(await s.verify(forPayments), "ok");
  assert.equal(await s.verify(forPayments, "https://gateway.example/mcp/ledger"), "the access token's audience is not this server's resource https://gateway.example/mcp/ledger");
});

test("remembered keys past their lifetime are fetched again; an IdP gone by then fails closed even for a remembered token", async () => {
  const s = await setup();
  const key = await s.newKey("k1");
  s.state.keys = [key.jwk];
  const token = await s.sign(key, { exp: T0 / 1000 + 7200 });
  assert.equal(await s.verify(token), "ok");
  s.state.now = T0 + 599_999; // just inside the default key lifetime (10 min)
  s.state.down = true;
  assert.equal(await s.verify(token), "ok");
  s.state.now = T0 + 600_000;
  assert.equal(await s.verify(token), "the identity provider's keys could not be fetched (corp: fetch failed)");
});
