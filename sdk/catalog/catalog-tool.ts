import type { RiskCategory, Severity } from "./classify.ts";

/** A tool of a server as the admin API shows it (`GET /v1/servers/{name}/tools`). */
export interface CatalogTool {
  name: string;
  title?: string;
  description?: string;
  inputSchema?: unknown;
  annotations?: Record<string, unknown>;
  category: RiskCategory;
  severity: Severity;
  /** Why it got its category, strongest signal first. */
  evidence: string[];
  hash: string;
  reviewedHash: string;
  /** The definition changed since it was last reviewed (a policy applied to the server, or an explicit review). */
  changed: boolean;
  firstSeen: string;
  updatedAt: string;
  changedAt: string | null;
}

export interface CatalogToolList {
  server: string;
  items: CatalogTool[];
}
