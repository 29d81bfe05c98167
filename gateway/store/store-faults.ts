import { ToolgateError } from "../../sdk/index.ts";

/**
 * Failures that are the store's environment, not a bug: a full or read-only disk, a damaged file, a
 * database server that cannot be reached. `code` is the stable name (SQLITE_FULL, ENOSPC, ECONNREFUSED,
 * a PostgreSQL SQLSTATE); `text` says it in words. Messages of these errors never carry values.
 */
export interface StoreFault {
  code: string;
  text: string;
  /** The disk or file cannot take writes (full, read-only, I/O error): readiness reports the store unwritable. */
  unwritable: boolean;
}

const SQLITE_CODES: Record<number, [name: string, unwritable: boolean]> = {
  5: ["SQLITE_BUSY", false],
  8: ["SQLITE_READONLY", true],
  10: ["SQLITE_IOERR", true],
  11: ["SQLITE_CORRUPT", false],
  13: ["SQLITE_FULL", true],
  14: ["SQLITE_CANTOPEN", true],
  26: ["SQLITE_NOTADB", false],
};

const ERRNO_TEXT: Record<string, string> = {
  ENOSPC: "no space left on device",
  EDQUOT: "disk quota exceeded",
  EROFS: "read-only file system",
  EACCES: "permission denied",
  EPERM: "operation not permitted",
  EIO: "input/output error",
  ENOTDIR: "a path component is not a directory",
  EISDIR: "is a directory",
};

const NETWORK_CODES = new Set(["ECONNREFUSED", "ECONNRESET", "ETIMEDOUT", "EHOSTUNREACH", "ENETUNREACH", "ENOTFOUND", "EAI_AGAIN", "EPIPE"]);

/** Messages node-postgres uses for a lost or never-made connection (it sets no code on them). */
const PG_CONNECTION_MESSAGES = /^(Connection terminated|timeout exceeded when trying to connect|Query read timeout|Client has encountered a connection error|Client was closed)/;

/** The store fault `error` is, or undefined when it is something else (a bug, a constraint, one of ours). */
export function storeFault(error: unknown): StoreFault | undefined {
  if (error instanceof ToolgateError || typeof error !== "object" || error === null) return undefined;
  const e = error as { code?: unknown; errcode?: unknown; errstr?: unknown; message?: unknown; severity?: unknown };
  const message = typeof e.message === "string" ? e.message : "";
  if (e.code === "ERR_SQLITE_ERROR" && typeof e.errcode === "number") {
    const known = SQLITE_CODES[e.errcode & 0xff];
    return known ? { code: known[0], text: typeof e.errstr === "string" ? e.errstr : message, unwritable: known[1] } : undefined;
  }
  if (typeof e.code === "string" && e.code in ERRNO_TEXT) return { code: e.code, text: ERRNO_TEXT[e.code]!, unwritable: true };
  if (typeof e.code === "string" && NETWORK_CODES.has(e.code)) return { code: e.code, text: message || e.code, unwritable: false };
  // PostgreSQL SQLSTATE classes: 08 connection, 53 insufficient resources (53100 disk full), 57P0x shutdown, 58 system I/O,
  // 57014 a statement cancelled by statement_timeout, 25006 a read-only transaction (a standby).
  if (typeof e.code === "string" && typeof e.severity === "string" && /^(08|53|57P0|58|57014|25006)/.test(e.code)) {
    return { code: e.code, text: message, unwritable: /^(53100|58|25006)/.test(e.code) };
  }
  if (PG_CONNECTION_MESSAGES.test(message)) return { code: "connection lost", text: message, unwritable: false };
  return undefined;
}

/** `error` as the admin API and callers should see it when it is a store fault: `unavailable` (HTTP 503), saying which store and why. */
export function unavailableStore(store: string, fault: StoreFault, cause: unknown): ToolgateError {
  return new ToolgateError("unavailable", `The ${store} cannot be used right now: ${fault.text} (${fault.code})`, { cause });
}

/**
 * A store fault met while starting (opening the database, taking the lock, reading generated secrets,
 * reading the configuration) as one line naming the file and what to do; anything else is returned as it
 * is. The file is the one a file-system error names, else `paths.file` (a write to an open file names
 * none); for a SQLite error, `paths.database`.
 */
export function startupFailure(error: unknown, paths: { file?: string; database?: string }): unknown {
  // A guarded store (guard-store.ts) has already said which store; the file and the advice are added here.
  const raw = error instanceof ToolgateError && error.code === "unavailable" && error.cause !== undefined ? error.cause : error;
  const fault = storeFault(raw);
  if (!fault) return error;
  const named = (raw as { path?: unknown }).path;
  const path = fault.code.startsWith("SQLITE_") ? paths.database : typeof named === "string" ? named : paths.file;
  if (path === undefined) return error;
  const what = `${path}: ${fault.text} (${fault.code})`;
  switch (fault.code) {
    case "SQLITE_NOTADB":
    case "SQLITE_CORRUPT":
      return new ToolgateError("config", `${what}: the database is damaged. Restore it from a backup (docs/operations.md), or move it away to start with an empty store`, { cause: raw });
    case "SQLITE_FULL":
    case "ENOSPC":
    case "EDQUOT":
      return new ToolgateError("config", `${what}: free space on the disk that holds the data directory, or choose another --data-dir`, { cause: raw });
    default:
      return new ToolgateError("config", `${what}: the gateway must be able to read and write the data directory and its files; fix their permissions or mount, or choose another --data-dir`, { cause: raw });
  }
}
