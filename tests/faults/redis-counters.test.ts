import { after, before, test, type TestContext } from "node:test";
import assert from "node:assert/strict";
import type { Client } from "@modelcontextprotocol/sdk/client/index.js";
import { createEdgeServer } from "../fixtures/edge-server.ts";
import { serveOverHttp, type EverythingHttp } from "../fixtures/everything-http.ts";
import { startGateway, type TestGateway } from "../helpers/gateway.ts";
import { connect, text } from "../helpers/mcp-client.ts";
import { startRedis, type TestRedis } from "../helpers/redis.ts";

/**
 * Limit counters in a real Redis that is restarted empty or frozen (SIGSTOP) under a real `toolgate serve`:
 * no window ever admits more than its max. A loss closes every window open at the time, so each test has a
 * Redis and a gateway of its own.
 */
let upstream: EverythingHttp;

before(async () => {
  upstream = await serveOverHttp(() => ({ server: createEdgeServer() }), { jsonResponse: true, recordRequests: false });
});
after(() => upstream?.close());

interface Setup {
  redis: TestRedis;
  gw: TestGateway;
  /** A client of a grant of its own whose policy allows `tool` (default `ok`) at most `max` times per `window`. */
  client: Client;
}

async function setup(t: TestContext, max: number, window: string, tool = "ok", server: EverythingHttp = upstream): Promise<Setup> {
  const cleanups: (() => Promise<unknown>)[] = [];
  t.after(async () => {
    for (const cleanup of cleanups.reverse()) await cleanup();
  });
  const redis = await startRedis();
  cleanups.push(() => redis.stop());
  const gw = await startGateway({ env: { TOOLGATE_REDIS_URL: redis.url } });
  cleanups.push(() => gw.stop());
  await gw.admin.put("servers", "edge", { transport: { type: "streamable-http", url: server.url } });
  await gw.admin.put("policies", "limited", { document: { version: "1", default: "deny", tools: { [tool]: { limits: [{ counter: tool, window, max }] } } } });
  const token = (await gw.admin.put<{ token: string }>("grants", "agent", { server: "edge", policy: "limited" })).value.token;
  const client = await connect(gw.proxyUrl, "edge", token);
  cleanups.push(() => client.close());
  return { redis, gw, client };
}

async function calls(client: Client, n: number): Promise<string[]> {
  const out: string[] = [];
  for (let i = 0; i < n; i++) out.push(text(await client.callTool({ name: "ok", arguments: {} })));
  return out;
}

const tally = (answers: string[]) => ({
  allowed: answers.filter((a) => a === "ok").length,
  limited: answers.filter((a) => a.startsWith("[POLICY DENIED] Rate limit reached")).length,
  other: answers.filter((a) => a !== "ok" && !a.startsWith("[POLICY DENIED] Rate limit reached")),
});

async function readyAgain(gw: TestGateway): Promise<void> {
  for (let i = 0; i < 150 && (await fetch(`${gw.adminUrl}/readyz`)).status !== 200; i++) await new Promise((r) => setTimeout(r, 100));
  assert.equal((await fetch(`${gw.adminUrl}/readyz`)).status, 200, "ready again once Redis answers");
}

test("Redis killed (SIGKILL) and started again from its append-only file: the counts are kept and the window stays exact", async (t) => {
  const { redis, gw, client } = await setup(t, 5, "hour");
  assert.deepEqual(tally(await calls(client, 3)), { allowed: 3, limited: 0, other: [] });
  await redis.crash();
  await redis.resume();
  await readyAgain(gw);
  assert.deepEqual(tally(await calls(client, 3)), { allowed: 2, limited: 1, other: [] });
});

test("Redis restarted empty: a window open before the loss admits nothing more until it ends (never a second max)", async (t) => {
  const { redis, gw, client } = await setup(t, 20, "hour");
  assert.deepEqual(tally(await calls(client, 21)), { allowed: 20, limited: 1, other: [] });
  await redis.restartEmpty();
  await readyAgain(gw);
  const afterLoss = await calls(client, 20);
  const resetAt = new Date(Math.ceil((Date.now() + 1) / 3_600_000) * 3_600_000).toISOString();
  assert.equal(afterLoss.filter((a) => a === "ok").length, 0, `admitted after the loss: ${JSON.stringify(afterLoss)}`);
  for (const answer of afterLoss) {
    assert.match(
      answer,
      new RegExp(`^\\[POLICY DENIED\\] Limits cannot be checked right now \\(the counts of counter "ok" were lost with Redis's data at \\d{4}-\\d\\d-\\d\\dT[\\d:.]+Z \\(it restarted empty or was flushed\\), so its window stays closed until it resets at ${resetAt.replaceAll(".", "\\.")}\\), so the call was denied \\(fail closed\\)\\.$`),
    );
  }
});

test("Redis restarted empty: a window that begins after the loss admits calls again", async (t) => {
  const { redis, gw, client } = await setup(t, 1000, "2s");
  assert.equal((await calls(client, 1))[0], "ok");
  await redis.restartEmpty();
  await readyAgain(gw);
  let answer = (await calls(client, 1))[0]!;
  for (let i = 0; i < 100 && answer !== "ok"; i++) {
    assert.match(answer, /were lost with Redis's data/);
    await new Promise((r) => setTimeout(r, 100));
    answer = (await calls(client, 1))[0]!;
  }
  assert.equal(answer, "ok");
});

test("Redis frozen: calls denied on a timeout spend no slots when Redis resumes and runs what was queued", async (t) => {
  const { redis, gw, client } = await setup(t, 10, "hour");
  redis.freeze();
  let denied: string[];
  try {
    denied = await Promise.all(Array.from({ length: 6 }, () => client.callTool({ name: "ok", arguments: {} }).then(text)));
  } finally {
    redis.thaw();
  }
  for (const answer of denied) assert.equal(answer, "[POLICY DENIED] Limits cannot be checked right now (Redis is unreachable (Command timed out)), so the call was denied (fail closed).");
  await readyAgain(gw);
  assert.deepEqual(tally(await calls(client, 15)), { allowed: 10, limited: 5, other: [] });
});

for (const jsonResponse of [true, false]) {
  test(`Redis frozen while a failed call gives its slot back: the agent's answer (${jsonResponse ? "JSON" : "event stream"}) waits for it, so a retry at once is admitted`, async (t) => {
    let started = 0;
    const failing = await serveOverHttp(() => ({ server: createEdgeServer({ failStarted: () => started++ }) }), { jsonResponse });
    t.after(() => failing.close());
    const { redis, client } = await setup(t, 1, "hour", "fail", failing);
    let answered = false;
    const answer = client.callTool({ name: "fail", arguments: { ms: 300 } }).then((r) => ((answered = true), text(r)));
    // The call reached the upstream, so its slot is taken; the give-back after its failure finds Redis frozen.
    for (let i = 0; i < 1000 && started === 0; i++) await new Promise((r) => setTimeout(r, 5));
    redis.freeze();
    try {
      await new Promise((r) => setTimeout(r, 600));
      assert.equal(answered, false, "the failed call's answer reached the agent before its slot was given back");
    } finally {
      redis.thaw();
    }
    assert.equal(await answer, "upstream says no");
    assert.equal(text(await client.callTool({ name: "fail", arguments: {} })), "upstream says no", "the retry at once was admitted");
  });
}
