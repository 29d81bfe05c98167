import type { DatabaseSync } from "node:sqlite";
import type { RiskCategory, Severity, ToolDefinition } from "../../sdk/index.ts";
import type { CatalogEntry, CatalogStore } from "../catalog/catalog-store.ts";
import { transaction } from "./sqlite.ts";

export function createSqliteCatalogStore(db: DatabaseSync): CatalogStore {
  const fromRow = (r: Record<string, string | null>): CatalogEntry => ({
    server: r.server!,
    name: r.name!,
    definition: JSON.parse(r.definition!) as ToolDefinition,
    hash: r.hash!,
    reviewedHash: r.reviewed_hash!,
    category: r.category as RiskCategory,
    severity: r.severity as Severity,
    evidence: JSON.parse(r.evidence!) as string[],
    firstSeen: r.first_seen!,
    updatedAt: r.updated_at!,
    changedAt: r.changed_at ?? null,
  });
  return {
    async all() {
      return (db.prepare("SELECT * FROM tool_catalog ORDER BY server, name").all() as Record<string, string | null>[]).map(fromRow);
    },
    async replace(server, entries) {
      transaction(db, () => {
        db.prepare("DELETE FROM tool_catalog WHERE server = ?").run(server);
        const insert = db.prepare(
          "INSERT INTO tool_catalog (server, name, definition, hash, reviewed_hash, category, severity, evidence, first_seen, updated_at, changed_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
        );
        for (const e of entries) insert.run(server, e.name, JSON.stringify(e.definition), e.hash, e.reviewedHash, e.category, e.severity, JSON.stringify(e.evidence), e.firstSeen, e.updatedAt, e.changedAt);
      });
    },
    async review(server, tool, at) {
      const sql = "UPDATE tool_catalog SET reviewed_hash = hash, updated_at = ? WHERE server = ? AND reviewed_hash <> hash" + (tool === undefined ? "" : " AND name = ?");
      const result = tool === undefined ? db.prepare(sql).run(at, server) : db.prepare(sql).run(at, server, tool);
      return Number(result.changes);
    },
    async removeServer(server) {
      db.prepare("DELETE FROM tool_catalog WHERE server = ?").run(server);
    },
  };
}
