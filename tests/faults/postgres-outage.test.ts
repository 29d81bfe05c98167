import { after, before, test } from "node:test";
import assert from "node:assert/strict";
import { randomBytes } from "node:crypto";
import type { Client } from "@modelcontextprotocol/sdk/client/index.js";
import type { StreamableHTTPClientTransport } from "@modelcontextprotocol/sdk/client/streamableHttp.js";
import { createEdgeServer } from "../fixtures/edge-server.ts";
import { serveOverHttp, type EverythingHttp } from "../fixtures/everything-http.ts";
import { startGateway, type TestGateway } from "../helpers/gateway.ts";
import { connect } from "../helpers/mcp-client.ts";
import { startPostgres, type TestPostgres } from "../helpers/postgres.ts";

/**
 * A real PostgreSQL stopped or frozen (SIGSTOP) under a real `toolgate serve`: the admin API answers 503
 * naming the store and the cause (never 500), calls are refused with 503 (fail closed), and both recover
 * by themselves. How soon each happens is measured by bench/faults.ts (docs/operations.md).
 */
let postgres: TestPostgres;
let upstream: EverythingHttp;
let gw: TestGateway;
let client: Client;
let token: string;
const ADMIN_TOKEN = "tga_pg_" + randomBytes(16).toString("hex");

before(async () => {
  [postgres, upstream] = await Promise.all([startPostgres(), serveOverHttp(() => ({ server: createEdgeServer() }), { jsonResponse: true, recordRequests: false })]);
  const databaseUrl = await postgres.createDatabase();
  gw = await startGateway({ adminToken: ADMIN_TOKEN, env: { TOOLGATE_DATABASE_URL: databaseUrl, TOOLGATE_SECRET_KEY: randomBytes(32).toString("base64") } });
  await gw.admin.put("servers", "edge", { transport: { type: "streamable-http", url: upstream.url } });
  await gw.admin.put("policies", "open", { document: { version: "1", default: "allow" } });
  token = (await gw.admin.put<{ token: string }>("grants", "agent", { server: "edge", policy: "open" })).value.token;
  client = await connect(gw.proxyUrl, "edge", token);
});

after(async () => {
  postgres?.thaw();
  await client?.close();
  await gw?.stop();
  await upstream?.close();
  await postgres?.stop();
});

async function admin(method: string, path: string, body?: unknown): Promise<{ status: number; body: Record<string, unknown> }> {
  const res = await fetch(gw.adminUrl + path, {
    method,
    headers: { authorization: `Bearer ${ADMIN_TOKEN}`, ...(body === undefined ? {} : { "content-type": "application/json" }) },
    body: body === undefined ? undefined : JSON.stringify(body),
  });
  return { status: res.status, body: (await res.json()) as Record<string, unknown> };
}

/** One tools/call through the gateway, in the client's session: the tool's text, or the HTTP status and body. */
async function call(): Promise<string> {
  const res = await fetch(`${gw.proxyUrl}/mcp/edge`, {
    method: "POST",
    headers: {
      authorization: `Bearer ${token}`,
      "content-type": "application/json",
      accept: "application/json, text/event-stream",
      "mcp-session-id": (client.transport as StreamableHTTPClientTransport).sessionId!,
      "mcp-protocol-version": "2025-06-18",
    },
    body: JSON.stringify({ jsonrpc: "2.0", id: 7, method: "tools/call", params: { name: "ok", arguments: {} } }),
  });
  const body = await res.text();
  if (res.status !== 200) return `HTTP ${res.status} ${body}`;
  return (JSON.parse(body) as { result?: { content?: { text?: string }[] } }).result?.content?.[0]?.text ?? body;
}

async function until(what: string, done: () => Promise<boolean>): Promise<void> {
  for (let i = 0; i < 300; i++) {
    if (await done()) return;
    await new Promise((r) => setTimeout(r, 100));
  }
  assert.fail(`still not the case after 30 s: ${what}`);
}

const REFUSED = /^HTTP 503 .*The gateway cannot serve calls right now: the configuration store \(PostgreSQL\) is unreachable, so this replica cannot be sure its grants and policies are current \(fail closed\)/;

async function recovers(): Promise<void> {
  await until("the admin API answers again", async () => (await admin("GET", "/v1/servers")).status === 200);
  await until("calls pass again", async () => (await call()) === "ok");
  assert.equal((await admin("PUT", "/v1/policies/open", { document: { version: "1", default: "allow" } })).status, 200);
}

function assertUnavailable(answer: { status: number; body: Record<string, unknown> }, cause: RegExp): void {
  assert.equal(answer.status, 503, JSON.stringify(answer.body));
  assert.equal(answer.body.code, "unavailable");
  assert.match(String(answer.body.detail), new RegExp(`^The store \\(PostgreSQL\\) cannot be used right now: ${cause.source}$`));
}

test("PostgreSQL stopped: the admin API answers 503 with the cause, calls get 503; both recover when it returns", async () => {
  assert.equal(await call(), "ok");
  await postgres.pause();
  try {
    // A pooled connection may learn of the shutdown first; after that, connecting is refused.
    await until("a read is refused with ECONNREFUSED", async () => {
      const read = await admin("GET", "/v1/servers");
      assertUnavailable(read, /(terminating connection due to administrator command \(57P01\)|Connection terminated unexpectedly \(connection lost\)|connect ECONNREFUSED 127\.0\.0\.1:\d+ \(ECONNREFUSED\))/);
      return /ECONNREFUSED/.test(String(read.body.detail));
    });
    assertUnavailable(await admin("PUT", "/v1/policies/open", { document: { version: "1", default: "deny" } }), /connect ECONNREFUSED 127\.0\.0\.1:\d+ \(ECONNREFUSED\)/);
    await until("calls are refused", async () => REFUSED.test(await call()));
    const ready = await fetch(`${gw.adminUrl}/readyz`);
    assert.equal(ready.status, 503);
  } finally {
    await postgres.resume();
  }
  await recovers();
});

test("PostgreSQL frozen: the admin API answers 503 with the timeout, not 500; calls get 503; both recover when it thaws", async () => {
  assert.equal(await call(), "ok");
  postgres.freeze();
  try {
    assertUnavailable(await admin("GET", "/v1/servers"), /(Query read timeout|timeout exceeded when trying to connect|Connection terminated due to connection timeout) \(connection lost\)/);
    await until("calls are refused", async () => REFUSED.test(await call()));
  } finally {
    postgres.thaw();
  }
  await recovers();
});
