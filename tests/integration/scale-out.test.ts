import { after, before, test } from "node:test";
import assert from "node:assert/strict";
import { randomBytes } from "node:crypto";
import type { StreamableHTTPClientTransport } from "@modelcontextprotocol/sdk/client/streamableHttp.js";
import { McpServer } from "@modelcontextprotocol/sdk/server/mcp.js";
import pg from "pg";
import { Agent, request } from "undici";
import { z } from "zod";
import { schemaSteps } from "../../gateway/store/schema.ts";
import { serveOverHttp, startEverythingHttp, type EverythingHttp } from "../fixtures/everything-http.ts";
import { startBalancer, type TestBalancer } from "../helpers/balancer.ts";
import { startGateway, type TestGateway } from "../helpers/gateway.ts";
import { ROOT } from "../helpers/cli.ts";
import { connect, rawPost, text } from "../helpers/mcp-client.ts";
import { startPostgres, type TestPostgres } from "../helpers/postgres.ts";
import { startRedis, type TestRedis } from "../helpers/redis.ts";

/**
 * Three `toolgate serve` replicas sharing one PostgreSQL and one Redis behind a round-robin balancer
 * (docs/operations.md): exact limits across replicas, no sticky sessions, config changes everywhere
 * within a second, fail closed when Redis is away.
 */
let postgres: TestPostgres;
let redis: TestRedis;
let databaseUrl: string;
let echo: EverythingHttp;
let everything: EverythingHttp;
let replicas: TestGateway[];
let balancer: TestBalancer;
const adminToken = "tga_scale_" + randomBytes(16).toString("hex");
const env = () => ({ TOOLGATE_DATABASE_URL: databaseUrl, TOOLGATE_REDIS_URL: redis.url, TOOLGATE_SECRET_KEY: SECRET_KEY });
const SECRET_KEY = randomBytes(32).toString("base64");
const tokens: Record<string, string> = {};
const dispatcher = new Agent({ connections: 128 });

function echoServer() {
  const server = new McpServer({ name: "echo", version: "1.0.0" });
  server.registerTool("echo", { description: "Echoes its input", inputSchema: { message: z.string() } }, async ({ message }) => ({ content: [{ type: "text", text: message }] }));
  return { server };
}

before(async () => {
  [postgres, redis, echo, everything] = await Promise.all([startPostgres(), startRedis(), serveOverHttp(echoServer, { jsonResponse: true, recordRequests: false }), startEverythingHttp()]);
  databaseUrl = await postgres.createDatabase();
});

after(async () => {
  await balancer?.stop();
  await Promise.all((replicas ?? []).map((r) => r.stop()));
  await Promise.all([echo?.close(), everything?.close()]);
  await dispatcher.close();
  await redis?.stop();
  await postgres?.stop();
});

test("three replicas starting together on an empty database migrate it once", async () => {
  replicas = await Promise.all([0, 1, 2].map(() => startGateway({ adminToken, env: env() })));
  const migrated = replicas.map((r) => r.logs().split("\n").filter((l) => l.includes("applied a database migration")).length);
  const steps = schemaSteps("postgres").length;
  assert.equal(migrated.reduce((a, b) => a + b, 0), steps, `each of the ${steps} steps applied once; migration log lines per replica: ${migrated.join(", ")}`);
  const client = new pg.Client({ connectionString: databaseUrl });
  await client.connect();
  try {
    assert.deepEqual((await client.query("SELECT version FROM schema_migrations ORDER BY version")).rows, Array.from({ length: steps }, (_, i) => ({ version: i + 1 })));
  } finally {
    await client.end();
  }
  balancer = await startBalancer(replicas.map((r) => r.proxyUrl));

  // Configure through replica A only; every other replica must learn it from the database.
  const admin = replicas[0]!.admin;
  await admin.put("servers", "echo", { transport: { type: "streamable-http", url: echo.url } });
  await admin.put("servers", "everything", { transport: { type: "streamable-http", url: everything.url } });
  await admin.put("servers", "everything-stdio", { transport: { type: "stdio", command: process.execPath, args: ["node_modules/@modelcontextprotocol/server-everything/dist/index.js", "stdio"], cwd: ROOT } });
  const limited = (max: number, scope: string) => ({ version: "1", default: "deny", tools: { echo: { limits: [{ counter: "calls", window: "day", max, scope }] } } });
  await admin.put("policies", "thousand", { document: limited(1000, "grant") });
  await admin.put("policies", "roomy", { document: limited(1_000_000, "grant") });
  await admin.put("policies", "open", { document: { version: "1", default: "allow" } });
  await admin.put("policies", "everything", { document: { version: "1", default: "allow" } });
  await admin.put("policies", "held", { document: { version: "1", default: "deny", tools: { echo: { approval: { mode: "hold" } } } } });
  for (const [grant, server, policy] of [["steady", "echo", "thousand"], ["killed", "echo", "thousand"], ["roomy", "echo", "roomy"], ["edited", "echo", "open"], ["session", "everything", "everything"], ["stdio", "everything-stdio", "everything"], ["held", "echo", "held"]]) {
    tokens[grant!] = (await admin.put<{ token: string }>("grants", grant!, { server, policy })).value.token;
  }
  // Every replica knows the last grant before the tests start (it reaches B and C through the database feed).
  for (const r of replicas) {
    for (let tries = 0; ; tries++) {
      const probe = await fetch(`${r.proxyUrl}/mcp/echo`, { method: "POST", headers: { "content-type": "application/json", authorization: `Bearer ${tokens.held}` }, body: "{}" });
      await probe.arrayBuffer();
      if (probe.status !== 401) break;
      assert.ok(tries < 100, `replica ${r.proxyUrl} never learned the grants`);
      await new Promise((done) => setTimeout(done, 50));
    }
  }
});

