import { Redis } from "ioredis";
import type { Logger } from "pino";
import type { CounterStore, ReserveResult } from "../contracts.ts";

/**
 * Takes one slot of every counter or none: reads all, and only if each is below its max, increments all
 * and sets each key to expire when its window ends. ARGV: the maxes, then the expiry times (epoch ms).
 * Returns 0, or the 1-based index of the first full counter.
 */
const RESERVE = `
local n = #KEYS
for i = 1, n do
  local v = tonumber(redis.call('GET', KEYS[i]) or '0')
  if v + 1 > tonumber(ARGV[i]) then return i end
end
for i = 1, n do
  redis.call('INCR', KEYS[i])
  redis.call('PEXPIREAT', KEYS[i], ARGV[n + i])
end
return 0`;

/** Gives back one slot of each counter (never below zero; an expired counter stays gone). */
const RELEASE = `
for i = 1, #KEYS do
  local v = tonumber(redis.call('GET', KEYS[i]) or '0')
  if v > 0 then redis.call('DECR', KEYS[i]) end
end
return 0`;

const PREFIX = "toolgate:counter:";

export interface RedisCounters extends CounterStore {
  /** Undefined when Redis answers, else why not. */
  problem(): Promise<string | undefined>;
  close(): Promise<void>;
}

type ScriptedRedis = Redis & {
  toolgateReserve(numKeys: number, ...keysAndArgs: (string | number)[]): Promise<number>;
  toolgateRelease(numKeys: number, ...keys: string[]): Promise<number>;
};

/**
 * Limit counters in Redis, shared by every replica. A command never waits for a reconnect (no offline
 * queue, one-second timeout): while Redis is away, reserve reports it unavailable at once and the call
 * is denied (fail closed); ioredis keeps reconnecting in the background and service resumes by itself.
 */
export async function openRedisCounters(url: string, log: Logger): Promise<RedisCounters> {
  const redis = new Redis(url, {
    enableOfflineQueue: false,
    maxRetriesPerRequest: 0,
    connectTimeout: 2_000,
    commandTimeout: 1_000,
    retryStrategy: (attempt) => Math.min(attempt * 100, 1_000),
    lazyConnect: true,
  }) as ScriptedRedis;
  redis.defineCommand("toolgateReserve", { lua: RESERVE });
  redis.defineCommand("toolgateRelease", { lua: RELEASE });
  let down = false;
  redis.on("error", (err: Error) => {
    if (!down) log.warn({ err: { message: err.message } }, "Redis is unreachable; calls with limits are denied until it returns");
    down = true;
  });
  redis.on("ready", () => {
    if (down) log.info("Redis is reachable again");
    down = false;
  });
  try {
    await redis.connect();
  } catch {
    // Not fatal: the gateway starts not ready and reconnects in the background.
  }

  return {
    async reserve(reservations): Promise<ReserveResult> {
      if (reservations.length === 0) return { ok: true };
      try {
        const keys = reservations.map((r) => PREFIX + r.key);
        const full = await redis.toolgateReserve(keys.length, ...keys, ...reservations.map((r) => r.max), ...reservations.map((r) => r.resetAt));
        return full === 0 ? { ok: true } : { ok: false, full: reservations[full - 1]! };
      } catch (error) {
        return { ok: false, unavailable: `Redis is unreachable (${(error as Error).message})` };
      }
    },
    async release(reservations) {
      if (reservations.length === 0) return;
      await redis.toolgateRelease(reservations.length, ...reservations.map((r) => PREFIX + r.key));
    },
    async problem() {
      try {
        await redis.ping();
        return undefined;
      } catch (error) {
        return `Redis is unreachable (${(error as Error).message})`;
      }
    },
    async close() {
      redis.disconnect();
    },
  };
}
