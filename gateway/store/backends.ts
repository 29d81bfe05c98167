import { join } from "node:path";
import type { Logger } from "pino";
import type { ApprovalStore } from "../approvals/approval-store.ts";
import type { Catalog } from "../catalog/catalog.ts";
import type { CatalogStore } from "../catalog/catalog-store.ts";
import type { CounterStore } from "../contracts.ts";
import type { MutableRuntimeView } from "../runtime-view.ts";
import { soloReplica, type ReplicaDirectory } from "../replicas.ts";
import { startPgReplicaDirectory } from "./pg-replicas.ts";
import { createAuditLog, type AuditStore } from "./audit-log.ts";
import { startConfigFeed, type ConfigFeed } from "./config-feed.ts";
import type { ConfigStore } from "./config-store.ts";
import { createPgApprovalStore } from "./pg-approvals.ts";
import { createPgAuditBackend } from "./pg-audit.ts";
import { createPgCatalogStore } from "./pg-catalog.ts";
import { createPgConfigStore } from "./pg-config-store.ts";
import { createPgCounterStore } from "./pg-counters.ts";
import { openPostgres, type Postgres } from "./postgres.ts";
import { openRedisCounters, type RedisCounters } from "./redis-counters.ts";
import type { Sealer } from "./seal.ts";
import { createSqliteApprovalStore } from "./sqlite-approvals.ts";
import { createSqliteAuditBackend } from "./sqlite-audit.ts";
import { createSqliteCatalogStore } from "./sqlite-catalog.ts";
import { createSqliteConfigStore } from "./sqlite-config-store.ts";
import { createSqliteCounterStore } from "./sqlite-counters.ts";
import { openDatabase } from "./sqlite.ts";

export interface BackendConfig {
  dataDir: string;
  databaseUrl?: string;
  redisUrl?: string;
  /** Let calls through, unlimited, while the counter store is unreachable (explicit opt-in; default deny). */
  limitsFailOpen: boolean;
}

/** Every store the gateway uses, from SQLite (one process) or PostgreSQL and Redis (replicas). */
export interface Backends {
  kind: "sqlite" | "postgres";
  config: ConfigStore;
  counters: CounterStore;
  audit: AuditStore;
  catalog: CatalogStore;
  approvals: ApprovalStore;
  /** Makes this replica findable by the others (PostgreSQL) at `proxyUrl`. */
  registerReplica(id: string, proxyUrl: string): Promise<ReplicaDirectory>;
  /** With PostgreSQL: follow other replicas' writes into `view` and `catalog`. */
  follow(view: MutableRuntimeView, catalog: Catalog): Promise<void>;
  /** Why calls cannot be served safely right now (the proxy refuses them), or undefined. */
  servingProblem(): string | undefined;
  /** Why this replica is not ready (for /readyz), or undefined. */
  readinessProblem(): Promise<string | undefined>;
  close(): Promise<void>;
}

export async function openBackends(config: BackendConfig, sealer: Sealer, log: Logger): Promise<Backends> {
  const redis = config.redisUrl ? await openRedisCounters(config.redisUrl, log) : undefined;
  try {
    const failOpen = config.limitsFailOpen;
    const backends = config.databaseUrl ? await postgresBackends(config.databaseUrl, sealer, log, redis, failOpen) : sqliteBackends(config.dataDir, sealer, log, redis, failOpen);
    if (failOpen) backends.counters = limitsFailOpen(backends.counters, log);
    return backends;
  } catch (error) {
    await redis?.close();
    throw error;
  }
}

function auditErrors(log: Logger) {
  return { onError: (err: unknown) => log.error({ err: { message: (err as Error).message } }, "audit rows cannot be written; they are kept and retried") };
}

// With limits failing open, an unreachable Redis does not make a replica unready: calls still pass.
function sqliteBackends(dataDir: string, sealer: Sealer, log: Logger, redis: RedisCounters | undefined, failOpen: boolean): Backends {
  const db = openDatabase(join(dataDir, "toolgate.db"));
  const sqliteCounters = createSqliteCounterStore(db);
  const sweeper = setInterval(() => sqliteCounters.sweep(), 60_000);
  sweeper.unref();
  const audit = createAuditLog(createSqliteAuditBackend(db), auditErrors(log));
  const config = createSqliteConfigStore(db, sealer);
  return {
    kind: "sqlite",
    config,
    counters: redis ?? sqliteCounters,
    audit,
    catalog: createSqliteCatalogStore(db),
    approvals: createSqliteApprovalStore(db, sealer),
    registerReplica: async (id) => soloReplica(id),
    follow: async () => {},
    servingProblem: () => (audit.accepting() ? undefined : "the audit log cannot be written"),
    readinessProblem: () => readiness(config, failOpen ? undefined : redis),
    async close() {
      clearInterval(sweeper);
      await audit.close();
      await redis?.close();
      db.close();
    },
  };
}

async function postgresBackends(url: string, sealer: Sealer, log: Logger, redis: RedisCounters | undefined, failOpen: boolean): Promise<Backends> {
  const db: Postgres = await openPostgres(url, log);
  const pgCounters = createPgCounterStore(db);
  const sweeper = setInterval(() => void pgCounters.sweep().catch(() => {}), 60_000);
  sweeper.unref();
  const audit = createAuditLog(createPgAuditBackend(db), auditErrors(log));
  const config = createPgConfigStore(db, sealer);
  let feed: ConfigFeed | undefined;
  return {
    kind: "postgres",
    config,
    counters: redis ?? pgCounters,
    audit,
    catalog: createPgCatalogStore(db),
    approvals: createPgApprovalStore(db, sealer),
    registerReplica: (id, proxyUrl) => startPgReplicaDirectory(db, id, proxyUrl, log),
    async follow(view, catalog) {
      feed = await startConfigFeed({ url, store: config, view, catalog, log });
    },
    servingProblem: () => feed?.problem() ?? (audit.accepting() ? undefined : "the audit log cannot be written"),
    readinessProblem: () => readiness(config, failOpen ? undefined : redis),
    async close() {
      clearInterval(sweeper);
      await feed?.close();
      await audit.close();
      await redis?.close();
      await db.close();
    },
  };
}

async function readiness(config: ConfigStore, redis: RedisCounters | undefined): Promise<string | undefined> {
  const problems: string[] = [];
  try {
    await config.ping();
  } catch {
    problems.push("the configuration store is not reachable");
  }
  const redisProblem = await redis?.problem();
  if (redisProblem) problems.push(`${redisProblem}: calls with limits are denied`);
  return problems.length ? problems.join("; ") : undefined;
}

/** Opt-in: while the counter store is unreachable, calls pass without limits (logged once per outage). */
function limitsFailOpen(inner: CounterStore, log: Logger): CounterStore {
  let warned = false;
  return {
    async reserve(reservations) {
      const result = await inner.reserve(reservations);
      if (result.ok || !("unavailable" in result)) {
        warned = false;
        return result;
      }
      if (!warned) log.warn({ reason: result.unavailable }, "limits are not enforced while the counter store is unreachable (limits fail open)");
      warned = true;
      return { ok: true };
    },
    release: (reservations) => inner.release(reservations).catch(() => {}),
  };
}
