import assert from "node:assert/strict";
import { test } from "node:test";
import { startGateway } from "../helpers/gateway.ts";

test("identity-providers: field-named validation errors, clientSecret never returned, references checked", async (t) => {
  const gw = await startGateway();
  t.after(() => gw.stop());
  const put = (path: string, body: unknown, headers: Record<string, string> = {}) =>
    fetch(`${gw.adminUrl}${path}`, { method: "PUT", headers: { authorization: `Bearer ${gw.adminToken}`, "content-type": "application/json", ...headers }, body: JSON.stringify(body) });

  const bad = await put("/v1/identity-providers/corp", { issuer: "http://idp.example.com", algorithms: ["HS256"], clockSkewSeconds: 900, clientSecret: "s3cret-value" });
  assert.equal(bad.status, 400);
  const problem = (await bad.json()) as { issues: { path: string; message: string }[] };
  const paths = problem.issues.map((i) => i.path).sort();
  assert.deepEqual(paths, ["/algorithms/0", "/clockSkewSeconds", "/issuer"]);
  assert.ok(!JSON.stringify(problem).includes("s3cret-value"));

  const created = await put("/v1/identity-providers/corp", { issuer: "https://idp.example.com", clientId: "toolgate", clientSecret: "s3cret-value" });
  assert.equal(created.status, 201);
  assert.equal(created.headers.get("etag"), '"1"');
  const object = (await created.json()) as Record<string, unknown>;
  assert.equal(object.clientSecret, undefined);
  assert.match(String(object.clientSecretDigest), /^hmac-sha256:/);
  const read = await (await fetch(`${gw.adminUrl}/v1/identity-providers/corp`, { headers: { authorization: `Bearer ${gw.adminToken}` } })).text();
  assert.ok(!read.includes("s3cret-value"));

  const stale = await put("/v1/identity-providers/corp", { issuer: "https://idp.example.com", clientId: "toolgate" }, { "if-match": '"7"' });
  assert.equal(stale.status, 412);

  await gw.admin.put("servers", "s1", { transport: { type: "streamable-http", url: "http://127.0.0.1:9/mcp" } });
  const missing = await put("/v1/grants/g1", { server: "s1", identity: { identityProvider: "nope" } });
  assert.equal(missing.status, 422);
  assert.equal(((await missing.json()) as { issues: { path: string }[] }).issues[0]!.path, "/identity/identityProvider");

  const grant = await put("/v1/grants/g1", { server: "s1", identity: { identityProvider: "corp", claims: [{ claim: "groups", contains: "eng" }] } });
  assert.equal(grant.status, 201);
  const body = (await grant.json()) as Record<string, unknown>;
  assert.equal(body.token, undefined, "a grant by identity holds no token");
  const rotate = await fetch(`${gw.adminUrl}/v1/grants/g1/rotate`, { method: "POST", headers: { authorization: `Bearer ${gw.adminToken}` } });
  assert.equal(rotate.status, 409);
  assert.match(await rotate.text(), /grant by identity/);

  const inUse = await fetch(`${gw.adminUrl}/v1/identity-providers/corp`, { method: "DELETE", headers: { authorization: `Bearer ${gw.adminToken}` } });
  assert.equal(inUse.status, 422);
  assert.match(await inUse.text(), /used by grant \\"g1\\"/);
});
