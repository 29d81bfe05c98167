import type { AuditEntry, AuditSink } from "../contracts.ts";

export interface AuditQuery {
  grant?: string;
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

export interface AuditStore extends AuditSink {
  query(q: AuditQuery): Promise<AuditRow[]>;
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
}

export type AuditColumn = "grant_name" | "server" | "tool" | "decision" | "time >=" | "time <";

export const AUDIT_COLUMNS = "time, request_id, grant_name, server, method, tool, decision, rule, message, policy, policy_version, argument_keys, upstream_status, latency_ms";

/** One entry as the column values of AUDIT_COLUMNS, in order. */
export function auditValues(e: AuditEntry): (string | number | null)[] {
  return [e.time, e.requestId, e.grant, e.server, e.method, e.tool, e.decision, e.rule, e.message, e.policy, e.policyVersion, JSON.stringify(e.argumentKeys), e.upstreamStatus, e.latencyMs];
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
      buffer.push(entry);
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
    async close() {
      clearInterval(timer);
      await writing;
      await flush();
    },
  };
}
