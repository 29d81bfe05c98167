import type { ApprovalStore } from "../approvals/approval-store.ts";
import { APPROVAL_COLUMNS, approvalFromRow, approvalValues } from "./approval-rows.ts";
import type { Postgres } from "./postgres.ts";
import type { Sealer } from "./seal.ts";

const PLACEHOLDERS = APPROVAL_COLUMNS.split(",").map((_, i) => `$${i + 1}`).join(", ");

/** Approvals in PostgreSQL. Every state change is one conditional UPDATE, so replicas never both win. */
export function createPgApprovalStore(db: Postgres, sealer: Sealer): ApprovalStore {
  const fromRow = (r: Record<string, unknown>) => approvalFromRow(r, sealer);
  const query = async (sql: string, params: unknown[]) => (await db.pool.query(sql, params)).rows as Record<string, unknown>[];
  return {
    async create(a) {
      await db.pool.query(`INSERT INTO approvals (${APPROVAL_COLUMNS}) VALUES (${PLACEHOLDERS})`, approvalValues(a, sealer));
    },
    async get(id) {
      const [r] = await query("SELECT * FROM approvals WHERE id = $1", [id]);
      return r ? fromRow(r) : undefined;
    },
    async findLive(digest, now) {
      const [r] = await query("SELECT * FROM approvals WHERE digest = $1 AND status IN ('pending', 'approved', 'denied') AND expires_at > $2 ORDER BY created_at DESC, id DESC LIMIT 1", [digest, now]);
      return r ? fromRow(r) : undefined;
    },
    async list(q) {
      const where: string[] = [];
      const params: unknown[] = [];
      const add = (sql: string, v: string | undefined) => {
        if (v === undefined) return;
        params.push(v);
        where.push(sql.replace("?", `$${params.length}`));
      };
      add("status = ?", q.status);
      add("grant_name = ?", q.grant);
      add("server = ?", q.server);
      add("tool = ?", q.tool);
      add("(created_at, id) > (SELECT created_at, id FROM approvals WHERE id = ?)", q.after);
      params.push(q.limit);
      const sql = `SELECT * FROM approvals ${where.length ? `WHERE ${where.join(" AND ")}` : ""} ORDER BY created_at, id LIMIT $${params.length}`;
      return (await query(sql, params)).map(fromRow);
    },
    async decide(id, to, by, reason, at, expiresAt) {
      const r = await db.pool.query(
        "UPDATE approvals SET status = $1, decided_at = $2, decided_by = $3, decision_reason = $4, expires_at = $5 WHERE id = $6 AND status = 'pending' AND expires_at > $2",
        [to, at, by, reason, expiresAt, id],
      );
      return r.rowCount === 1;
    },
    async consume(id, at) {
      const r = await db.pool.query("UPDATE approvals SET status = 'consumed', consumed_at = $1 WHERE id = $2 AND status = 'approved' AND expires_at > $1", [at, id]);
      return r.rowCount === 1;
    },
    async restore(id) {
      await db.pool.query("UPDATE approvals SET status = 'approved', consumed_at = NULL WHERE id = $1 AND status = 'consumed'", [id]);
    },
    async expireDue(now) {
      // RETURNING the old status: each expired approval is reported by exactly one replica.
      const rows = await query(
        `UPDATE approvals a SET status = 'expired' FROM approvals old
         WHERE a.id = old.id AND a.status IN ('pending', 'approved') AND a.expires_at <= $1
         RETURNING old.*`,
        [now],
      );
      return rows.map(fromRow);
    },
  };
}
