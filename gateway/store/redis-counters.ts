import { randomBytes } from "node:crypto";
import { Redis } from "ioredis";
import type { Logger } from "pino";
import type { Reservation } from "../../sdk/index.ts";
import type { CounterStore, ReserveResult } from "../contracts.ts";

/**
 * Takes one slot of every counter or none. KEYS: the epoch, the lost-at time, this reservation's marker,
 * its tombstone, then the counters. ARGV: the epoch the caller knows, the marker's lifetime (ms), then the
 * maxes, the expiry times and the window starts (epoch ms) of the counters.
 *
 * Returns {0} (taken), {1, i} (counter i is full), {2, epoch} (the caller's epoch is not Redis's: re-sync),
 * {3, i, lostAt} (counter i's window began before Redis lost its counts) or {4} (cancelled before it ran).
 * A reservation that runs leaves a marker, so a cancel that comes later can give its slots back.
 */
const RESERVE = `
local epoch = redis.call('GET', KEYS[1])
if epoch ~= ARGV[1] then return {2, epoch or ''} end
if redis.call('EXISTS', KEYS[4]) == 1 then return {4} end
local n = #KEYS - 4
local lost = tonumber(redis.call('GET', KEYS[2]) or '0')
for i = 1, n do
  if tonumber(ARGV[2 + 2 * n + i]) < lost then return {3, i, lost} end
end
for i = 1, n do
  local v = tonumber(redis.call('GET', KEYS[4 + i]) or '0')
  if v + 1 > tonumber(ARGV[2 + i]) then return {1, i} end
end
for i = 1, n do
  redis.call('INCR', KEYS[4 + i])
  redis.call('PEXPIREAT', KEYS[4 + i], ARGV[2 + n + i])
end
redis.call('SET', KEYS[3], '1', 'PX', ARGV[2])
return {0}`;

/**
 * Undoes a reservation the caller gave up on (it timed out): gives its slots back if it ran, or leaves a
 * tombstone so that it never runs (it may still be queued in Redis). Idempotent. KEYS: the marker, the
 * tombstone, then the counters; ARGV: when the tombstone may go (the latest window end, epoch ms).
 */
const CANCEL = `
if redis.call('DEL', KEYS[1]) == 1 then
  for i = 3, #KEYS do
    local v = tonumber(redis.call('GET', KEYS[i]) or '0')
    if v > 0 then redis.call('DECR', KEYS[i]) end
  end
  return 1
end
redis.call('SET', KEYS[2], '1')
redis.call('PEXPIREAT', KEYS[2], ARGV[1])
return 0`;

/** Gives back one slot of each counter (never below zero; an expired counter stays gone). */
const RELEASE = `
for i = 1, #KEYS do
  local v = tonumber(redis.call('GET', KEYS[i]) or '0')
  if v > 0 then redis.call('DECR', KEYS[i]) end
end
return 0`;

/**
 * Learns the epoch: the random value written when this Redis first held counters. KEYS: the epoch, the
 * lost-at time; ARGV: the epoch the caller knew ('' if none), a new epoch, the caller's clock (epoch ms).
 * A caller that knew an epoch and finds none, or another one with no loss recorded, saw Redis lose its
 * counts: the time is recorded, and windows that began before it stay closed until they end.
 */
const EPOCH = `
local epoch = redis.call('GET', KEYS[1])
if not epoch then
  redis.call('SET', KEYS[1], ARGV[2])
  epoch = ARGV[2]
  if ARGV[1] ~= '' then redis.call('SET', KEYS[2], ARGV[3]) end
elseif ARGV[1] ~= '' and epoch ~= ARGV[1] and redis.call('EXISTS', KEYS[2]) == 0 then
  redis.call('SET', KEYS[2], ARGV[3])
end
return {epoch, redis.call('GET', KEYS[2]) or ''}`;

const PREFIX = "toolgate:counter:";
const EPOCH_KEY = "toolgate:counters:epoch";
const LOST_AT_KEY = "toolgate:counters:lost-at";
const marker = (id: string) => `toolgate:reservation:${id}`;
const tombstone = (id: string) => `toolgate:cancelled:${id}`;
/** How long a reservation's marker lives: a cancel comes within seconds of Redis answering again. */
const MARKER_MS = 60_000;

export interface RedisCounters extends CounterStore {
  /** Undefined when Redis answers, else why not. */
  problem(): Promise<string | undefined>;
  close(): Promise<void>;
}

type Reply = (string | number)[];
type ScriptedRedis = Redis & {
  toolgateReserve(numKeys: number, ...keysAndArgs: (string | number)[]): Promise<Reply>;
  toolgateCancel(numKeys: number, ...keysAndArgs: (string | number)[]): Promise<number>;
  toolgateRelease(numKeys: number, ...keys: string[]): Promise<number>;
  toolgateEpoch(numKeys: number, ...keysAndArgs: (string | number)[]): Promise<[string, string]>;
};

/** A reservation that timed out: given back (or kept from running) once Redis answers again. */
interface Cancel {
  keys: string[];
  /** The latest window end: after it a late reservation takes nothing, so the cancel is moot. */
  until: number;
}

