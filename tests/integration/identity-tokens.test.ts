import assert from "node:assert/strict";
import { test } from "node:test";
import { createHmac } from "node:crypto";
import { startGateway, type TestGateway } from "../helpers/gateway.ts";
import { gatewayIdentityProvider, startIdp, type TestIdp } from "../helpers/idp.ts";
import { RawAgent, eventually, resultText, startNodeUpstream, type TestUpstream } from "../helpers/upstreams.ts";

const SERVER = "node";
const READER = { version: "1", default: "deny", tools: { read: {} } };
const PAYER = { version: "1", default: "deny", tools: { read: {}, transfer: {} } };
const LIMITED = { version: "1", default: "deny", tools: { read: { limits: [{ counter: "reads", window: "hour", max: 2, scope: "user" }] } } };

const call = (tool: string, args: Record<string, unknown> = {}) => JSON.stringify({ jsonrpc: "2.0", id: 1, method: "tools/call", params: { name: tool, arguments: args } });
const b64 = (v: unknown) => Buffer.from(JSON.stringify(v)).toString("base64url");

interface Setup {
  gw: TestGateway;
  idp: TestIdp;
  upstream: TestUpstream;
  resource: string;
}

async function setup(t: { after(fn: () => Promise<unknown>): void }, jwksCache = "10m"): Promise<Setup> {
  const idp = await startIdp({ opaqueResources: [] });
  t.after(() => idp.stop());
  const upstream = await startNodeUpstream();
  t.after(() => upstream.close());
  const gw = await startGateway({ args: ["--jwks-cache", jwksCache] });
  t.after(() => gw.stop());
  await gw.admin.put("identity-providers", "corp", gatewayIdentityProvider(idp));
  await gw.admin.put("servers", SERVER, { transport: upstream.transport });
  await gw.admin.put("policies", "reader", { document: READER });
  await gw.admin.put("policies", "payer", { document: PAYER });
  return { gw, idp, upstream, resource: `${gw.proxyUrl}/mcp/${SERVER}` };
}

/** One tools/call with a bearer on a fresh session. */
async function callWith(s: Setup, token: string, tool: string, args: Record<string, unknown> = {}) {
  const agent = await RawAgent.connect(s.gw.proxyUrl, SERVER, token);
  return agent.send(call(tool, args));
}

async function refused(s: Setup, token: string) {
  const res = await fetch(s.resource, { method: "POST", headers: { authorization: `Bearer ${token}`, "content-type": "application/json", accept: "application/json, text/event-stream" }, body: call("read") });
  return { status: res.status, challenge: res.headers.get("www-authenticate") ?? "", body: await res.text() };
}

