// `node bench/faults.ts` (after `npm run build`): how soon a real `toolgate serve` notices a fault and how soon it
// serves again, against real PostgreSQL and Redis processes; docs/operations.md quotes these windows.
// RUNS (default 5) repeats each fault. Times are from the fault (the signal sent, the stop finished) to the
// first answer that shows it, polled every 20 ms.
import { randomBytes } from "node:crypto";
import { performance } from "node:perf_hooks";
import type { StreamableHTTPClientTransport } from "@modelcontextprotocol/sdk/client/streamableHttp.js";
import { createEdgeServer } from "../tests/fixtures/edge-server.ts";
import { serveOverHttp } from "../tests/fixtures/everything-http.ts";
import { startGateway, type TestGateway } from "../tests/helpers/gateway.ts";
import { connect } from "../tests/helpers/mcp-client.ts";
import { startPostgres } from "../tests/helpers/postgres.ts";
import { startRedis } from "../tests/helpers/redis.ts";

const RUNS = Number(process.env.RUNS ?? 5);
const POLL_MS = 20;
const ADMIN_TOKEN = "tga_bench_" + randomBytes(16).toString("hex");

interface Caller {
  gw: TestGateway;
  /** One tools/call (default: `ok`): the tool's text, a denial text, or "HTTP <status>". */
  call(tool?: string, args?: Record<string, unknown>): Promise<string>;
}

async function caller(gw: TestGateway, upstreamUrl: string, policy: Record<string, unknown>): Promise<Caller> {
  await gw.admin.put("servers", "edge", { transport: { type: "streamable-http", url: upstreamUrl } });
  await gw.admin.put("policies", "p", { document: policy });
  const token = (await gw.admin.put<{ token: string }>("grants", "g", { server: "edge", policy: "p" })).value.token;
  const client = await connect(gw.proxyUrl, "edge", token);
  const session = (client.transport as StreamableHTTPClientTransport).sessionId!;
  return {
    gw,
    async call(tool = "ok", args = {}) {
      const res = await fetch(`${gw.proxyUrl}/mcp/edge`, {
        method: "POST",
        headers: { authorization: `Bearer ${token}`, "content-type": "application/json", accept: "application/json, text/event-stream", "mcp-session-id": session, "mcp-protocol-version": "2025-06-18" },
        body: JSON.stringify({ jsonrpc: "2.0", id: 1, method: "tools/call", params: { name: tool, arguments: args } }),
      });
      const body = await res.text();
      if (res.status !== 200) return `HTTP ${res.status}`;
      return (JSON.parse(body) as { result?: { content?: { text?: string }[] } }).result?.content?.[0]?.text ?? body;
    },
  };
}

/** Milliseconds from `since` until `done()` holds (polled). */
async function until(since: number, done: () => Promise<boolean>): Promise<number> {
  for (;;) {
    if (await done()) return performance.now() - since;
    if (performance.now() - since > 120_000) throw new Error("still not the case after 120 s");
    await new Promise((r) => setTimeout(r, POLL_MS));
  }
}

const results: { what: string; ms: number[] }[] = [];
function record(what: string, ms: number): void {
  let row = results.find((r) => r.what === what);
  if (!row) results.push((row = { what, ms: [] }));
  row.ms.push(ms);
}

async function postgresFaults(upstreamUrl: string): Promise<void> {
  const postgres = await startPostgres();
  const gw = await startGateway({ adminToken: ADMIN_TOKEN, env: { TOOLGATE_DATABASE_URL: await postgres.createDatabase(), TOOLGATE_SECRET_KEY: randomBytes(32).toString("base64") } });
  try {
    const { call } = await caller(gw, upstreamUrl, { version: "1", default: "allow" });
    const adminRead = async () => (await fetch(`${gw.adminUrl}/v1/servers`, { headers: { authorization: `Bearer ${ADMIN_TOKEN}` } })).status;
    for (let i = 0; i < RUNS; i++) {
      let t0 = performance.now();
      postgres.freeze();
      const admin503 = until(t0, async () => (await adminRead()) === 503);
      record("PostgreSQL frozen (SIGSTOP): calls refused (503)", await until(t0, async () => (await call()) === "HTTP 503"));
      record("PostgreSQL frozen (SIGSTOP): admin API answers 503", await admin503);
      t0 = performance.now();
      postgres.thaw();
      record("PostgreSQL thawed: calls served again", await until(t0, async () => (await call()) === "ok"));

      await postgres.pause();
      t0 = performance.now();
      record("PostgreSQL stopped (after pg_ctl stop returned): calls refused (503)", await until(t0, async () => (await call()) === "HTTP 503"));
      await postgres.resume();
      t0 = performance.now();
      record("PostgreSQL started again (after pg_ctl start returned): calls served again", await until(t0, async () => (await call()) === "ok"));
      await until(performance.now(), async () => (await adminRead()) === 200);
    }
  } finally {
    postgres.thaw();
    await gw.stop();
    await postgres.stop();
  }
}

