import type { AuditEntry, AuditSink } from "../contracts.ts";

export interface AuditQuery {
  grant?: string;
  /** The caller's subject (calls made with access tokens). */
  subject?: string;
  server?: string;
  tool?: string;
  decision?: AuditEntry["decision"];
  since?: string;
  until?: string;
  /** Rows with an id greater than this (cursor pagination, oldest first). */
  after?: number;
  limit: number;
}

export interface AuditRow extends AuditEntry {
  id: number;
}

/** Which rows to keep: younger than `maxAgeMs`, and only the newest `maxRows`. Both optional. */
export interface AuditRetention {
  maxAgeMs?: number;
  maxRows?: number;
}

export interface AuditStore extends AuditSink {
  query(q: AuditQuery): Promise<AuditRow[]>;
  /** Deletes at most `limit` of the oldest rows that `retention` does not keep (as of `now`); returns how many. */
  prune(retention: AuditRetention, limit: number, now: number): Promise<number>;
  /** False while rows cannot be written and the backlog is full: calls are then denied (fail closed). */
  accepting(): boolean;
  /** Writes what is buffered now. */
  flush(): Promise<void>;
  close(): Promise<void>;
}

/** How one backend stores and reads audit rows. */
export interface AuditBackend {
  /** Most rows per insert. A synchronous store (SQLite) blocks the event loop while it writes, so it takes small slices. */
  maxRows: number;
  insert(rows: readonly AuditEntry[]): Promise<void>;
  /** `where` holds the filters as (column, value) pairs; `after`/`limit` paginate by id. */
  select(where: readonly (readonly [AuditColumn, string])[], after: number, limit: number): Promise<Record<string, unknown>[]>;
  /** Deletes at most `limit` rows, oldest first, written before `before` (ISO time) or not among the newest `keepRows` ids. */
  prune(cutoff: { before?: string; keepRows?: number }, limit: number): Promise<number>;
}

export type AuditColumn = "grant_name" | "subject" | "server" | "tool" | "decision" | "time >=" | "time <";

export const AUDIT_COLUMNS = "time, request_id, grant_name, server, method, tool, decision, rule, message, policy, policy_version, argument_keys, upstream_status, latency_ms, subject";

/**
 * Most characters kept of each text field, so one row stays small whatever an agent sends. A longer value keeps its
 * first `n` characters followed by TRUNCATED. The argument key list keeps its first `argumentKeys` keys (each cut like
 * a field, at `argumentKey` characters), then one entry `…[+<n> more]`.
 */
export const AUDIT_LIMITS = { subject: 512, grant: 128, server: 128, method: 128, tool: 256, rule: 512, message: 2048, policy: 128, argumentKeys: 64, argumentKey: 128 } as const;
export const TRUNCATED = "…[truncated]";

function cut(text: string, max: number): string {
  if (text.length <= max) return text;
  // Never keep half of a surrogate pair.
  const end = /[\uD800-\uDBFF]/.test(text[max - 1]!) ? max - 1 : max;
  return text.slice(0, end) + TRUNCATED;
}

/** `entry` with every text field and the argument key list within AUDIT_LIMITS. */
export function boundAuditEntry(entry: AuditEntry): AuditEntry {
  const L = AUDIT_LIMITS;
  const fits = (text: string | null, max: number) => text === null || text.length <= max;
  const keysFit = entry.argumentKeys.length <= L.argumentKeys && entry.argumentKeys.every((k) => k.length <= L.argumentKey);
  if (keysFit && fits(entry.tool, L.tool) && fits(entry.message, L.message) && fits(entry.rule, L.rule) && fits(entry.method, L.method) && fits(entry.grant, L.grant) && fits(entry.server, L.server) && fits(entry.policy, L.policy) && fits(entry.subject ?? null, L.subject)) return entry;
  const keys = entry.argumentKeys.length > L.argumentKeys ? [...entry.argumentKeys.slice(0, L.argumentKeys), `…[+${entry.argumentKeys.length - L.argumentKeys} more]`] : entry.argumentKeys;
  return {
    ...entry,
    grant: cut(entry.grant, L.grant),
    ...(entry.subject ? { subject: cut(entry.subject, L.subject) } : {}),
    server: cut(entry.server, L.server),
    method: cut(entry.method, L.method),
    tool: entry.tool === null ? null : cut(entry.tool, L.tool),
    rule: cut(entry.rule, L.rule),
    message: cut(entry.message, L.message),
    policy: entry.policy === null ? null : cut(entry.policy, L.policy),
    argumentKeys: keys.map((k) => cut(k, L.argumentKey)),
  };
}

