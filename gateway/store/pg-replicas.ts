import type { Logger } from "pino";
import type { ReplicaDirectory } from "../replicas.ts";
import type { Postgres } from "./postgres.ts";

const HEARTBEAT_MS = 5_000;
/** A replica that missed this many heartbeats is taken for gone. */
const STALE_MS = 3 * HEARTBEAT_MS;

/** Registers this replica's proxy URL in PostgreSQL, keeps it fresh, and finds the others there. */
export async function startPgReplicaDirectory(db: Postgres, id: string, proxyUrl: string, log: Logger): Promise<ReplicaDirectory> {
  const beat = () =>
    db.pool.query(
      `INSERT INTO replicas (id, proxy_url, started_at, heartbeat_at) VALUES ($1, $2, $3, $3)
       ON CONFLICT (id) DO UPDATE SET proxy_url = $2, heartbeat_at = $3`,
      [id, proxyUrl, new Date().toISOString()],
    );
  await beat();
  const timer = setInterval(() => {
    beat().catch((err: Error) => log.debug({ err: { message: err.message } }, "replica heartbeat failed"));
    // Rows of replicas that died without saying goodbye.
    db.pool.query("DELETE FROM replicas WHERE heartbeat_at < $1", [new Date(Date.now() - 20 * STALE_MS).toISOString()]).catch(() => {});
  }, HEARTBEAT_MS);
  timer.unref();
  return {
    id,
    async locate(other) {
      const r = await db.pool.query<{ proxy_url: string }>("SELECT proxy_url FROM replicas WHERE id = $1 AND heartbeat_at > $2", [other, new Date(Date.now() - STALE_MS).toISOString()]);
      return r.rows[0]?.proxy_url;
    },
    async close() {
      clearInterval(timer);
      await db.pool.query("DELETE FROM replicas WHERE id = $1", [id]).catch(() => {});
    },
  };
}
