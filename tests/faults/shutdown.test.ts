import { after, before, test } from "node:test";
import assert from "node:assert/strict";
import { randomBytes } from "node:crypto";
import type { Client } from "@modelcontextprotocol/sdk/client/index.js";
import { createEdgeServer } from "../fixtures/edge-server.ts";
import { serveOverHttp, type EverythingHttp } from "../fixtures/everything-http.ts";
import { startGateway, type TestGateway } from "../helpers/gateway.ts";
import { connect, text } from "../helpers/mcp-client.ts";
import { toolgate } from "../helpers/cli.ts";

/**
 * SIGTERM to a real `toolgate serve`: /readyz turns 503 at once while in-flight calls drain, the drain
 * deadline is a flag, and a second SIGTERM cuts the drain short but still writes the audit log.
 */
let upstream: EverythingHttp;
const ADMIN_TOKEN = "tga_stop_" + randomBytes(16).toString("hex");

before(async () => {
  upstream = await serveOverHttp(() => ({ server: createEdgeServer() }), { jsonResponse: true });
});
after(() => upstream?.close());

async function gatewayWithClient(options: { dataDir?: string; args?: string[]; env?: NodeJS.ProcessEnv } = {}): Promise<{ gw: TestGateway; client: Client }> {
  const gw = await startGateway({ adminToken: ADMIN_TOKEN, ...options });
  await gw.admin.put("servers", "edge", { transport: { type: "streamable-http", url: upstream.url }, timeoutMs: 120_000 });
  await gw.admin.put("policies", "open", { document: { version: "1", default: "allow" } });
  const token = (await gw.admin.put<{ token: string }>("grants", "agent", { server: "edge", policy: "open" })).value.token;
  return { gw, client: await connect(gw.proxyUrl, "edge", token) };
}

/** Starts a call and resolves once the upstream has received it (so it is in flight in the gateway). */
async function inFlight(client: Client, tool: string, args: Record<string, unknown>): Promise<{ answer: Promise<string> }> {
  const received = upstream.requests.length;
  const answer = client.callTool({ name: tool, arguments: args }).then(text, (error: Error) => `error: ${error.message}`);
  while (upstream.requests.length === received) await new Promise((r) => setTimeout(r, 10));
  return { answer };
}

async function readyz(gw: TestGateway): Promise<{ status: number; body: unknown }> {
  const res = await fetch(`${gw.adminUrl}/readyz`);
  return { status: res.status, body: await res.json() };
}

/** The exit code, failing the test (instead of hanging it) if the gateway has not exited after 30 s. */
async function exited(gw: TestGateway): Promise<number | null> {
  let timer: NodeJS.Timeout | undefined;
  const code = await Promise.race([
    new Promise<number | null>((resolve) => (gw.child.exitCode !== null || gw.child.signalCode !== null ? resolve(gw.child.exitCode) : gw.child.once("exit", resolve))),
    new Promise<"hung">((resolve) => (timer = setTimeout(() => resolve("hung"), 30_000))),
  ]);
  clearTimeout(timer);
  assert.notEqual(code, "hung", `the gateway did not exit:\n${gw.logs()}`);
  return code as number | null;
}

test("SIGTERM: /readyz answers 503 at once while an in-flight call drains; the call completes and the gateway exits 0", async () => {
  const { gw, client } = await gatewayWithClient();
  assert.equal((await readyz(gw)).status, 200);
  let done = false;
  const answer = (await inFlight(client, "slow", { ms: 3000 })).answer.finally(() => (done = true));
  gw.child.kill("SIGTERM");
  let ready = await readyz(gw);
  while (ready.status === 200 && !done) ready = await readyz(gw);
  assert.equal(done, false, "/readyz turned 503 before the in-flight call finished");
  assert.deepEqual(ready, { status: 503, body: { status: "not ready", reason: "the gateway is shutting down" } });
  assert.equal(await answer, "slept 3000");
  assert.equal(await exited(gw), 0);
});

test("--drain-timeout: a call still running at the deadline is cut off and the gateway exits 0", async () => {
  const { gw, client } = await gatewayWithClient({ args: ["--drain-timeout", "1s"] });
  const { answer } = await inFlight(client, "hang", {});
  gw.child.kill("SIGTERM");
  assert.equal(await exited(gw), 0);
  assert.notEqual(await answer, "", "the cut-off call got an answer or an error, not silence");
  assert.match(gw.logs(), /"drainTimeoutMs":1000,"msg":"shutting down: no new calls; draining in-flight calls \(a second signal cuts them off\)"/);
});

test("a second SIGTERM cuts the drain short and the audit log is still written", async () => {
  const { gw, client } = await gatewayWithClient({ env: { TOOLGATE_DRAIN_TIMEOUT: "10m" } });
  const { answer } = await inFlight(client, "hang", {});
  gw.child.kill("SIGTERM");
  while ((await readyz(gw)).status === 200) await new Promise((r) => setTimeout(r, 10));
  gw.child.kill("SIGTERM");
  assert.equal(await exited(gw), 0);
  await answer;
  assert.match(gw.logs(), /"msg":"second signal: cutting off in-flight calls; the audit log is still written \(a third signal exits at once\)"/);

  const again = await startGateway({ dataDir: gw.dataDir, adminToken: ADMIN_TOKEN });
  try {
    const audit = await again.admin.getJson<{ items: { tool: string; decision: string }[] }>("/v1/audit", { tool: "hang" });
    assert.deepEqual(audit.items.map((i) => [i.tool, i.decision]), [["hang", "allow"]]);
  } finally {
    await again.stop();
  }
});

test("a --drain-timeout that is not a duration is refused with one line naming the flag", async () => {
  const r = await toolgate(["serve", "--drain-timeout", "soon", "--listen", "127.0.0.1:0", "--admin-listen", "127.0.0.1:0"]);
  assert.equal(r.stderr, 'toolgate serve: invalid configuration:\n  --drain-timeout must be a duration like "10s" or "2m", or 0 to cut calls off at once, got "soon"\n');
  assert.equal(r.code, 1);
});
