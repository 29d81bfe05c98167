import pg from "pg";
import type { Logger } from "pino";
import { ToolgateError } from "../../sdk/index.ts";
import { schemaSteps } from "./schema.ts";

const MIGRATIONS = schemaSteps("postgres");

/** Every replica takes this lock before migrating, so replicas starting together migrate exactly once. */
const MIGRATION_LOCK = 7_360_401_117;
/** Channel on which config writes announce themselves (gateway/store/config-feed.ts listens). */
export const CONFIG_CHANNEL = "toolgate_config";

export type Queryable = Pick<pg.PoolClient, "query">;

export interface Postgres {
  pool: pg.Pool;
  /** Runs `work` in one transaction on one pooled connection; rolls back if it throws. */
  transaction<T>(work: (client: pg.PoolClient) => Promise<T>): Promise<T>;
  close(): Promise<void>;
}

/** Connects a pool and applies pending migrations. Failure to reach the server is reported, with the URL's password hidden. */
export async function openPostgres(url: string, log: Logger, options: { poolSize?: number } = {}): Promise<Postgres> {
  const pool = new pg.Pool({
    connectionString: url,
    max: options.poolSize ?? 20,
    connectionTimeoutMillis: 3_000,
    idleTimeoutMillis: 30_000,
    keepAlive: true,
    // A statement that hangs (a partitioned network) must not hold a call forever.
    statement_timeout: 10_000,
    query_timeout: 12_000,
    application_name: "toolgate",
  });
  // An idle connection that dies (server restart) is dropped by the pool; without a listener it would crash the process.
  pool.on("error", (err) => log.warn({ err: { message: err.message } }, "a pooled PostgreSQL connection failed; it will be replaced"));

  async function transaction<T>(work: (client: pg.PoolClient) => Promise<T>): Promise<T> {
    const client = await pool.connect();
    try {
      await client.query("BEGIN");
      const result = await work(client);
      await client.query("COMMIT");
      return result;
    } catch (error) {
      await client.query("ROLLBACK").catch(() => {});
      throw error;
    } finally {
      client.release();
    }
  }

  try {
    await transaction(async (c) => {
      await c.query("SELECT pg_advisory_xact_lock($1)", [MIGRATION_LOCK]);
      await c.query("CREATE TABLE IF NOT EXISTS schema_migrations (version INTEGER PRIMARY KEY, applied_at TEXT NOT NULL)");
      const applied = new Set((await c.query<{ version: number }>("SELECT version FROM schema_migrations")).rows.map((r) => r.version));
      for (const [i, sql] of MIGRATIONS.entries()) {
        const version = i + 1;
        if (applied.has(version)) continue;
        await c.query(sql);
        await c.query("INSERT INTO schema_migrations (version, applied_at) VALUES ($1, $2)", [version, new Date().toISOString()]);
        log.info({ migration: version }, "applied a database migration");
      }
    });
  } catch (error) {
    await pool.end().catch(() => {});
    throw new ToolgateError("unavailable", `cannot prepare the PostgreSQL database at ${redactUrl(url)}: ${(error as Error).message}`, { cause: error });
  }
  return { pool, transaction, close: () => pool.end() };
}

/** The URL with any password replaced, for messages and logs. */
export function redactUrl(url: string): string {
  try {
    const u = new URL(url);
    if (u.password) u.password = "***";
    return u.toString();
  } catch {
    return "(unparseable URL)";
  }
}
