/**
 * The schema, step by step, for both stores: each step is one migration, and `schema_migrations` records
 * which ran. Never edit a released step: add a new one. Both dialects get the same tables and columns
 * (JSON as text, times as ISO-8601 text), so a record reads the same from either.
 */
const TYPES = {
  sqlite: { serialKey: "INTEGER PRIMARY KEY AUTOINCREMENT", real: "REAL", epochMs: "INTEGER" },
  postgres: { serialKey: "BIGSERIAL PRIMARY KEY", real: "DOUBLE PRECISION", epochMs: "BIGINT" },
};

export function schemaSteps(dialect: keyof typeof TYPES): string[] {
  const t = TYPES[dialect];
  return [
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
     expires_at ${t.epochMs} NOT NULL);
   CREATE INDEX counters_expiry ON counters (expires_at);
   CREATE TABLE audit (
     id ${t.serialKey},
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
     latency_ms ${t.real} NOT NULL);
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
    // Live replicas and the address of their proxy listener, for forwarding requests of stdio sessions.
    `CREATE TABLE replicas (
     id TEXT PRIMARY KEY,
     proxy_url TEXT NOT NULL,
     started_at TEXT NOT NULL,
     heartbeat_at TEXT NOT NULL);`,
    // The Idempotency-Key of each object's last write: a retry of that write is answered without writing again.
    `ALTER TABLE servers ADD COLUMN write_key TEXT;
   ALTER TABLE policies ADD COLUMN write_key TEXT;
   ALTER TABLE grants ADD COLUMN write_key TEXT;
   ALTER TABLE webhooks ADD COLUMN write_key TEXT;`,
    // Identity (issue 19): trusted identity providers (client secret sealed), grants by identity, the subject of calls.
    `CREATE TABLE identity_providers (
     name TEXT PRIMARY KEY,
     spec TEXT NOT NULL,
     client_secret TEXT,
     client_secret_digest TEXT,
     owner TEXT,
     write_key TEXT,
     version INTEGER NOT NULL,
     created_at TEXT NOT NULL,
     updated_at TEXT NOT NULL);
   ALTER TABLE grants ADD COLUMN identity TEXT;
   ALTER TABLE audit ADD COLUMN subject TEXT;
   ALTER TABLE approvals ADD COLUMN subject TEXT;`,
  ];
}
