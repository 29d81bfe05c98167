import type { DatabaseSync } from "node:sqlite";
import { AUDIT_COLUMNS, auditValues, type AuditBackend } from "./audit-log.ts";
import { transaction } from "./sqlite.ts";

/** Audit rows in SQLite: each batch in one transaction. */
export function createSqliteAuditBackend(db: DatabaseSync): AuditBackend {
  const insert = db.prepare(`INSERT INTO audit (${AUDIT_COLUMNS}) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`);
  return {
    maxRows: 100,
    async insert(rows) {
      transaction(db, () => {
        for (const e of rows) insert.run(...auditValues(e));
      });
    },
    async select(where, after, limit) {
      const clauses = ["id > ?", ...where.map(([column]) => (column.includes(" ") ? `${column} ?` : `${column} = ?`))];
      const sql = `SELECT * FROM audit WHERE ${clauses.join(" AND ")} ORDER BY id LIMIT ?`;
      return db.prepare(sql).all(after, ...where.map(([, v]) => v), limit) as Record<string, unknown>[];
    },
  };
}
