import type { DatabaseSync } from "node:sqlite";
import type { ApprovalStore } from "../approvals/approval-store.ts";
import { APPROVAL_COLUMNS, approvalFromRow, approvalValues } from "./approval-rows.ts";
import type { Sealer } from "./seal.ts";
import { transaction } from "./sqlite.ts";

type Row = Record<string, string | number | null>;

/** Approvals in SQLite; call arguments are sealed (AES-256-GCM) like upstream credentials. */
export function createSqliteApprovalStore(db: DatabaseSync, sealer: Sealer): ApprovalStore {
  const fromRow = (r: Row) => approvalFromRow(r, sealer);
  return {
    async create(a) {
      db.prepare(`INSERT INTO approvals (${APPROVAL_COLUMNS}) VALUES (${APPROVAL_COLUMNS.split(",").map(() => "?").join(", ")})`).run(...approvalValues(a, sealer));
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
      add("grant_name = ?", q.grant);
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
