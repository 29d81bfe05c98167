import assert from "node:assert/strict";
import { createHash, randomBytes } from "node:crypto";
import { test } from "node:test";
import { createRemoteJWKSet, decodeProtectedHeader, jwtVerify } from "jose";
import { AGENT_CLIENT, GATEWAY_CLIENT, WORKLOAD_CLIENT, startIdp } from "../helpers/idp.ts";

// The identity tests trust this helper to behave like a real authorization server: these checks say it does.
test("the test IdP issues JWT access tokens for a resource, introspects opaque ones, signs users in and rotates keys", async (t) => {
  const idp = await startIdp({ opaqueResources: ["http://127.0.0.1:9/mcp/opaque"] });
  t.after(() => idp.stop());
  const resource = "http://127.0.0.1:9/mcp/files";

  const discovery = (await (await fetch(`${idp.issuer}/.well-known/openid-configuration`)).json()) as Record<string, unknown>;
  assert.equal(discovery.issuer, idp.issuer);
  assert.equal(discovery.jwks_uri, idp.jwksUri);
  assert.equal(discovery.introspection_endpoint, idp.introspectionEndpoint);

  const jwks = createRemoteJWKSet(new URL(idp.jwksUri));
  const minted = await idp.mintAccessToken({ user: "alice", resource });
  const { payload } = await jwtVerify(minted, jwks, { issuer: idp.issuer, audience: resource });
  assert.equal(payload.sub, "alice");
  assert.deepEqual(payload.groups, ["payments", "payments-oncall"]);
  assert.equal(payload.client_id, AGENT_CLIENT.clientId);

  const workload = await idp.clientCredentials({ ...WORKLOAD_CLIENT, resource });
  const cc = await jwtVerify(workload.access_token, jwks, { issuer: idp.issuer, audience: resource });
  assert.equal(cc.payload.sub, WORKLOAD_CLIENT.clientId);

  const opaque = await idp.mintAccessToken({ user: "bob", resource: "http://127.0.0.1:9/mcp/opaque" });
  assert.equal(opaque.split(".").length, 1);
  const basic = `Basic ${Buffer.from(`${GATEWAY_CLIENT.clientId}:${GATEWAY_CLIENT.clientSecret}`).toString("base64")}`;
  const introspected = (await (await fetch(idp.introspectionEndpoint, { method: "POST", headers: { authorization: basic, "content-type": "application/x-www-form-urlencoded" }, body: new URLSearchParams({ token: opaque }) })).json()) as Record<string, unknown>;
  assert.equal(introspected.active, true);
  assert.equal(introspected.sub, "bob");
  assert.deepEqual(introspected.groups, ["payments"]);

  const verifier = randomBytes(32).toString("base64url");
  const authorize = new URL(idp.authorizationEndpoint);
  for (const [k, v] of Object.entries({ client_id: AGENT_CLIENT.clientId, response_type: "code", redirect_uri: AGENT_CLIENT.redirectUris[0]!, scope: "openid mcp", resource, state: "s1", code_challenge: createHash("sha256").update(verifier).digest("base64url"), code_challenge_method: "S256" })) authorize.searchParams.set(k, v);
  const back = await idp.signIn(authorize.href, "carol");
  assert.equal(back.searchParams.get("state"), "s1");
  const exchanged = await fetch(idp.tokenEndpoint, { method: "POST", headers: { "content-type": "application/x-www-form-urlencoded" }, body: new URLSearchParams({ grant_type: "authorization_code", code: back.searchParams.get("code")!, redirect_uri: AGENT_CLIENT.redirectUris[0]!, client_id: AGENT_CLIENT.clientId, code_verifier: verifier, resource }) });
  const tokens = (await exchanged.json()) as { access_token: string };
  assert.equal(exchanged.status, 200, JSON.stringify(tokens));
  const signedIn = await jwtVerify(tokens.access_token, jwks, { issuer: idp.issuer, audience: resource });
  assert.equal(signedIn.payload.sub, "carol");

  const before = idp.currentKid();
  const kid = await idp.rotateKeys();
  assert.notEqual(kid, before);
  const rotated = await idp.mintAccessToken({ user: "alice", resource });
  assert.equal(decodeProtectedHeader(rotated).kid, kid);
  await jwtVerify(rotated, createRemoteJWKSet(new URL(idp.jwksUri)), { issuer: idp.issuer, audience: resource });
  await jwtVerify(minted, createRemoteJWKSet(new URL(idp.jwksUri)), { issuer: idp.issuer, audience: resource });
});
