import { AUDIT_COLUMNS, auditValues, type AuditBackend } from "./audit-log.ts";
import type { Postgres } from "./postgres.ts";

const COLUMN_COUNT = AUDIT_COLUMNS.split(",").length;

/** Audit rows in PostgreSQL: each batch in one transaction of multi-row INSERTs. */
export function createPgAuditBackend(db: Postgres): AuditBackend {
  return {
    maxRows: 5_000,
    async insert(rows) {
      // One transaction, so a retried batch is never written twice.
      await db.transaction(async (c) => {
        for (let start = 0; start < rows.length; start += 1_000) {
          const chunk = rows.slice(start, start + 1_000);
          const tuples = chunk.map((_, i) => `(${Array.from({ length: COLUMN_COUNT }, (_, j) => `$${i * COLUMN_COUNT + j + 1}`).join(", ")})`);
          await c.query(`INSERT INTO audit (${AUDIT_COLUMNS}) VALUES ${tuples.join(", ")}`, chunk.flatMap(auditValues));
        }
      });
    },
    async select(where, after, limit) {
      const clauses = ["id > $1", ...where.map(([column], i) => (column.includes(" ") ? `${column} $${i + 2}` : `${column} = $${i + 2}`))];
      const sql = `SELECT * FROM audit WHERE ${clauses.join(" AND ")} ORDER BY id LIMIT $${where.length + 2}`;
      return (await db.pool.query(sql, [after, ...where.map(([, v]) => v), limit])).rows as Record<string, unknown>[];
    },
    async prune(cutoff, limit) {
      let deleted = 0;
      if (cutoff.before !== undefined) {
        deleted += (await db.pool.query("DELETE FROM audit WHERE id IN (SELECT id FROM audit WHERE time < $1 ORDER BY time LIMIT $2)", [cutoff.before, limit])).rowCount ?? 0;
      }
      if (cutoff.keepRows !== undefined && deleted < limit) {
        // The newest n rows are those within n of the largest id (fewer where the sequence left gaps).
        const sql = "DELETE FROM audit WHERE id IN (SELECT id FROM audit WHERE id <= (SELECT max(id) FROM audit) - $1 ORDER BY id LIMIT $2)";
        deleted += (await db.pool.query(sql, [cutoff.keepRows, limit - deleted])).rowCount ?? 0;
      }
      return deleted;
    },
  };
}
