import type { DatabaseSync } from "node:sqlite";
import type { AuditEntry, AuditSink } from "../contracts.ts";
import { transaction } from "./sqlite.ts";

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
  /** Writes what is buffered now. */
  flush(): void;
  close(): void;
}

/**
 * Audit rows in SQLite. `write` only appends to a buffer; a timer inserts the buffer in one transaction
 * (at most every `flushMs`, or at `batchSize` rows), so the call path never waits on the disk.
 */
export function createSqliteAuditStore(db: DatabaseSync, options: { flushMs?: number; batchSize?: number; onError?: (error: unknown) => void } = {}): AuditStore {
  const insert = db.prepare(
    `INSERT INTO audit (time, request_id, grant_name, server, method, tool, decision, rule, message, policy, policy_version, argument_keys, upstream_status, latency_ms)
     VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`,
  );
  let buffer: AuditEntry[] = [];
  const batchSize = options.batchSize ?? 500;
  const timer = setInterval(flush, options.flushMs ?? 200);
  timer.unref();

  function flush(): void {
    if (buffer.length === 0) return;
    const rows = buffer;
    buffer = [];
    try {
      transaction(db, () => {
        for (const e of rows) {
          insert.run(e.time, e.requestId, e.grant, e.server, e.method, e.tool, e.decision, e.rule, e.message, e.policy, e.policyVersion, JSON.stringify(e.argumentKeys), e.upstreamStatus, e.latencyMs);
        }
      });
    } catch (error) {
      options.onError?.(error);
    }
  }

  return {
    write(entry) {
      buffer.push(entry);
      if (buffer.length >= batchSize) queueMicrotask(flush);
    },
    flush,
    async query(q) {
      flush();
      const where: string[] = ["id > ?"];
      const params: (string | number)[] = [q.after ?? 0];
      const add = (sql: string, v: string | undefined) => {
        if (v !== undefined) {
          where.push(sql);
          params.push(v);
        }
      };
      add("grant_name = ?", q.grant);
      add("server = ?", q.server);
      add("tool = ?", q.tool);
      add("decision = ?", q.decision);
      add("time >= ?", q.since);
      add("time < ?", q.until);
      const rows = db.prepare(`SELECT * FROM audit WHERE ${where.join(" AND ")} ORDER BY id LIMIT ?`).all(...params, q.limit) as Record<string, string | number | null>[];
      return rows.map((r) => ({
        id: r.id as number,
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
        policyVersion: (r.policy_version as number | null) ?? null,
        argumentKeys: JSON.parse(r.argument_keys as string) as string[],
        upstreamStatus: (r.upstream_status as number | null) ?? null,
        latencyMs: r.latency_ms as number,
      }));
    },
    close() {
      clearInterval(timer);
      flush();
    },
  };
}