/** An MCP session opened through `url` (initialize + initialized), for raw tools/call requests. */
async function openSession(url: string, token: string): Promise<string> {
  const headers = { "content-type": "application/json", accept: "application/json, text/event-stream", authorization: `Bearer ${token}` };
  const init = await request(`${url}/mcp/echo`, { method: "POST", dispatcher, headers, body: JSON.stringify({ jsonrpc: "2.0", id: 0, method: "initialize", params: { protocolVersion: "2025-06-18", capabilities: {}, clientInfo: { name: "scale-test", version: "1" } } }) });
  await init.body.text();
  assert.equal(init.statusCode, 200);
  const session = init.headers["mcp-session-id"] as string;
  const note = await request(`${url}/mcp/echo`, { method: "POST", dispatcher, headers: { ...headers, "mcp-session-id": session }, body: JSON.stringify({ jsonrpc: "2.0", method: "notifications/initialized" }) });
  await note.body.dump();
  return session;
}

type Outcome = "allowed" | "limited" | "denied" | "error";

async function callEcho(url: string, token: string, session: string): Promise<{ outcome: Outcome; text: string }> {
  try {
    const res = await request(`${url}/mcp/echo`, {
      method: "POST",
      dispatcher,
      headers: { "content-type": "application/json", accept: "application/json, text/event-stream", authorization: `Bearer ${token}`, "mcp-session-id": session, "mcp-protocol-version": "2025-06-18" },
      body: JSON.stringify({ jsonrpc: "2.0", id: 1, method: "tools/call", params: { name: "echo", arguments: { message: "hi" } } }),
    });
    const body = await res.body.text();
    if (res.statusCode !== 200) return { outcome: "error", text: `HTTP ${res.statusCode} ${body}` };
    const message = JSON.parse(body) as { result?: { isError?: boolean; content?: { text: string }[] } };
    const said = message.result?.content?.[0]?.text ?? body;
    if (!message.result?.isError) return { outcome: "allowed", text: said };
    return { outcome: /Rate limit reached/.test(said) ? "limited" : "denied", text: said };
  } catch (error) {
    return { outcome: "error", text: (error as Error).message };
  }
}

/** `total` calls from `concurrency` workers; `onProgress` sees the count of finished calls. */
async function hammer(token: string, total: number, concurrency: number, onProgress: (done: number) => void = () => {}): Promise<Record<Outcome, number> & { sample: Partial<Record<Outcome, string>> }> {
  const sessions = await Promise.all(Array.from({ length: 8 }, () => openSession(balancer.url, token)));
  const counts = { allowed: 0, limited: 0, denied: 0, error: 0, sample: {} as Partial<Record<Outcome, string>> };
  let next = 0;
  let done = 0;
  await Promise.all(
    Array.from({ length: concurrency }, async (_, w) => {
      while (next < total) {
        next++;
        const r = await callEcho(balancer.url, token, sessions[w % sessions.length]!);
        counts[r.outcome]++;
        counts.sample[r.outcome] ??= r.text;
        onProgress(++done);
      }
    }),
  );
  return counts;
}

test("10,000 calls at concurrency 64 across three replicas against max 1000: exactly 1000 are admitted", async () => {
  const before = balancer.counts();
  const r = await hammer(tokens.steady!, 10_000, 64);
  assert.equal(r.allowed, 1000, JSON.stringify(r));
  assert.equal(r.limited, 9000, JSON.stringify(r));
  assert.match(r.sample.limited!, /at most 1000 calls per day/);
  const share = balancer.counts().map((n, i) => n - before[i]!);
  assert.ok(share.every((n) => n > 2000), `every replica served its share: ${share.join(", ")}`);
});

