import { test } from "node:test";
import assert from "node:assert/strict";
import { startEverythingHttp } from "../fixtures/everything-http.ts";
import { startGateway } from "../helpers/gateway.ts";
import { gatewayIdentityProvider, startIdp } from "../helpers/idp.ts";
import { rawPost } from "../helpers/mcp-client.ts";

const VERSION = "2025-06-18";

test("a GET stream of a caller ends when its access token expires; the session goes on with a fresh token", async (t) => {
  const idp = await startIdp();
  t.after(() => idp.stop());
  const upstream = await startEverythingHttp();
  t.after(() => upstream.close());
  const gw = await startGateway();
  t.after(() => gw.stop());
  await gw.admin.put("identity-providers", "corp", gatewayIdentityProvider(idp));
  await gw.admin.put("policies", "all", { document: { version: "1", default: "allow" } });
  await gw.admin.put("servers", "everything", { transport: { type: "streamable-http", url: upstream.url } });
  await gw.admin.put("grants", "alice", { server: "everything", policy: "all", identity: { identityProvider: "corp", subject: "alice" } });
  const resource = `${gw.proxyUrl}/mcp/everything`;

  const shortLived = await idp.mintAccessToken({ user: "alice", resource, ttlSeconds: 3 });
  const init = await rawPost(resource, { jsonrpc: "2.0", id: 1, method: "initialize", params: { protocolVersion: VERSION, capabilities: {}, clientInfo: { name: "t", version: "1" } } }, { authorization: `Bearer ${shortLived}` });
  assert.equal(init.status, 200, init.body);
  const session = init.headers.get("mcp-session-id")!;
  const headers = (token: string) => ({ authorization: `Bearer ${token}`, "mcp-session-id": session, "mcp-protocol-version": VERSION });
  assert.equal((await rawPost(resource, { jsonrpc: "2.0", method: "notifications/initialized" }, headers(shortLived))).status, 202);

  const stream = await fetch(resource, { headers: { ...headers(shortLived), accept: "text/event-stream" } });
  assert.equal(stream.status, 200);
  // The gateway closes the stream at the token's expiry; the bound only keeps a broken gateway from hanging the test.
  const ended = await Promise.race([
    stream.text().then(() => "ended", () => "ended"),
    new Promise((resolve) => setTimeout(() => resolve("still open"), 15_000).unref()),
  ]);
  assert.equal(ended, "ended");

  const refused = await rawPost(resource, { jsonrpc: "2.0", id: 2, method: "tools/list" }, headers(shortLived));
  assert.equal(refused.status, 401);
  assert.match(refused.headers.get("www-authenticate") ?? "", /error_description="the access token expired"/);

  const fresh = await idp.mintAccessToken({ user: "alice", resource });
  const listed = await rawPost(resource, { jsonrpc: "2.0", id: 3, method: "tools/list" }, { ...headers(fresh), accept: "application/json, text/event-stream" });
  assert.equal(listed.status, 200, listed.body);
  assert.match(listed.body, /"tools"/, "the same session, with a new token of the same person");
});
