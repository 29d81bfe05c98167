import { statSync } from "node:fs";
import { DatabaseSync } from "node:sqlite";
import { ToolgateError } from "../../sdk/index.ts";
import { schemaSteps } from "./schema.ts";
import { startupFailure } from "./store-faults.ts";

const MIGRATIONS = schemaSteps("sqlite");

/**
 * Opens (creating if needed) the gateway database: WAL, a busy timeout, and every pending migration.
 * A file that exists but is empty, damaged or unwritable is refused with one line naming the file and
 * what to do: it is never silently treated as a new, empty store.
 */
export function openDatabase(path: string): DatabaseSync {
  if (sizeOf(path) === 0) {
    throw new ToolgateError("config", `${path} is empty (0 bytes) instead of a gateway database: its servers, policies, grants and audit are missing. Restore it from a backup (docs/operations.md), or delete it to start with an empty store`);
  }
  let db: DatabaseSync | undefined;
  try {
    db = new DatabaseSync(path);
    db.exec("PRAGMA journal_mode = WAL; PRAGMA synchronous = NORMAL; PRAGMA busy_timeout = 5000; PRAGMA foreign_keys = ON;");
    migrate(db);
    return db;
  } catch (error) {
    db?.close();
    throw startupFailure(error, { database: path });
  }
}

function migrate(db: DatabaseSync): void {
  db.exec("CREATE TABLE IF NOT EXISTS schema_migrations (version INTEGER PRIMARY KEY, applied_at TEXT NOT NULL)");
  const applied = new Set((db.prepare("SELECT version FROM schema_migrations").all() as { version: number }[]).map((r) => r.version));
  MIGRATIONS.forEach((sql, i) => {
    const version = i + 1;
    if (applied.has(version)) return;
    transaction(db, () => {
      db.exec(sql);
      db.prepare("INSERT INTO schema_migrations (version, applied_at) VALUES (?, ?)").run(version, new Date().toISOString());
    });
  });
}

function sizeOf(path: string): number | undefined {
  try {
    return statSync(path).size;
  } catch {
    return undefined;
  }
}

/**
 * Runs `work` in an IMMEDIATE transaction (takes the write lock up front, so read-then-write is atomic).
 * The error that failed the transaction is the one thrown: SQLite rolls back by itself on some errors
 * (a full disk), and the ROLLBACK that then fails must not hide why.
 */
export function transaction<T>(db: DatabaseSync, work: () => T): T {
  db.exec("BEGIN IMMEDIATE");
  try {
    const result = work();
    db.exec("COMMIT");
    return result;
  } catch (error) {
    try {
      if (db.isTransaction) db.exec("ROLLBACK");
    } catch {
      // Keep the error that failed the transaction.
    }
    throw error;
  }
}

/**
 * A committed write that changes nothing, to prove the database takes writes again. It sets the header's
 * user_version (unused by the gateway) to the value it has: SQLite writes that page even then, whereas an
 * UPDATE to the same values may never reach the disk.
 */
export function probeWrite(db: DatabaseSync): void {
  const { user_version: version } = db.prepare("PRAGMA user_version").get() as { user_version: number };
  db.exec(`PRAGMA user_version = ${Number(version)}`);
}