test("the same with one replica killed mid-run: never more than 1000 admitted", async () => {
  const victim = replicas[2]!;
  const r = await hammer(tokens.killed!, 10_000, 64, (done) => {
    if (done === 2500) victim.child.kill("SIGKILL");
  });
  assert.ok(r.allowed <= 1000, JSON.stringify(r));
  // Calls admitted by the victim whose answers were lost with it still used a slot: at most one per worker.
  assert.ok(r.allowed >= 1000 - 64, JSON.stringify(r));
  assert.equal(r.allowed + r.limited + r.error, 10_000, JSON.stringify(r));
  await victim.stop();
  replicas[2] = await startGateway({ adminToken, env: env() });
  await balancer.stop();
  balancer = await startBalancer(replicas.map((g) => g.proxyUrl));
});

test("a policy edit through replica A is enforced by B and C within a second", async () => {
  const session = await openSession(balancer.url, tokens.edited!);
  for (const replica of replicas) assert.equal((await callEcho(replica.proxyUrl, tokens.edited!, session)).outcome, "allowed");
  const edited = Date.now();
  await replicas[0]!.admin.put("policies", "open", { document: { version: "1", default: "deny" } });
  const pending = new Set([1, 2]);
  while (pending.size > 0 && Date.now() - edited < 1_000) {
    for (const i of [...pending]) if ((await callEcho(replicas[i]!.proxyUrl, tokens.edited!, session)).outcome === "denied") pending.delete(i);
  }
  assert.equal(pending.size, 0, `replicas ${[...pending].join(", ")} still allowed the call a second after the edit`);
  assert.equal((await callEcho(replicas[0]!.proxyUrl, tokens.edited!, session)).outcome, "denied");
});

test("one MCP session whose requests alternate replicas works end to end, streams and deletion included", async () => {
  const before = balancer.counts();
  const client = await connect(balancer.url, "everything", tokens.session!);
  const progress: number[] = [];
  assert.equal(text(await client.callTool({ name: "echo", arguments: { message: "across replicas" } })), "Echo: across replicas");
  const tools = await client.listTools();
  assert.ok(tools.tools.some((t) => t.name === "echo"));
  // Progress notifications travel server → client on the POST's event stream, through whichever replica took it.
  await client.callTool({ name: "trigger-long-running-operation", arguments: { duration: 0.3, steps: 3 } }, undefined, { onprogress: (p) => void progress.push(p.progress) });
  assert.deepEqual(progress, [1, 2, 3]);
  for (let i = 0; i < 6; i++) assert.equal(text(await client.callTool({ name: "echo", arguments: { message: String(i) } })), `Echo: ${i}`);
  const used = balancer.counts().map((n, i) => n - before[i]!);
  assert.ok(used.every((n) => n > 0), `every replica carried part of the session: ${used.join(", ")}`);
  const transport = client.transport as StreamableHTTPClientTransport;
  const sessionId = transport.sessionId!;
  await transport.terminateSession();
  await client.close();
  // The session is gone upstream, whichever replica carried the DELETE.
  const after = await request(`${balancer.url}/mcp/everything`, {
    method: "POST",
    dispatcher,
    headers: { "content-type": "application/json", accept: "application/json, text/event-stream", authorization: `Bearer ${tokens.session}`, "mcp-session-id": sessionId },
    body: JSON.stringify({ jsonrpc: "2.0", id: 9, method: "tools/list" }),
  });
  await after.body.dump();
  assert.equal(after.statusCode, 404);
});

test("a stdio session lives on one replica; its requests arriving at the others are forwarded there", async () => {
  const before = balancer.counts();
  const client = await connect(balancer.url, "everything-stdio", tokens.stdio!);
  const progress: number[] = [];
  for (let i = 0; i < 6; i++) assert.equal(text(await client.callTool({ name: "echo", arguments: { message: String(i) } })), `Echo: ${i}`);
  await client.callTool({ name: "trigger-long-running-operation", arguments: { duration: 0.3, steps: 3 } }, undefined, { onprogress: (p) => void progress.push(p.progress) });
  assert.deepEqual(progress, [1, 2, 3]);
  const used = balancer.counts().map((n, i) => n - before[i]!);
  assert.ok(used.every((n) => n > 0), `every replica received part of the session: ${used.join(", ")}`);
  const transport = client.transport as StreamableHTTPClientTransport;
  const sessionId = transport.sessionId!;
  assert.match(sessionId, /^tgs_[0-9a-f]+\./);
  await transport.terminateSession();
  await client.close();
  const headers = { authorization: `Bearer ${tokens.stdio}`, "mcp-session-id": sessionId };
  for (const replica of replicas) assert.equal((await rawPost(`${replica.proxyUrl}/mcp/everything-stdio`, { jsonrpc: "2.0", id: 1, method: "tools/list" }, headers)).status, 404, "the session ended everywhere");
  const orphan = await rawPost(`${balancer.url}/mcp/everything-stdio`, { jsonrpc: "2.0", id: 1, method: "tools/list" }, { ...headers, "mcp-session-id": "tgs_0123456789.gone" });
  assert.equal(orphan.status, 404);
  assert.match(orphan.body, /Session not found: it lived on gateway replica 0123456789, which is no longer running; start a new session/);
});

