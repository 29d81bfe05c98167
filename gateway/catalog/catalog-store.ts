import type { RiskCategory, Severity, ToolDefinition } from "../../sdk/index.ts";

/** One tool of one server as the gateway last saw it, with its classification and review state. */
export interface CatalogEntry {
  server: string;
  name: string;
  definition: ToolDefinition;
  /** sha256 of the canonical JSON of the definition (name, title, description, schemas, annotations). */
  hash: string;
  /** The hash a person last accepted (first sight, a policy applied to the server, or an explicit review). */
  reviewedHash: string;
  category: RiskCategory;
  severity: Severity;
  evidence: string[];
  firstSeen: string;
  updatedAt: string;
  /** When the definition last changed, or null if never since first seen. */
  changedAt: string | null;
}

/** Where the catalog lives: SQLite now (gateway/store/sqlite-catalog.ts); the same contract for other stores. */
export interface CatalogStore {
  all(): Promise<CatalogEntry[]>;
  forServer(server: string): Promise<CatalogEntry[]>;
  /** Replaces what is stored for `server` with `entries` (tools no longer listed are removed). */
  replace(server: string, entries: readonly CatalogEntry[]): Promise<void>;
  /** Marks the current definition of `tool` (or of every tool of the server) as reviewed; returns how many changed. */
  review(server: string, tool: string | undefined, at: string): Promise<number>;
  removeServer(server: string): Promise<void>;
}