/** One entry as the column values of AUDIT_COLUMNS, in order. */
export function auditValues(e: AuditEntry): (string | number | null)[] {
  return [e.time, e.requestId, e.grant, e.server, e.method, e.tool, e.decision, e.rule, e.message, e.policy, e.policyVersion, JSON.stringify(e.argumentKeys), e.upstreamStatus, e.latencyMs, e.subject ?? null];
}

/**
 * The audit log over any backend. `write` only appends to a buffer; a timer writes the buffer in one batch
 * (at most every `flushMs`, or at `batchSize` rows), so the call path never waits on the store. When the
 * store is unreachable, rows stay buffered and are retried; once `maxBacklog` rows wait, `accepting()`
 * turns false and the proxy denies calls rather than make calls nobody can audit.
 */
export function createAuditLog(backend: AuditBackend, options: { flushMs?: number; batchSize?: number; maxBacklog?: number; onError?: (error: unknown) => void } = {}): AuditStore {
  const batchSize = options.batchSize ?? 500;
  const maxBacklog = options.maxBacklog ?? 100_000;
  let buffer: AuditEntry[] = [];
  let writing: Promise<void> | undefined;
  let failing = false;
  const timer = setInterval(() => void flush(), options.flushMs ?? 200);
  timer.unref();

  async function writeBuffered(): Promise<void> {
    while (buffer.length > 0) {
      const rows = buffer.slice(0, backend.maxRows);
      try {
        await backend.insert(rows);
        // Let calls run between slices: a long synchronous write would land in their tail latency.
        if (buffer.length > rows.length) await new Promise((resolve) => setImmediate(resolve));
      } catch (error) {
        if (!failing) options.onError?.(error);
        failing = true;
        return;
      }
      failing = false;
      buffer = buffer.slice(rows.length);
    }
  }

  /** One writer at a time; a flush asked for while one runs waits for it and then writes the rest. */
  function flush(): Promise<void> {
    writing ??= writeBuffered().finally(() => (writing = undefined));
    return writing;
  }

  function column(sql: AuditColumn, value: string | undefined): readonly [AuditColumn, string][] {
    return value === undefined ? [] : [[sql, value]];
  }

  return {
    write(entry) {
      buffer.push(boundAuditEntry(entry));
      if (buffer.length >= batchSize && !failing) queueMicrotask(() => void flush());
    },
    accepting: () => buffer.length < maxBacklog,
    flush: async () => {
      await writing;
      await flush();
    },
    async query(q) {
      await writing;
      await flush();
      const where = [
        ...column("grant_name", q.grant),
        ...column("subject", q.subject),
        ...column("server", q.server),
        ...column("tool", q.tool),
        ...column("decision", q.decision),
        ...column("time >=", q.since),
        ...column("time <", q.until),
      ];
      const rows = await backend.select(where, q.after ?? 0, q.limit);
      return rows.map((r) => ({
        id: Number(r.id),
        time: r.time as string,
        requestId: r.request_id as string,
        grant: r.grant_name as string,
        subject: (r.subject as string | null) ?? null,
        server: r.server as string,
        method: r.method as string,
        tool: (r.tool as string | null) ?? null,
        decision: r.decision as AuditEntry["decision"],
        rule: r.rule as string,
        message: r.message as string,
        policy: (r.policy as string | null) ?? null,
        policyVersion: r.policy_version === null ? null : Number(r.policy_version),
        argumentKeys: JSON.parse(r.argument_keys as string) as string[],
        upstreamStatus: r.upstream_status === null ? null : Number(r.upstream_status),
        latencyMs: Number(r.latency_ms),
      }));
    },
    async prune(retention, limit, now) {
      const before = retention.maxAgeMs === undefined ? undefined : new Date(now - retention.maxAgeMs).toISOString();
      return backend.prune({ before, keepRows: retention.maxRows }, limit);
    },
    async close() {
      clearInterval(timer);
      await writing;
      await flush();
    },
  };
}
