import type { CatalogStore } from "../catalog/catalog-store.ts";
import { CATALOG_COLUMNS, catalogFromRow, catalogValues } from "./catalog-rows.ts";
import { CONFIG_CHANNEL, type Postgres, type Queryable } from "./postgres.ts";

/** The tool catalog in PostgreSQL. Changes are announced so every replica re-reads that server's tools. */
export function createPgCatalogStore(db: Postgres): CatalogStore {
  const announce = (c: Queryable, server: string) => c.query("SELECT pg_notify($1, $2)", [CONFIG_CHANNEL, JSON.stringify({ kind: "catalog", name: server })]);
  return {
    async all() {
      return (await db.pool.query("SELECT * FROM tool_catalog ORDER BY server, name")).rows.map(catalogFromRow);
    },
    async forServer(server) {
      return (await db.pool.query("SELECT * FROM tool_catalog WHERE server = $1 ORDER BY name", [server])).rows.map(catalogFromRow);
    },
    async replace(server, entries) {
      await db.transaction(async (c) => {
        await c.query("DELETE FROM tool_catalog WHERE server = $1", [server]);
        for (const e of entries) await c.query(`INSERT INTO tool_catalog (${CATALOG_COLUMNS}) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11)`, catalogValues(server, e));
        await announce(c, server);
      });
    },
    async review(server, tool, at) {
      return db.transaction(async (c) => {
        const params = tool === undefined ? [at, server] : [at, server, tool];
        const r = await c.query("UPDATE tool_catalog SET reviewed_hash = hash, updated_at = $1 WHERE server = $2 AND reviewed_hash <> hash" + (tool === undefined ? "" : " AND name = $3"), params);
        if (r.rowCount) await announce(c, server);
        return r.rowCount ?? 0;
      });
    },
    async removeServer(server) {
      await db.transaction(async (c) => {
        await c.query("DELETE FROM tool_catalog WHERE server = $1", [server]);
        await announce(c, server);
      });
    },
  };
}