test("a call held for approval on one replica completes when a person approves through another", async () => {
  const session = await openSession(balancer.url, tokens.held!);
  const answer = callEcho(replicas[1]!.proxyUrl, tokens.held!, session);
  let id: string | undefined;
  while (!id) id = (await replicas[2]!.admin.getJson<{ items: { id: string }[] }>("/v1/approvals", { status: "pending", tool: "echo" })).items[0]?.id;
  await replicas[0]!.admin.postJson(`/v1/approvals/${id}/approve`, { by: "alice@example.com" });
  assert.deepEqual(await answer, { outcome: "allowed", text: "hi" });
});

test("Redis stopped: calls with limits are denied as fail closed and /readyz says why; both recover when it returns", async () => {
  const session = await openSession(balancer.url, tokens.roomy!);
  assert.equal((await callEcho(balancer.url, tokens.roomy!, session)).outcome, "allowed");
  // A deployment that opted in to limits failing open, on the same database and Redis.
  const lenient = await startGateway({ adminToken, env: { ...env(), TOOLGATE_LIMITS_FAIL_OPEN: "true" } });
  await redis.pause();
  try {
    const passed = await callEcho(lenient.proxyUrl, tokens.roomy!, session);
    assert.equal(passed.outcome, "allowed", `limits fail open on the opted-in replica: ${passed.text}`);
    assert.equal((await fetch(`${lenient.adminUrl}/readyz`)).status, 200, "and it stays ready");
    for (let i = 0; i < 3; i++) {
      const r = await callEcho(balancer.url, tokens.roomy!, session);
      assert.equal(r.outcome, "denied", r.text);
      assert.match(r.text, /Limits cannot be checked right now \(Redis is unreachable.*\), so the call was denied \(fail closed\)/);
    }
    for (const replica of replicas) {
      const ready = await fetch(`${replica.adminUrl}/readyz`);
      assert.equal(ready.status, 503);
      assert.match(((await ready.json()) as { reason: string }).reason, /Redis is unreachable.*calls with limits are denied/);
    }
  } finally {
    await redis.resume();
    await lenient.stop();
  }
  const deadline = Date.now() + 15_000;
  for (const replica of replicas) {
    while ((await fetch(`${replica.adminUrl}/readyz`)).status !== 200 && Date.now() < deadline) await new Promise((r) => setTimeout(r, 100));
    assert.equal((await fetch(`${replica.adminUrl}/readyz`)).status, 200, "ready again after Redis returned");
  }
  for (let i = 0; i < 3; i++) assert.equal((await callEcho(balancer.url, tokens.roomy!, session)).outcome, "allowed");
});

test("PostgreSQL stopped: replicas that cannot hear configuration changes refuse calls, then recover by themselves", async () => {
  const session = await openSession(balancer.url, tokens.roomy!);
  assert.equal((await callEcho(balancer.url, tokens.roomy!, session)).outcome, "allowed");
  await postgres.pause();
  try {
    const deadline = Date.now() + 10_000;
    let last = await callEcho(replicas[1]!.proxyUrl, tokens.roomy!, session);
    while (last.outcome !== "error" && Date.now() < deadline) {
      await new Promise((r) => setTimeout(r, 200));
      last = await callEcho(replicas[1]!.proxyUrl, tokens.roomy!, session);
    }
    assert.match(last.text, /^HTTP 503 .*the configuration store \(PostgreSQL\) is unreachable.*\(fail closed\)/);
    const ready = await fetch(`${replicas[1]!.adminUrl}/readyz`);
    assert.equal(ready.status, 503);
  } finally {
    await postgres.resume();
  }
  const deadline = Date.now() + 15_000;
  for (const replica of replicas) {
    while ((await callEcho(replica.proxyUrl, tokens.roomy!, session)).outcome !== "allowed" && Date.now() < deadline) await new Promise((r) => setTimeout(r, 200));
    assert.equal((await callEcho(replica.proxyUrl, tokens.roomy!, session)).outcome, "allowed", "serving again after PostgreSQL returned");
  }
});
