import type { DatabaseSync } from "node:sqlite";
import type { CatalogStore } from "../catalog/catalog-store.ts";
import { CATALOG_COLUMNS, catalogFromRow, catalogValues } from "./catalog-rows.ts";
import { transaction } from "./sqlite.ts";

export function createSqliteCatalogStore(db: DatabaseSync): CatalogStore {
  return {
    async all() {
      return (db.prepare("SELECT * FROM tool_catalog ORDER BY server, name").all() as Record<string, unknown>[]).map(catalogFromRow);
    },
    async forServer(server) {
      return (db.prepare("SELECT * FROM tool_catalog WHERE server = ? ORDER BY name").all(server) as Record<string, unknown>[]).map(catalogFromRow);
    },
    async replace(server, entries) {
      transaction(db, () => {
        db.prepare("DELETE FROM tool_catalog WHERE server = ?").run(server);
        const insert = db.prepare(`INSERT INTO tool_catalog (${CATALOG_COLUMNS}) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`);
        for (const e of entries) insert.run(...catalogValues(server, e));
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
