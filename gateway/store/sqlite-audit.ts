import type { DatabaseSync } from "node:sqlite";
import { AUDIT_COLUMNS, auditValues, type AuditBackend } from "./audit-log.ts";
import { transaction } from "./sqlite.ts";

/** Audit rows in SQLite: each batch in one transaction; pruning deletes one small slice per statement. */
export function createSqliteAuditBackend(db: DatabaseSync): AuditBackend {
  const insert = db.prepare(`INSERT INTO audit (${AUDIT_COLUMNS}) VALUES (${AUDIT_COLUMNS.split(",").map(() => "?").join(", ")})`);
  const pruneOlder = db.prepare("DELETE FROM audit WHERE id IN (SELECT id FROM audit WHERE time < ? ORDER BY time LIMIT ?)");
  // Ids only grow, so the newest n rows are those within n of the largest id (fewer if ids have gaps).
  const pruneBeyond = db.prepare("DELETE FROM audit WHERE id IN (SELECT id FROM audit WHERE id <= (SELECT max(id) FROM audit) - ? ORDER BY id LIMIT ?)");
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
    async prune(cutoff, limit) {
      let deleted = 0;
      if (cutoff.before !== undefined) deleted += Number(pruneOlder.run(cutoff.before, limit).changes);
      if (cutoff.keepRows !== undefined && deleted < limit) deleted += Number(pruneBeyond.run(cutoff.keepRows, limit - deleted).changes);
      return deleted;
    },
  };
}
