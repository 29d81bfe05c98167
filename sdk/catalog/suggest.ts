import { stringify } from "yaml";
import type { PolicyDocumentInput } from "../policy/schema.ts";
import type { CatalogTool } from "./catalog-tool.ts";
import type { RiskCategory } from "./classify.ts";

/** Rules by category for `risk`, as `toolgate policy suggest` starts a policy (docs/catalog.md). */
export const SUGGESTED_RISK = {
  read: "allow",
  write: { limits: [{ counter: "writes", window: "minute", max: 30 }] },
  execute: { limits: [{ counter: "executions", window: "minute", max: 10 }] },
  destructive: "hide",
  financial: "approval",
  other: "deny",
} as const satisfies NonNullable<PolicyDocumentInput["risk"]>;

export interface Suggestion {
  document: PolicyDocumentInput;
  /** The document as YAML with a comment per tool (its category, severity and evidence). */
  yaml: string;
  /** A `toolgate policy test` cases file exercising one call per tool with the expected effect. */
  cases: { name: string; tool: string; category: RiskCategory; expect: "allow" | "deny" | "approval"; rule?: string }[];
}

/**
 * A starting policy for a server from its catalog: default deny, `risk` rules by category, `pin: true`, and every
 * tool listed in a comment with why it got its category. Tools are not listed under `tools`, so the risk rules
 * decide them; move a tool under `tools` to give it its own rules.
 */
export function suggestPolicy(server: string, tools: readonly CatalogTool[]): Suggestion {
  const document: PolicyDocumentInput = { version: "1", default: "deny", pin: true, risk: structuredClone(SUGGESTED_RISK) as PolicyDocumentInput["risk"] };
  const lines = [
    `# Starting policy for server "${server}", from the gateway's tool catalog (toolgate policy suggest).`,
    "# Tools are decided by their risk category: read → allow; write → 30/min; execute → 10/min;",
    "# destructive → hidden; financial → a person approves each call; unclassified → denied.",
    "# List a tool under `tools` to give it its own rules.",
    "# pin: calls to a tool whose definition changed since review are denied until it is reviewed again.",
    "#",
    `# Tools (${tools.length}):`,
    ...tools.map((t) => `#   ${t.name}: ${t.category}, ${t.severity} (${t.evidence.join("; ")})`),
    stringify(document).trimEnd(),
    "",
  ];
  const cases = tools.map((t) => {
    const rule = SUGGESTED_RISK[t.category];
    const expect: "allow" | "deny" | "approval" = typeof rule === "object" || rule === "allow" ? "allow" : rule === "approval" ? "approval" : "deny";
    return { name: `${t.name} (${t.category})`, tool: t.name, category: t.category, expect, ...(expect !== "allow" ? { rule: `/risk/${t.category}` } : {}) };
  });
  return { document, yaml: lines.join("\n"), cases };
}
