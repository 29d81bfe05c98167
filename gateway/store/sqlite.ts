import { DatabaseSync } from "node:sqlite";

/**
 * Schema migrations, applied in order inside one transaction each; `schema_migrations` records what ran.
 * Never edit a released step: add a new one.
 */
const MIGRATIONS: string[] = [
  `CREATE TABLE servers (
     name TEXT PRIMARY KEY,
     spec TEXT NOT NULL,
     credentials TEXT,
     credentials_digest TEXT NOT NULL,
     owner TEXT,
     version INTEGER NOT NULL,
     created_at TEXT NOT NULL,
     updated_at TEXT NOT NULL);
   CREATE TABLE policies (
     name TEXT PRIMARY KEY,
     document TEXT NOT NULL,
     owner TEXT,
     version INTEGER NOT NULL,
     created_at TEXT NOT NULL,
     updated_at TEXT NOT NULL);
   CREATE TABLE grants (
     name TEXT PRIMARY KEY,
     server TEXT NOT NULL,
     policy TEXT,
     expires_at TEXT,
     description TEXT,
     owner TEXT,
     token_hash TEXT NOT NULL UNIQUE,
     version INTEGER NOT NULL,
     created_at TEXT NOT NULL,
     updated_at TEXT NOT NULL);
   CREATE TABLE counters (
     key TEXT PRIMARY KEY,
     value INTEGER NOT NULL,
     expires_at INTEGER NOT NULL);
   CREATE INDEX counters_expiry ON counters (expires_at);
   CREATE TABLE audit (
     id INTEGER PRIMARY KEY AUTOINCREMENT,
     time TEXT NOT NULL,
     request_id TEXT NOT NULL,
     grant_name TEXT NOT NULL,
     server TEXT NOT NULL,
     method TEXT NOT NULL,
     tool TEXT,
     decision TEXT NOT NULL,
     rule TEXT NOT NULL,
     message TEXT NOT NULL,
     policy TEXT,
     policy_version INTEGER,
     argument_keys TEXT NOT NULL,
     upstream_status INTEGER,
     latency_ms REAL NOT NULL);
   CREATE INDEX audit_time ON audit (time);
   CREATE INDEX audit_grant ON audit (grant_name, id);`,
  `CREATE TABLE tool_catalog (
     server TEXT NOT NULL,
     name TEXT NOT NULL,
     definition TEXT NOT NULL,
     hash TEXT NOT NULL,
     reviewed_hash TEXT NOT NULL,
     category TEXT NOT NULL,
     severity TEXT NOT NULL,
     evidence TEXT NOT NULL,
     first_seen TEXT NOT NULL,
     updated_at TEXT NOT NULL,
     changed_at TEXT,
     PRIMARY KEY (server, name));`,
  `CREATE TABLE approvals (
     id TEXT PRIMARY KEY,
     digest TEXT NOT NULL,
     grant_name TEXT NOT NULL,
     server TEXT NOT NULL,
     tool TEXT NOT NULL,
     arguments TEXT NOT NULL,
     policy TEXT NOT NULL,
     policy_version INTEGER NOT NULL,
     reason TEXT NOT NULL,
     status TEXT NOT NULL,
     created_at TEXT NOT NULL,
     expires_at TEXT NOT NULL,
     decided_at TEXT,
     decided_by TEXT,
     decision_reason TEXT,
     consumed_at TEXT);
   CREATE INDEX approvals_digest ON approvals (digest, created_at);
   CREATE INDEX approvals_status ON approvals (status, created_at);`,
  `CREATE TABLE webhooks (
     name TEXT PRIMARY KEY,
     url TEXT NOT NULL,
     events TEXT NOT NULL,
     secret TEXT NOT NULL,
     secret_digest TEXT NOT NULL,
     description TEXT,
     owner TEXT,
     version INTEGER NOT NULL,
     created_at TEXT NOT NULL,
     updated_at TEXT NOT NULL);`,
];

/** Opens (creating if needed) the gateway database: WAL, a busy timeout, and every pending migration. */
export function openDatabase(path: string): DatabaseSync {
  const db = new DatabaseSync(path);
  db.exec("PRAGMA journal_mode = WAL; PRAGMA synchronous = NORMAL; PRAGMA busy_timeout = 5000; PRAGMA foreign_keys = ON;");
  db.exec("CREATE TABLE IF NOT EXISTS schema_migrations (version INTEGER PRIMARY KEY, applied_at TEXT NOT NULL)");
  const applied = new Set((db.prepare("SELECT version FROM schema_migrations").all() as { version: number }[]).map((r) => r.version));
  MIGRATIONS.forEach((sql, i) => {
    const version = i + 1;
    if (applied.has(version)) return;
    db.exec("BEGIN IMMEDIATE");
    try {
      db.exec(sql);
      db.prepare("INSERT INTO schema_migrations (version, applied_at) VALUES (?, ?)").run(version, new Date().toISOString());
      db.exec("COMMIT");
    } catch (error) {
      db.exec("ROLLBACK");
      throw error;
    }
  });
  return db;
}

/** Runs `work` in an IMMEDIATE transaction (takes the write lock up front, so read-then-write is atomic). */
export function transaction<T>(db: DatabaseSync, work: () => T): T {
  db.exec("BEGIN IMMEDIATE");
  try {
    const result = work();
    db.exec("COMMIT");
    return result;
  } catch (error) {
    db.exec("ROLLBACK");
    throw error;
  }
}
