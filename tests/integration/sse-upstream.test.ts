import { after, before, test } from "node:test";
import assert from "node:assert/strict";
import type { Client } from "@modelcontextprotocol/sdk/client/index.js";
import { ElicitRequestSchema } from "@modelcontextprotocol/sdk/types.js";
import { AdminApiError } from "../../sdk/index.ts";
import { startLegacySseServer, type LegacySseServer } from "../fixtures/legacy-sse-server.ts";
import { startGateway, type TestGateway } from "../helpers/gateway.ts";
import { connect, rawPost, text } from "../helpers/mcp-client.ts";

// A legacy HTTP+SSE server (2024-11-05), registered as transport "sse", used by Streamable HTTP agents.
let gw: TestGateway;
let legacy: LegacySseServer;
const tokens: Record<string, string> = {};

before(async () => {
  legacy = await startLegacySseServer();
  gw = await startGateway();
  await gw.admin.put("servers", "legacy", { transport: { type: "sse", url: legacy.url, headers: { "X-Api-Key": "upstream-key-123" } } });
  await gw.admin.put("policies", "legacy", { document: { version: "1", default: "deny", hide: ["secret_tool"], tools: { echo: {}, slow: {}, ask: {} } } });
  for (const grant of ["agent", "other", "revoked"]) tokens[grant] = (await gw.admin.put<{ token: string }>("grants", grant, { server: "legacy", policy: "legacy" })).value.token;
});

after(async () => {
  assert.equal(await gw.stop(), 0);
  await legacy.close();
});

async function agent(grant = "agent"): Promise<Client> {
  const client = await connect(gw.proxyUrl, "legacy", tokens[grant]!, { capabilities: { elicitation: {} } });
  client.setRequestHandler(ElicitRequestSchema, async (req) => ({ action: "accept", content: { name: `Ada (asked "${req.params.message}")` } }));
  return client;
}

const sessionOf = (client: Client) => (client.transport as unknown as { sessionId: string }).sessionId;

async function until(check: () => boolean): Promise<void> {
  const deadline = Date.now() + 5000;
  while (!check() && Date.now() < deadline) await new Promise((r) => setTimeout(r, 50));
}

test("initialize and tools/list through the gateway; the hidden tool is filtered out", async () => {
  const client = await agent();
  assert.deepEqual(client.getServerVersion(), { name: "legacy-sse", version: "1.0.0" });
  assert.match(sessionOf(client), /^tgs_[0-9a-f]+\./);
  const { tools } = await client.listTools();
  assert.deepEqual(tools.map((t) => t.name).sort(), ["ask", "delete_all", "echo", "slow"]);
  await client.close();
});

test("an allowed call runs; a denied one gets a policy denial and never reaches the server", async () => {
  const client = await agent();
  assert.equal(text(await client.callTool({ name: "echo", arguments: { message: "hello" } })), "echo: hello");
  const denied = await client.callTool({ name: "delete_all", arguments: {} });
  assert.equal(denied.isError, true);
  assert.equal(text(denied), '[POLICY DENIED] Tool "delete_all" is not permitted by policy');
  assert.equal(legacy.calls.includes("delete_all"), false);
  await client.close();
});

test("progress notifications of a call arrive before its result", async () => {
  const client = await agent();
  const progress: number[] = [];
  const r = await client.callTool({ name: "slow", arguments: { steps: 3 } }, undefined, { onprogress: (p) => void progress.push(p.progress) });
  assert.equal(text(r), "finished 3 steps");
  assert.deepEqual(progress, [1, 2, 3]);
  await client.close();
});

test("elicitation: the server's request reaches the agent and the answer goes back", async () => {
  const client = await agent();
  assert.equal(text(await client.callTool({ name: "ask", arguments: {} })), 'accept: Ada (asked "Your name?")');
  await client.close();
});

test("the server's configured headers reach the upstream; the agent's Authorization never does", async () => {
  const client = await agent();
  await client.callTool({ name: "echo", arguments: { message: "headers" } });
  await client.close();
  const seen = legacy.requests.slice(-3);
  assert.deepEqual(
    seen.map((r) => [r.method, r.headers["x-api-key"], r.headers.authorization]),
    seen.map((r) => [r.method, "upstream-key-123", undefined]),
  );
  assert.ok(legacy.requests.some((r) => r.method === "GET" && r.headers.accept === "text/event-stream"));
});

test("DELETE ends the session and closes its upstream connection", async () => {
  // Earlier tests' agents closed without DELETE: their sessions stay open until idle.
  const before = legacy.openStreams();
  const client = await agent();
  assert.equal(legacy.openStreams(), before + 1);
  const session = sessionOf(client);
  await (client.transport as unknown as { terminateSession(): Promise<void> }).terminateSession();
  await client.close();
  await until(() => legacy.openStreams() === before);
  assert.equal(legacy.openStreams(), before);
  const after = await rawPost(`${gw.proxyUrl}/mcp/legacy`, { jsonrpc: "2.0", id: 1, method: "tools/list" }, { authorization: `Bearer ${tokens.agent}`, "mcp-session-id": session });
  assert.equal(after.status, 404);
});

test("revoking the grant closes its sessions' upstream connections", async () => {
  const before = legacy.openStreams();
  const client = await agent("revoked");
  assert.equal(legacy.openStreams(), before + 1);
  await gw.admin.delete("grants", "revoked");
  await until(() => legacy.openStreams() === before);
  assert.equal(legacy.openStreams(), before);
  await client.close();
});

test("another grant's token on a session gets 404, and the session stays usable by its own grant", async () => {
  const client = await agent();
  const session = sessionOf(client);
  const stolen = await rawPost(`${gw.proxyUrl}/mcp/legacy`, { jsonrpc: "2.0", id: 7, method: "tools/call", params: { name: "echo", arguments: { message: "stolen" } } }, { authorization: `Bearer ${tokens.other}`, "mcp-session-id": session });
  assert.equal(stolen.status, 404);
  assert.deepEqual(JSON.parse(stolen.body), { jsonrpc: "2.0", id: 7, error: { code: -32600, message: "Session not found (it ended or the gateway restarted); start a new session" } });
  assert.equal(text(await client.callTool({ name: "echo", arguments: { message: "still mine" } })), "echo: still mine");
  await client.close();
});

test("the admin API redacts the headers, refuses credentials in the URL, and the catalog lists the server's tools", async () => {
  const server = await gw.admin.getJson<{ transport: unknown }>("/v1/servers/legacy");
  assert.deepEqual(server.transport, { type: "sse", url: legacy.url, headers: { "X-Api-Key": "[redacted]" } });
  await assert.rejects(gw.admin.put("servers", "leaky", { transport: { type: "sse", url: "http://user:pass@127.0.0.1:1/sse" } }), (e: unknown) => {
    assert.ok(e instanceof AdminApiError);
    assert.equal(e.status, 400);
    assert.match(e.message, /url must not contain credentials; put them in headers/);
    assert.doesNotMatch(e.message, /pass/);
    return true;
  });
  const deadline = Date.now() + 15_000;
  let names: string[] = [];
  while (names.length === 0 && Date.now() < deadline) {
    names = (await gw.admin.getJson<{ items: { name: string }[] }>("/v1/servers/legacy/tools")).items.map((t) => t.name).sort();
    if (names.length === 0) await new Promise((r) => setTimeout(r, 100));
  }
  assert.deepEqual(names, ["ask", "delete_all", "echo", "secret_tool", "slow"]);
});