async function redisFaults(upstreamUrl: string): Promise<void> {
  const redis = await startRedis();
  const gw = await startGateway({ adminToken: ADMIN_TOKEN, env: { TOOLGATE_REDIS_URL: redis.url } });
  try {
    const { call } = await caller(gw, upstreamUrl, { version: "1", default: "deny", tools: { ok: { limits: [{ counter: "ok", window: "2s", max: 1_000_000 }] } } });
    const ready = async () => (await fetch(`${gw.adminUrl}/readyz`)).status === 200;
    for (let i = 0; i < RUNS; i++) {
      let t0 = performance.now();
      redis.freeze();
      const denied = await call();
      record("Redis frozen (SIGSTOP): a call with a limit is denied (fail closed)", performance.now() - t0);
      if (!denied.startsWith("[POLICY DENIED] Limits cannot be checked")) throw new Error(`unexpected answer while Redis is frozen: ${denied}`);
      t0 = performance.now();
      redis.thaw();
      record("Redis thawed: calls with limits served again", await until(t0, async () => (await call()) === "ok"));

      await redis.restartEmpty();
      t0 = performance.now();
      record("Redis restarted empty (after it accepts connections): /readyz 200 again", await until(t0, ready));
      const lost = await call();
      if (!/were lost with Redis's data/.test(lost)) throw new Error(`expected the open window to stay closed, got: ${lost}`);
      t0 = performance.now();
      record("Redis restarted empty: a 2 s window open at the loss stays closed, the next admits (from the first denial)", await until(t0, async () => (await call()) === "ok"));
    }
  } finally {
    redis.thaw();
    await gw.stop();
    await redis.stop();
  }
}

async function sigterm(upstreamUrl: string): Promise<void> {
  for (let i = 0; i < RUNS; i++) {
    const gw = await startGateway({ adminToken: ADMIN_TOKEN });
    const { call } = await caller(gw, upstreamUrl, { version: "1", default: "allow" });
    // A call in flight keeps the gateway draining (and its admin listener up) while /readyz is polled.
    const slow = call("slow", { ms: 3000 });
    await new Promise((r) => setTimeout(r, 200));
    const t0 = performance.now();
    gw.child.kill("SIGTERM");
    record("SIGTERM: /readyz answers 503", await until(t0, async () => (await fetch(`${gw.adminUrl}/readyz`).catch(() => ({ status: 0 }))).status === 503));
    await slow;
    await gw.stop();
  }
}

const upstream = await serveOverHttp(() => ({ server: createEdgeServer() }), { jsonResponse: true, recordRequests: false });
try {
  await postgresFaults(upstream.url);
  await redisFaults(upstream.url);
  await sigterm(upstream.url);
} finally {
  await upstream.close();
}

const fmtMs = (ms: number) => (ms >= 1000 ? `${(ms / 1000).toFixed(2)} s` : `${Math.round(ms)} ms`);
console.log(`| fault | runs | min | median | max |\n|---|---|---|---|---|`);
for (const { what, ms } of results) {
  const sorted = [...ms].sort((a, b) => a - b);
  console.log(`| ${what} | ${ms.length} | ${fmtMs(sorted[0]!)} | ${fmtMs(sorted[Math.floor(sorted.length / 2)]!)} | ${fmtMs(sorted.at(-1)!)} |`);
}
