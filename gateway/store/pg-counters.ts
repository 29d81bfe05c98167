import type { Reservation } from "../../sdk/index.ts";
import type { CounterStore, ReserveResult } from "../contracts.ts";
import type { Postgres } from "./postgres.ts";

/**
 * Limit counters in PostgreSQL, for a replicated gateway without Redis. One transaction bumps each
 * counter only while it is below its max (the row lock of the upsert serializes replicas); if any is
 * full the whole transaction rolls back. Keys are taken in sorted order so two calls never deadlock.
 */
export function createPgCounterStore(db: Postgres, clock: () => number = Date.now): CounterStore & { sweep(): Promise<number> } {
  const sorted = (rs: readonly Reservation[]) => [...rs].sort((a, b) => (a.key < b.key ? -1 : a.key > b.key ? 1 : 0));
  return {
    async reserve(reservations): Promise<ReserveResult> {
      if (reservations.length === 0) return { ok: true };
      let full: Reservation | undefined;
      try {
        await db.transaction(async (c) => {
          for (const r of sorted(reservations)) {
            const bumped = await c.query(
              `INSERT INTO counters (key, value, expires_at) VALUES ($1, 1, $2)
               ON CONFLICT (key) DO UPDATE SET value = counters.value + 1 WHERE counters.value < $3`,
              [r.key, r.resetAt, r.max],
            );
            if (bumped.rowCount === 0) {
              full = r;
              throw FULL;
            }
          }
        });
        return { ok: true };
      } catch (error) {
        if (error === FULL) return { ok: false, full: full! };
        return { ok: false, unavailable: `PostgreSQL is unreachable (${describe(error)})` };
      }
    },
    async release(reservations) {
      if (reservations.length === 0) return;
      await db.transaction(async (c) => {
        for (const r of sorted(reservations)) await c.query("UPDATE counters SET value = GREATEST(value - 1, 0) WHERE key = $1", [r.key]);
      });
    },
    async sweep() {
      return (await db.pool.query("DELETE FROM counters WHERE expires_at <= $1", [clock()])).rowCount ?? 0;
    },
  };
}

const FULL = Symbol("counter full");

function describe(error: unknown): string {
  const e = error as { code?: string; message?: string };
  return e.code ?? e.message ?? "error";
}
