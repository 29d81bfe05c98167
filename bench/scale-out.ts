// `npm run bench:scale` (and a section of `npm run bench`): throughput of three replicas sharing PostgreSQL and
// Redis against one replica on SQLite, every call taking a limit slot; and what one Redis reserve + rollback
// costs per call, next to SQLite and PostgreSQL counters.
import { mkdtempSync } from "node:fs";
import os from "node:os";
import { join } from "node:path";
import { performance } from "node:perf_hooks";
import { randomBytes } from "node:crypto";
import pino from "pino";
import type { Reservation } from "../sdk/index.ts";
import type { CounterStore } from "../gateway/contracts.ts";
import { createPgCounterStore } from "../gateway/store/pg-counters.ts";
import { openPostgres } from "../gateway/store/postgres.ts";
import { openRedisCounters } from "../gateway/store/redis-counters.ts";
import { createSqliteCounterStore } from "../gateway/store/sqlite-counters.ts";
import { openDatabase } from "../gateway/store/sqlite.ts";
import { startGateway, type TestGateway } from "../tests/helpers/gateway.ts";
import { startPostgres } from "../tests/helpers/postgres.ts";
import { startRedis } from "../tests/helpers/redis.ts";
import type { Target } from "./lib/load.ts";
import { fmt, loadTable, measure, type Row } from "./lib/measure.ts";
import { startUpstream } from "./lib/processes.ts";

const SCENARIO = "echo, one limit per call";
const CONCURRENCY = [1, 16, 64];
/** Every call reserves one slot of a counter that never fills. */
const LIMITED = { version: "1", default: "deny", tools: { echo: { limits: [{ counter: "calls", window: "day", max: 1_000_000_000, scope: "grant" }] } } };

export interface ReserveCost {
  store: string;
  p50Us: number;
  p99Us: number;
}

export interface ScaleOutResult {
  rows: Row[];
  reserve: ReserveCost[];
}

async function configure(admin: TestGateway["admin"], echoUrl: string): Promise<string> {
  await admin.put("servers", "echo", { transport: { type: "streamable-http", url: echoUrl } });
  await admin.put("policies", "limited", { document: LIMITED });
  return (await admin.put<{ token: string }>("grants", "bench-limited", { server: "echo", policy: "limited" })).value.token;
}

/** Sequential reserve + release of one counter, after a warm-up: the store's cost per limited call. */
async function reserveCost(store: string, counters: CounterStore, iterations = 3000): Promise<ReserveCost> {
  const slot: Reservation = { key: `bench:${randomBytes(4).toString("hex")}`, counter: "calls", max: 1_000_000_000, window: "day", scope: "grant", windowStart: 0, resetAt: Date.now() + 86_400_000, rule: "/tools/echo/limits/calls" };
  const times: number[] = [];
  for (let i = 0; i < iterations + 500; i++) {
    const t0 = performance.now();
    const r = await counters.reserve([slot]);
    if (!r.ok) throw new Error(`${store}: reserve failed: ${JSON.stringify(r)}`);
    await counters.release([slot]);
    if (i >= 500) times.push((performance.now() - t0) * 1000);
  }
  times.sort((a, b) => a - b);
  return { store, p50Us: times[Math.floor(times.length / 2)]!, p99Us: times[Math.floor(times.length * 0.99)]! };
}

export async function runScaleOutBench(echoUrl: string): Promise<ScaleOutResult> {
  const [postgres, redis] = await Promise.all([startPostgres(), startRedis()]);
  const gateways: TestGateway[] = [];
  const rows: Row[] = [];
  const reserve: ReserveCost[] = [];
  const log = pino({ level: "silent" });
  try {
    const adminToken = "tga_bench_" + randomBytes(16).toString("hex");
    const shared = { TOOLGATE_DATABASE_URL: await postgres.createDatabase(), TOOLGATE_REDIS_URL: redis.url, TOOLGATE_SECRET_KEY: randomBytes(32).toString("base64") };
    const sqlite = await startGateway();
    const redisOne = await startGateway({ env: { TOOLGATE_REDIS_URL: redis.url } });
    const replicas = await Promise.all([0, 1, 2].map(() => startGateway({ adminToken, env: shared })));
    gateways.push(sqlite, redisOne, ...replicas);
    const target = (gw: TestGateway, token: string): Target => ({ url: `${gw.proxyUrl}/mcp/echo`, token });
    const one = target(sqlite, await configure(sqlite.admin, echoUrl));
    const oneRedis = target(redisOne, await configure(redisOne.admin, echoUrl));
    const replicaToken = await configure(replicas[0]!.admin, echoUrl);
    const three = replicas.map((r) => target(r, replicaToken));

    for (const c of CONCURRENCY) {
      rows.push(await measure(SCENARIO, "direct", { url: echoUrl }, { concurrency: c }));
      rows.push(await measure(SCENARIO, "1 replica, SQLite counters", one, { concurrency: c }));
      rows.push(await measure(SCENARIO, "1 replica, Redis counters", oneRedis, { concurrency: c }));
      rows.push(await measure(SCENARIO, "3 replicas, PostgreSQL + Redis counters", three, { concurrency: c }));
    }

    const redisCounters = await openRedisCounters(redis.url, log);
    const pg = await openPostgres(await postgres.createDatabase(), log);
    try {
      reserve.push(await reserveCost("SQLite (in process)", createSqliteCounterStore(openDatabase(join(mkdtempSync(join(os.tmpdir(), "toolgate-bench-")), "c.db")))));
      reserve.push(await reserveCost("Redis (Lua reserve + release)", redisCounters));
      reserve.push(await reserveCost("PostgreSQL (no Redis)", createPgCounterStore(pg)));
    } finally {
      await redisCounters.close();
      await pg.close();
    }
  } finally {
    await Promise.all(gateways.map((g) => g.stop()));
    await redis.stop();
    await postgres.stop();
  }
  return { rows, reserve };
}

export function formatScaleOut(result: ScaleOutResult): string {
  const at = (target: string, c: number) => result.rows.find((r) => r.target === target && r.concurrency === c)?.result;
  const ratio = (c: number) => {
    const three = at("3 replicas, PostgreSQL + Redis counters", c);
    const one = at("1 replica, SQLite counters", c);
    return three && one ? `${((100 * three.callsPerSec) / one.callsPerSec).toFixed(0)}%` : "–";
  };
  return [
    loadTable(result.rows),
    "",
    `Three replicas vs one SQLite replica, calls/s: ${CONCURRENCY.map((c) => `c=${c} ${ratio(c)}`).join(", ")}. Sessions are spread over the replicas by the load generator (as a round-robin balancer would, without its cost); all processes share this machine's cores.`,
    "",
    "| counter store | reserve + rollback p50 µs | p99 µs |",
    "|---|---|---|",
    ...result.reserve.map((r) => `| ${r.store} | ${fmt(r.p50Us, 0)} | ${fmt(r.p99Us, 0)} |`),
  ].join("\n");
}

if (import.meta.url === `file://${process.argv[1]}`) {
  const echo = await startUpstream("echo");
  try {
    process.stdout.write(formatScaleOut(await runScaleOutBench(echo.url)) + "\n");
  } finally {
    echo.child.kill();
  }
}
