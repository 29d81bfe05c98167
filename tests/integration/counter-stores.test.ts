import { after, before, describe, test } from "node:test";
import assert from "node:assert/strict";
import { mkdtempSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import pino from "pino";
import type { Reservation } from "../../sdk/index.ts";
import type { CounterStore } from "../../gateway/contracts.ts";
import { openPostgres, type Postgres } from "../../gateway/store/postgres.ts";
import { createPgCounterStore } from "../../gateway/store/pg-counters.ts";
import { openRedisCounters, type RedisCounters } from "../../gateway/store/redis-counters.ts";
import { createSqliteCounterStore } from "../../gateway/store/sqlite-counters.ts";
import { openDatabase } from "../../gateway/store/sqlite.ts";
import { startPostgres, type TestPostgres } from "../helpers/postgres.ts";
import { startRedis, type TestRedis } from "../helpers/redis.ts";

/** The counter contract every backend keeps: exact under concurrency, all-or-nothing, released on rollback. */
const log = pino({ level: "silent" });
let postgres: TestPostgres;
let redis: TestRedis;
let pgDb: Postgres;
let redisCounters: RedisCounters;
before(async () => {
  [postgres, redis] = await Promise.all([startPostgres(), startRedis()]);
  pgDb = await openPostgres(await postgres.createDatabase(), log);
  redisCounters = await openRedisCounters(redis.url, log);
});
after(async () => {
  await redisCounters?.close();
  await pgDb?.close();
  await postgres?.stop();
  await redis?.stop();
});

let n = 0;
function slot(max: number, counter = "c"): Reservation {
  return { key: `test:${n}:${counter}`, counter, max, window: "hour", scope: "global", windowStart: 0, resetAt: Date.now() + 3_600_000, rule: `/tools/t/limits/${counter}` };
}

const backends: [string, () => CounterStore][] = [
  ["SQLite", () => createSqliteCounterStore(openDatabase(join(mkdtempSync(join(tmpdir(), "toolgate-counters-")), "t.db")))],
  ["PostgreSQL", () => createPgCounterStore(pgDb)],
  ["Redis", () => redisCounters],
];

for (const [name, open] of backends) {
  describe(`${name} counters`, () => {
    test("300 concurrent reservations against max 100 admit exactly 100", async () => {
      n++;
      const store = open();
      const results = await Promise.all(Array.from({ length: 300 }, () => store.reserve([slot(100)])));
      assert.equal(results.filter((r) => r.ok).length, 100);
      const denied = results.find((r) => !r.ok);
      assert.ok(denied && "full" in denied && denied.full.counter === "c");
    });

    test("a reservation is all-or-nothing: a full counter takes nothing from the others", async () => {
      n++;
      const store = open();
      const roomy = slot(5, "roomy");
      const tight = slot(1, "tight");
      assert.deepEqual(await store.reserve([tight]), { ok: true });
      const second = await store.reserve([roomy, tight]);
      assert.ok(!second.ok && "full" in second && second.full.counter === "tight", "the full counter is named");
      for (let i = 0; i < 5; i++) assert.deepEqual(await store.reserve([roomy]), { ok: true }, `roomy slot ${i + 1} of 5 was still free`);
      assert.ok(!(await store.reserve([roomy])).ok);
    });

    test("release gives a slot back, never below zero", async () => {
      n++;
      const store = open();
      const s = slot(1);
      assert.ok((await store.reserve([s])).ok);
      assert.ok(!(await store.reserve([s])).ok);
      await store.release([s]);
      await store.release([s]);
      assert.ok((await store.reserve([s])).ok);
      assert.ok(!(await store.reserve([s])).ok, "the double release did not make room for two");
    });
  });
}

test("Redis unreachable: reserve says so at once (fail closed) and works again when Redis returns; a window open before it came back empty stays closed", async () => {
  n++;
  const s = slot(10);
  assert.ok((await redisCounters.reserve([s])).ok);
  await redis.pause();
  const started = Date.now();
  const down = await redisCounters.reserve([s]);
  assert.ok(!down.ok && "unavailable" in down && /Redis is unreachable/.test(down.unavailable), JSON.stringify(down));
  assert.ok(Date.now() - started < 2_000, "the call did not wait for a reconnect");
  assert.match((await redisCounters.problem()) ?? "", /Redis is unreachable/);
  await redis.restartEmpty();
  const deadline = Date.now() + 10_000;
  while ((await redisCounters.problem()) !== undefined && Date.now() < deadline) await new Promise((r) => setTimeout(r, 100));
  assert.equal(await redisCounters.problem(), undefined, "reconnected by itself");
  const lost = await redisCounters.reserve([s]);
  assert.ok(!lost.ok && "stateLost" in lost && lost.stateLost === true, JSON.stringify(lost));
  assert.ok((await redisCounters.reserve([{ ...slot(10), windowStart: Date.now() }])).ok, "a window that began after the loss counts afresh");
});

test("Redis restarted with its append-only file: counts are kept and the window stays open", async () => {
  n++;
  const s = { ...slot(2), windowStart: Date.now() };
  assert.ok((await redisCounters.reserve([s])).ok);
  await redis.pause();
  await redis.resume();
  const deadline = Date.now() + 10_000;
  while ((await redisCounters.problem()) !== undefined && Date.now() < deadline) await new Promise((r) => setTimeout(r, 100));
  assert.deepEqual(await redisCounters.reserve([s]), { ok: true }, "the second of two slots");
  const third = await redisCounters.reserve([s]);
  assert.ok(!third.ok && "full" in third, JSON.stringify(third));
});
