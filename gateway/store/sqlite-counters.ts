import type { DatabaseSync } from "node:sqlite";
import type { Reservation } from "../../sdk/index.ts";
import type { CounterStore, ReserveResult } from "../contracts.ts";
import { transaction } from "./sqlite.ts";
import { storeFault } from "./store-faults.ts";

/**
 * Limit counters in SQLite. One process owns the database (the data-dir lock), and node:sqlite is
 * synchronous, so each reserve runs start to finish in one transaction: exact under any concurrency.
 * Rows expire with their window and are swept periodically.
 */
export function createSqliteCounterStore(db: DatabaseSync, clock: () => number = Date.now): CounterStore & { sweep(): number } {
  const read = db.prepare("SELECT value FROM counters WHERE key = ?");
  const bump = db.prepare("INSERT INTO counters (key, value, expires_at) VALUES (?, 1, ?) ON CONFLICT (key) DO UPDATE SET value = value + 1");
  const drop = db.prepare("UPDATE counters SET value = MAX(value - 1, 0) WHERE key = ?");
  const sweep = db.prepare("DELETE FROM counters WHERE expires_at <= ?");

  return {
    async reserve(reservations: readonly Reservation[]): Promise<ReserveResult> {
      if (reservations.length === 0) return { ok: true };
      try {
        return transaction(db, (): ReserveResult => {
          for (const r of reservations) {
            const row = read.get(r.key) as { value: number } | undefined;
            if ((row?.value ?? 0) + 1 > r.max) return { ok: false, full: r };
          }
          for (const r of reservations) bump.run(r.key, r.resetAt);
          return { ok: true };
        });
      } catch (error) {
        const fault = storeFault(error);
        return { ok: false, unavailable: `the counter store failed: ${fault ? `${fault.text} (${fault.code})` : (error as Error).message}` };
      }
    },
    async release(reservations: readonly Reservation[]): Promise<void> {
      if (reservations.length === 0) return;
      transaction(db, () => {
        for (const r of reservations) drop.run(r.key);
      });
    },
    sweep(): number {
      return Number(sweep.run(clock()).changes);
    },
  };
}
