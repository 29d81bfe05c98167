import type { Logger } from "pino";
import type { AuditRetention, AuditStore } from "./audit-log.ts";

const UNIT_MS = { h: 3_600_000, d: 86_400_000 } as const;

/**
 * Parses `--audit-retention`: an age (`30d`, `12h`), a row count (`1000000rows`), or both separated by a comma
 * (`90d,5000000rows`: a row goes as soon as either says so). Returns a message naming the problem otherwise.
 *
 * @example parseAuditRetention("30d") // { maxAgeMs: 2592000000 }
 */
export function parseAuditRetention(text: string): AuditRetention | string {
  const retention: AuditRetention = {};
  for (const part of text.split(",").map((p) => p.trim())) {
    const age = /^([1-9]\d{0,5})(h|d)$/.exec(part);
    const rows = /^([1-9]\d{0,11})rows$/.exec(part);
    if (age && retention.maxAgeMs === undefined) retention.maxAgeMs = Number(age[1]) * UNIT_MS[age[2] as "h" | "d"];
    else if (rows && retention.maxRows === undefined) retention.maxRows = Number(rows[1]);
    else return `--audit-retention (TOOLGATE_AUDIT_RETENTION) must be an age like "30d" or "12h", a row count like "1000000rows", or both ("90d,1000000rows"), got ${JSON.stringify(text)}`;
  }
  return retention;
}

export interface AuditPruner {
  /** Prunes until nothing is left to prune (in batches, yielding between them); returns how many rows went. */
  run(): Promise<number>;
  /** Stops the schedule and waits for a batch under way. */
  stop(): Promise<void>;
}

/**
 * Deletes audit rows that `retention` does not keep, off the call path: every `intervalMs` (default one minute) in
 * batches of `batch` rows (default 500), letting other work run between batches, so a large backlog never holds
 * the store (or SQLite's event loop) for long. Errors are logged and retried on the next round.
 */
export function startAuditPruner(audit: Pick<AuditStore, "prune">, retention: AuditRetention, log: Logger, options: { intervalMs?: number; batch?: number; clock?: () => number } = {}): AuditPruner {
  const batch = options.batch ?? 500;
  const clock = options.clock ?? Date.now;
  let running: Promise<number> | undefined;
  let stopped = false;

  async function prune(): Promise<number> {
    let total = 0;
    try {
      for (;;) {
        const deleted = await audit.prune(retention, batch, clock());
        total += deleted;
        if (deleted < batch || stopped) break;
        await new Promise((resolve) => setImmediate(resolve));
      }
      if (total > 0) log.info({ deleted: total, retention }, "audit rows pruned");
    } catch (err) {
      log.error({ err: { message: (err as Error).message }, deleted: total }, "audit pruning failed; retrying later");
    }
    return total;
  }

  const run = () => (running ??= prune().finally(() => (running = undefined)));
  const timer = setInterval(() => void run(), options.intervalMs ?? 60_000);
  timer.unref();
  return {
    run,
    async stop() {
      stopped = true;
      clearInterval(timer);
      await running;
    },
  };
}
