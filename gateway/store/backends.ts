import { statfsSync } from "node:fs";
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
import type { DatabaseSync } from "node:sqlite";
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
import { openDatabase, probeWrite } from "./sqlite.ts";
import { guardStore } from "./guard-store.ts";
import { storeFault, type StoreFault } from "./store-faults.ts";

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
  /** Where limit counters live: Redis when given, else the main store. */
  countersKind: "sqlite" | "postgres" | "redis";
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

/** What one kind of main store provides; `openBackends` adds Redis, fail-open limits and health on top. */
interface MainStore extends Omit<Backends, "countersKind" | "servingProblem" | "readinessProblem"> {
  /** Why this replica cannot vouch that its configuration is current (PostgreSQL feed down), or undefined. */
  feedProblem(): string | undefined;
  /** Why the store cannot take writes (SQLite: a full or read-only disk), or undefined. */
  writeProblem(): string | undefined;
}

export async function openBackends(config: BackendConfig, sealer: Sealer, log: Logger): Promise<Backends> {
  const redis = config.redisUrl ? await openRedisCounters(config.redisUrl, log) : undefined;
  let main: MainStore;
  try {
    main = config.databaseUrl ? await postgresStore(config.databaseUrl, sealer, log) : sqliteStore(config.dataDir, sealer, log);
  } catch (error) {
    await redis?.close();
    throw error;
  }
  const counters = redis ?? main.counters;
  return {
    ...main,
    countersKind: redis ? "redis" : main.kind,
    counters: config.limitsFailOpen ? limitsFailOpen(counters, log) : counters,
    servingProblem: () => main.feedProblem() ?? (main.audit.accepting() ? undefined : "the audit log cannot be written"),
    // With limits failing open, an unreachable Redis does not make a replica unready: its calls still pass.
    readinessProblem: () => readiness(main, config.limitsFailOpen ? undefined : redis),
    async close() {
      await main.close();
      await redis?.close();
    },
  };
}

function auditErrors(log: Logger) {
  return { onError: (err: unknown) => log.error({ err: { message: (err as Error).message } }, "audit rows cannot be written; they are kept and retried") };
}

function sqliteStore(dataDir: string, sealer: Sealer, log: Logger): MainStore {
  const db = openDatabase(join(dataDir, "toolgate.db"));
  const counters = createSqliteCounterStore(db);
  const sweeper = setInterval(() => {
    try {
      counters.sweep();
    } catch {
      // A full disk: swept next time; readiness reports it.
    }
  }, 60_000);
  sweeper.unref();
  const writes = sqliteWritability(db, dataDir);
  const guard = <T extends object>(store: T, logged = true) => guardStore(store, { name: "store (SQLite)", ...(logged ? { log } : {}), onUnwritable: writes.failed });
  const audit = createAuditLog(guard(createSqliteAuditBackend(db), false), auditErrors(log));
  return {
    kind: "sqlite",
    config: guard(createSqliteConfigStore(db, sealer)),
    counters,
    audit,
    catalog: guard(createSqliteCatalogStore(db)),
    approvals: guard(createSqliteApprovalStore(db, sealer)),
    registerReplica: async (id) => soloReplica(id),
    follow: async () => {},
    feedProblem: () => undefined,
    writeProblem: writes.problem,
    async close() {
      clearInterval(sweeper);
      await audit.close();
      db.close();
    },
  };
}

async function postgresStore(url: string, sealer: Sealer, log: Logger): Promise<MainStore> {
  const db: Postgres = await openPostgres(url, log);
  const counters = createPgCounterStore(db);
  const sweeper = setInterval(() => void counters.sweep().catch(() => {}), 60_000);
  sweeper.unref();
  const guard = <T extends object>(store: T, logged = true) => guardStore(store, { name: "store (PostgreSQL)", ...(logged ? { log } : {}) });
  const audit = createAuditLog(guard(createPgAuditBackend(db), false), auditErrors(log));
  const config = guard(createPgConfigStore(db, sealer));
  let feed: ConfigFeed | undefined;
  return {
    kind: "postgres",
    config,
    counters,
    audit,
    catalog: guard(createPgCatalogStore(db)),
    approvals: guard(createPgApprovalStore(db, sealer)),
    registerReplica: (id, proxyUrl) => startPgReplicaDirectory(db, id, proxyUrl, log),
    async follow(view, catalog) {
      feed = await startConfigFeed({ url, store: config, view, catalog, log });
    },
    feedProblem: () => feed?.problem(),
    writeProblem: () => undefined,
    async close() {
      clearInterval(sweeper);
      await feed?.close();
      await audit.close();
      await db.close();
    },
  };
}

async function readiness(main: MainStore, redis: RedisCounters | undefined): Promise<string | undefined> {
  const problems: string[] = [];
  try {
    await main.config.ping();
  } catch {
    problems.push("the configuration store is not reachable");
  }
  const unwritable = main.writeProblem();
  if (unwritable) problems.push(unwritable);
  const redisProblem = await redis?.problem();
  if (redisProblem) problems.push(`${redisProblem}: calls with limits are denied`);
  return problems.length ? problems.join("; ") : undefined;
}

/** Below this much free space on the data dir's disk, the SQLite store counts as full. */
const MIN_FREE_BYTES = 1024 * 1024;

/**
 * Whether the SQLite store can take writes: its disk has room, and the last write that failed for want
 * of it (a full or read-only disk) works again, tried with a write that changes nothing.
 */
function sqliteWritability(db: DatabaseSync, dataDir: string) {
  let failure: StoreFault | undefined;
  return {
    failed(fault: StoreFault) {
      failure = fault;
    },
    problem(): string | undefined {
      const free = freeBytes(dataDir);
      if (free !== undefined && free < MIN_FREE_BYTES) return `the store cannot be written: the disk that holds the data directory is full (${free} bytes free)`;
      const last = failure;
      if (!last) return undefined;
      try {
        probeWrite(db);
        failure = undefined;
        return undefined;
      } catch (error) {
        const fault = storeFault(error) ?? last;
        return `the store cannot be written: ${fault.text} (${fault.code})`;
      }
    },
  };
}

function freeBytes(dir: string): number | undefined {
  try {
    const s = statfsSync(dir);
    return s.bavail * s.bsize;
  } catch {
    return undefined;
  }
}

/** Opt-in: while the counter store is unreachable, calls pass without limits (logged once per outage). */
function limitsFailOpen(inner: CounterStore, log: Logger): CounterStore {
  let warned = false;
  return {
    async reserve(reservations) {
      const result = await inner.reserve(reservations);
      // Lost counts (Redis restarted empty) are no outage: those windows stay closed even here.
      if (result.ok || !("unavailable" in result) || result.stateLost) {
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
