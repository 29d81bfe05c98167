import type { DatabaseSync } from "node:sqlite";
import type { ApprovalRecord, ApprovalStatus, ApprovalStore } from "../approvals/approval-store.ts";
import type { Sealer } from "./seal.ts";
import { transaction } from "./sqlite.ts";

type Row = Record<string, string | number | null>;

/** Approvals in SQLite; call arguments are sealed (AES-256-GCM) like upstream credentials. */
export function createSqliteApprovalStore(db: DatabaseSync, sealer: Sealer): ApprovalStore {
  const fromRow = (r: Row): ApprovalRecord => ({
    id: r.id as string,
    digest: r.digest as string,
    grant: r.grant_name as string,
    server: r.server as string,
    tool: r.tool as string,
    arguments: JSON.parse(sealer.open(r.arguments as string)) as unknown,
    policy: r.policy as string,
    policyVersion: r.policy_version as number,
    reason: r.reason as string,
    status: r.status as ApprovalStatus,
    createdAt: r.created_at as string,
    expiresAt: r.expires_at as string,
    decidedAt: (r.decided_at as string | null) ?? null,
    decidedBy: (r.decided_by as string | null) ?? null,
    decisionReason: (r.decision_reason as string | null) ?? null,
    consumedAt: (r.consumed_at as string | null) ?? null,
  });
  return {
    async create(a) {
      db.prepare(
        `INSERT INTO approvals (id, digest, grant_name, server, tool, arguments, policy, policy_version, reason, status, created_at, expires_at, decided_at, decided_by, decision_reason, consumed_at)
         VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`,
      ).run(a.id, a.digest, a.grant, a.server, a.tool, sealer.seal(JSON.stringify(a.arguments ?? {})), a.policy, a.policyVersion, a.reason, a.status, a.createdAt, a.expiresAt, a.decidedAt, a.decidedBy, a.decisionReason, a.consumedAt);
    },
    async get(id) {
      const r = db.prepare("SELECT * FROM approvals WHERE id = ?").get(id) as Row | undefined;
      return r ? fromRow(r) : undefined;
    },
    async findLive(digest, now) {
      const r = db.prepare("SELECT * FROM approvals WHERE digest = ? AND status IN ('pending', 'approved', 'denied') AND expires_at > ? ORDER BY created_at DESC, id DESC LIMIT 1").get(digest, now) as Row | undefined;
      return r ? fromRow(r) : undefined;
    },
    async list(q) {
      const where: string[] = [];
      const params: (string | number)[] = [];
      const add = (sql: string, v: string | undefined) => {
        if (v === undefined) return;
        where.push(sql);
        params.push(v);
      };
      add("status = ?", q.status);
      add("server = ?", q.server);
      add("tool = ?", q.tool);
      add("(created_at, id) > (SELECT created_at, id FROM approvals WHERE id = ?)", q.after);
      const sql = `SELECT * FROM approvals ${where.length ? `WHERE ${where.join(" AND ")}` : ""} ORDER BY created_at, id LIMIT ?`;
      return (db.prepare(sql).all(...params, q.limit) as Row[]).map(fromRow);
    },
    async decide(id, to, by, reason, at, expiresAt) {
      const r = db
        .prepare("UPDATE approvals SET status = ?, decided_at = ?, decided_by = ?, decision_reason = ?, expires_at = ? WHERE id = ? AND status = 'pending' AND expires_at > ?")
        .run(to, at, by, reason, expiresAt, id, at);
      return Number(r.changes) === 1;
    },
    async consume(id, at) {
      const r = db.prepare("UPDATE approvals SET status = 'consumed', consumed_at = ? WHERE id = ? AND status = 'approved' AND expires_at > ?").run(at, id, at);
      return Number(r.changes) === 1;
    },
    async restore(id) {
      db.prepare("UPDATE approvals SET status = 'approved', consumed_at = NULL WHERE id = ? AND status = 'consumed'").run(id);
    },
    async expireDue(now) {
      return transaction(db, () => {
        const due = (db.prepare("SELECT * FROM approvals WHERE status IN ('pending', 'approved') AND expires_at <= ?").all(now) as Row[]).map(fromRow);
        if (due.length) db.prepare("UPDATE approvals SET status = 'expired' WHERE status IN ('pending', 'approved') AND expires_at <= ?").run(now);
        return due;
      });
    },
  };
}
