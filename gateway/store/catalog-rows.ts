import type { RiskCategory, Severity, ToolDefinition } from "../../sdk/index.ts";
import type { CatalogEntry } from "../catalog/catalog-store.ts";

/** Row ⇄ entry mapping shared by the SQLite and PostgreSQL catalog stores. */
export const CATALOG_COLUMNS = "server, name, definition, hash, reviewed_hash, category, severity, evidence, first_seen, updated_at, changed_at";

export function catalogValues(server: string, e: CatalogEntry): (string | null)[] {
  return [server, e.name, JSON.stringify(e.definition), e.hash, e.reviewedHash, e.category, e.severity, JSON.stringify(e.evidence), e.firstSeen, e.updatedAt, e.changedAt];
}

export function catalogFromRow(r: Record<string, unknown>): CatalogEntry {
  return {
    server: r.server as string,
    name: r.name as string,
    definition: JSON.parse(r.definition as string) as ToolDefinition,
    hash: r.hash as string,
    reviewedHash: r.reviewed_hash as string,
    category: r.category as RiskCategory,
    severity: r.severity as Severity,
    evidence: JSON.parse(r.evidence as string) as string[],
    firstSeen: r.first_seen as string,
    updatedAt: r.updated_at as string,
    changedAt: (r.changed_at as string | null) ?? null,
  };
}