test("access tokens from an identity provider: metadata, grant selection by claims, refusals with reasons, audit subject, per-user limits", async (t) => {
  const s = await setup(t);
  // A group grant and a subject grant: alice is in "payments" but her own grant wins.
  await s.gw.admin.put("grants", "payments-team", { server: SERVER, policy: "payer", identity: { identityProvider: "corp", claims: [{ claim: "groups", contains: "payments" }] } });
  await s.gw.admin.put("grants", "alice-only", { server: SERVER, policy: "reader", identity: { identityProvider: "corp", subject: "alice" } });

  await t.test("Protected Resource Metadata names the server's resource and the IdP; a 401 points at it", async () => {
    const prm = await fetch(`${s.gw.proxyUrl}/.well-known/oauth-protected-resource/mcp/${SERVER}`);
    assert.equal(prm.status, 200);
    const doc = (await prm.json()) as { resource: string; authorization_servers: string[] };
    assert.equal(doc.resource, s.resource);
    assert.deepEqual(doc.authorization_servers, [s.idp.issuer]);
    const res = await fetch(s.resource, { method: "POST", headers: { "content-type": "application/json" }, body: call("read") });
    assert.equal(res.status, 401);
    assert.equal(res.headers.get("www-authenticate"), `Bearer resource_metadata="${s.gw.proxyUrl}/.well-known/oauth-protected-resource/mcp/${SERVER}"`);
  });

  await t.test("the most specific grant wins: alice (subject grant, reader) cannot transfer; bob (group grant, payer) can", async () => {
    const alice = await s.idp.mintAccessToken({ user: "alice", resource: s.resource });
    const bob = await s.idp.mintAccessToken({ user: "bob", resource: s.resource });
    assert.match(resultText(await callWith(s, alice, "read", { path: "x" })) ?? "", /read/);
    assert.match(resultText(await callWith(s, alice, "transfer", { amount: 1 })) ?? "", /POLICY DENIED/);
    const paid = await callWith(s, bob, "transfer", { amount: 5 });
    assert.doesNotMatch(resultText(paid) ?? "", /POLICY DENIED/, paid.body);
    const carol = await s.idp.mintAccessToken({ user: "carol", resource: s.resource });
    const none = await refused(s, carol);
    assert.equal(none.status, 403);
    assert.match(none.body, /no grant for carol on server node/i);
  });

  await t.test("audit rows carry the caller's subject", async () => {
    const rows = await eventually(
      () => s.gw.admin.getJson<{ items: { grant: string; subject: string | null; tool: string | null }[] }>("/v1/audit", { server: SERVER }),
      (r) => r.items.some((i) => i.subject === "bob"),
    );
    assert.ok(rows.items.some((i) => i.grant === "alice-only" && i.subject === "alice"));
    assert.ok(rows.items.some((i) => i.grant === "payments-team" && i.subject === "bob" && i.tool === "transfer"));
  });

  await t.test("two equally specific matching grants are refused as ambiguous, naming both", async () => {
    await s.gw.admin.put("grants", "oncall", { server: SERVER, policy: "payer", identity: { identityProvider: "corp", claims: [{ claim: "groups", contains: "payments-oncall" }] } });
    await s.gw.admin.put("grants", "payments-team", { server: SERVER, policy: "payer", identity: { identityProvider: "corp", claims: [{ claim: "groups", contains: "payments" }] } });
    const other = await s.gw.admin.put("grants", "verified-mail", { server: SERVER, policy: "payer", identity: { identityProvider: "corp", emailDomain: "example.com" } });
    assert.equal(other.created, true);
    const bob = await s.idp.mintAccessToken({ user: "bob", resource: s.resource });
    const tie = await refused(s, bob);
    assert.equal(tie.status, 403);
    assert.match(tie.body, /payments-team\W+ and \W+verified-mail/);
    await s.gw.admin.delete("grants", "verified-mail");
  });

  await t.test("refused tokens: wrong audience, expired, wrong issuer, tampered, alg none, HS256 keyed with the public key", async () => {
    const now = Math.floor(Date.now() / 1000);
    const claims = { iss: s.idp.issuer, sub: "bob", aud: s.resource, iat: now, exp: now + 300, groups: ["payments"] };
    const good = await s.idp.signJwt(claims);
    const [h, p, sig] = good.split(".");
    const tampered = `${h}.${b64({ ...claims, sub: "alice" })}.${sig}`;
    const none = `${b64({ alg: "none", typ: "at+jwt" })}.${p}.`;
    const hsHeader = b64({ alg: "HS256", kid: s.idp.currentKid(), typ: "at+jwt" });
    const hs = `${hsHeader}.${p}.${createHmac("sha256", JSON.stringify(s.idp.publicJwk())).update(`${hsHeader}.${p}`).digest("base64url")}`;
    const cases: [string, string, RegExp][] = [
      ["wrong audience", await s.idp.signJwt({ ...claims, aud: "https://elsewhere.example/mcp" }), /audience is not this server's resource/],
      ["expired", await s.idp.signJwt({ ...claims, iat: now - 600, exp: now - 300 }), /expired/],
      ["wrong issuer", await s.idp.signJwt({ ...claims, iss: "https://evil.example" }), /not a trusted identity provider/],
      ["tampered", tampered, /signature is not valid/],
      ["alg none", none, /algorithm|not valid/],
      ["HS256 with the public key", hs, /algorithm/],
    ];
    assert.equal((await callWith(s, good, "read")).status, 200);
    for (const [name, token, reason] of cases) {
      const r = await refused(s, token);
      assert.equal(r.status, 401, `${name}: ${r.body}`);
      assert.match(r.body, reason, name);
      assert.match(r.challenge, /error="invalid_token"/, name);
      assert.ok(!r.body.includes(token), `${name}: the token is never echoed`);
    }
  });

  await t.test("a workload's client-credentials token (sub = client_id) and an opaque token checked by introspection", async () => {
    await s.gw.admin.put("grants", "nightly", { server: SERVER, policy: "reader", identity: { identityProvider: "corp", clientId: "nightly-job" } });
    const workload = await s.idp.mintAccessToken({ resource: s.resource });
    assert.match(resultText(await callWith(s, workload, "read", { path: "w" })) ?? "", /read/);
    const opaque = await s.idp.mintAccessToken({ user: "alice", resource: s.resource, format: "opaque" });
    assert.equal(opaque.includes("."), false);
    assert.match(resultText(await callWith(s, opaque, "read", { path: "o" })) ?? "", /read/);
    assert.match(resultText(await callWith(s, opaque, "transfer", { amount: 1 })) ?? "", /POLICY DENIED/);
  });

  await t.test("scope user limits count per subject", async () => {
    await s.gw.admin.put("policies", "limited", { document: LIMITED });
    await s.gw.admin.put("grants", "payments-team", { server: SERVER, policy: "limited", identity: { identityProvider: "corp", claims: [{ claim: "groups", contains: "payments" }] } });
    await s.gw.admin.delete("grants", "oncall");
    await s.gw.admin.delete("grants", "alice-only");
    const alice = await s.idp.mintAccessToken({ user: "alice", resource: s.resource });
    const bob = await s.idp.mintAccessToken({ user: "bob", resource: s.resource });
    const agentA = await RawAgent.connect(s.gw.proxyUrl, SERVER, alice);
    const agentB = await RawAgent.connect(s.gw.proxyUrl, SERVER, bob);
    for (let i = 0; i < 2; i++) assert.doesNotMatch(resultText(await agentA.send(call("read"))) ?? "", /DENIED/);
    assert.match(resultText(await agentA.send(call("read"))) ?? "", /limit|DENIED/i);
    // Same grant, another subject: a counter of its own.
    assert.doesNotMatch(resultText(await agentB.send(call("read"))) ?? "", /DENIED/);
  });
});

test("signing keys: a rotated key is picked up; with the IdP gone, cached keys work until they expire, then calls fail closed (503)", async (t) => {
  const s = await setup(t, "3s");
  await s.gw.admin.put("grants", "everyone", { server: SERVER, policy: "reader", identity: { identityProvider: "corp" } });
  const before = await s.idp.mintAccessToken({ user: "carol", resource: s.resource });
  assert.match(resultText(await callWith(s, before, "read")) ?? "", /read/);
  await s.idp.rotateKeys();
  const after = await s.idp.mintAccessToken({ user: "carol", resource: s.resource });
  assert.match(resultText(await callWith(s, after, "read")) ?? "", /read/, "a token signed with the new kid is accepted");

  await s.idp.stop();
  assert.match(resultText(await callWith(s, after, "read")) ?? "", /read/, "cached keys keep working while the IdP is down");
  // Past the key cache's lifetime (3 s here) the keys are not used any more: the gateway cannot vouch for the token.
  const failed = await eventually(() => refused(s, after), (r) => r.status === 503, 10_000);
  assert.equal(failed.status, 503);
  assert.match(failed.body, /identity provider's keys could not be fetched/);
});