/**
 * Limit counters in Redis, shared by every replica. A command never waits for a reconnect (no offline
 * queue, one-second timeout): while Redis is away, reserve reports it unavailable at once and the call
 * is denied (fail closed); ioredis keeps reconnecting in the background and service resumes by itself.
 *
 * Two faults cannot over-admit:
 * - A reservation that timed out may still run when a frozen Redis resumes. Each has an id; the call is
 *   denied and the reservation cancelled by id, which gives its slots back if it ran and keeps it from
 *   running if it had not. Cancels go out at once (behind the reservation on the same connection), again
 *   before any reservation on a new connection, and again once Redis answers.
 * - Redis restarted empty (or flushed) has lost the counts of the windows open then. Every reservation
 *   checks the epoch this replica knows; one that finds it gone records when the loss was seen, and windows
 *   that began before that stay closed until they end (fail closed), on every replica.
 */
export async function openRedisCounters(url: string, log: Logger, clock: () => number = Date.now): Promise<RedisCounters> {
  const redis = new Redis(url, {
    enableOfflineQueue: false,
    maxRetriesPerRequest: 0,
    connectTimeout: 2_000,
    commandTimeout: 1_000,
    retryStrategy: (attempt) => Math.min(attempt * 100, 1_000),
    lazyConnect: true,
  }) as ScriptedRedis;
  redis.defineCommand("toolgateReserve", { lua: RESERVE });
  redis.defineCommand("toolgateCancel", { lua: CANCEL });
  redis.defineCommand("toolgateRelease", { lua: RELEASE });
  redis.defineCommand("toolgateEpoch", { lua: EPOCH });

  let epoch: string | undefined;
  const cancels = new Map<string, Cancel>();
  let resending: Promise<void> | undefined;

  async function learnEpoch(): Promise<string> {
    const known = epoch ?? "";
    const [now, lostAt] = await redis.toolgateEpoch(2, EPOCH_KEY, LOST_AT_KEY, known, randomBytes(12).toString("base64url"), clock());
    if (known && now !== known) {
      log.warn({ lostAt: lostAt ? new Date(Number(lostAt)).toISOString() : undefined }, "Redis lost its limit counters (restarted empty or flushed); windows that began before the loss stay closed until they end");
    }
    epoch = now;
    return now;
  }

  async function sendCancel(id: string): Promise<void> {
    const c = cancels.get(id);
    if (!c) return;
    if (c.until <= clock()) {
      cancels.delete(id);
      return;
    }
    await redis.toolgateCancel(2 + c.keys.length, marker(id), tombstone(id), ...c.keys, c.until);
    cancels.delete(id);
  }

  /** Sends every pending cancel again (idempotent). Commands on one connection run in order, so reservations sent after these never see slots a cancelled reservation holds. */
  function resendCancels(): Promise<void> {
    if (cancels.size === 0) return Promise.resolve();
    resending ??= Promise.allSettled([...cancels.keys()].map(sendCancel)).then(() => {
      resending = undefined;
    });
    return resending;
  }

  let down = false;
  redis.on("error", (err: Error) => {
    if (!down) log.warn({ err: { message: err.message } }, "Redis is unreachable; calls with limits are denied until it returns");
    down = true;
  });
  redis.on("ready", () => {
    if (down) log.info("Redis is reachable again");
    down = false;
    // A new connection: what was queued on the old one may or may not have run.
    void resendCancels();
    void learnEpoch().catch(() => {});
  });
  // Cancels that timed out on a connection that stayed up are retried once Redis answers again.
  const retry = setInterval(() => {
    if (cancels.size > 0) void redis.ping().then(resendCancels, () => {});
  }, 2_000);
  retry.unref();

  try {
    await redis.connect();
  } catch {
    // Not fatal: the gateway starts not ready and reconnects in the background.
  }

  async function reserveOnce(id: string, reservations: readonly Reservation[], keys: string[]): Promise<Reply> {
    const known = epoch ?? (await learnEpoch());
    const args = [...reservations.map((r) => r.max), ...reservations.map((r) => r.resetAt), ...reservations.map((r) => r.windowStart)];
    return redis.toolgateReserve(4 + keys.length, EPOCH_KEY, LOST_AT_KEY, marker(id), tombstone(id), ...keys, known, MARKER_MS, ...args);
  }

  return {
    async reserve(reservations): Promise<ReserveResult> {
      if (reservations.length === 0) return { ok: true };
      const id = randomBytes(12).toString("base64url");
      const keys = reservations.map((r) => PREFIX + r.key);
      try {
        let reply = await reserveOnce(id, reservations, keys);
        if (reply[0] === 2) {
          // Redis's epoch is not the one this replica knew: learn it (recording a loss), then decide again.
          await learnEpoch();
          reply = await reserveOnce(id, reservations, keys);
        }
        return outcome(reply, reservations);
      } catch (error) {
        cancels.set(id, { keys, until: Math.max(...reservations.map((r) => r.resetAt)) });
        void sendCancel(id).catch(() => {});
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
      clearInterval(retry);
      redis.disconnect();
    },
  };
}

function outcome(reply: Reply, reservations: readonly Reservation[]): ReserveResult {
  const at = (i: unknown) => reservations[Number(i) - 1]!;
  switch (reply[0]) {
    case 0:
      return { ok: true };
    case 1:
      return { ok: false, full: at(reply[1]) };
    case 3: {
      const r = at(reply[1]);
      const lostAt = new Date(Number(reply[2])).toISOString();
      return {
        ok: false,
        stateLost: true,
        unavailable: `the counts of counter "${r.counter}" were lost with Redis's data at ${lostAt} (it restarted empty or was flushed), so its window stays closed until it resets at ${new Date(r.resetAt).toISOString()}`,
      };
    }
    default:
      // 2 again (the epoch moved twice at once) or 4 (cancelled before it ran): nothing was taken.
      return { ok: false, unavailable: "Redis's counter state changed while the call was checked" };
  }
}
