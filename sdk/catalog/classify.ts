/**
 * Risk classification of MCP tools, PolicyLayer-style: a category (read, write, execute, financial, destructive,
 * other) and a severity (low to critical), with the evidence that decided them. Deterministic: a pure function
 * of the tool definition (name, description, input schema, annotations), so the gateway, the CLI and tests agree.
 *
 * Signals, strongest category wins (destructive > financial > execute > write > read):
 * - MCP annotations: `destructiveHint: true` → destructive; `readOnlyHint: true` → read (only when nothing
 *   riskier is found: annotations are hints from the server, not guarantees).
 * - Verbs in the tool name (snake_case, kebab-case, camelCase split into words).
 * - Input schema properties: commands/scripts → execute; amounts/prices → financial; paths and URLs raise the
 *   severity of writes (they reach the file system or the network).
 */

export const RISK_CATEGORIES = ["read", "write", "execute", "financial", "destructive", "other"] as const;
export type RiskCategory = (typeof RISK_CATEGORIES)[number];
export const SEVERITIES = ["low", "medium", "high", "critical"] as const;
export type Severity = (typeof SEVERITIES)[number];

export interface ToolDefinition {
  name: string;
  description?: string;
  inputSchema?: unknown;
  annotations?: { readOnlyHint?: boolean; destructiveHint?: boolean; idempotentHint?: boolean; openWorldHint?: boolean; title?: string };
}

export interface Classification {
  category: RiskCategory;
  severity: Severity;
  /** Why, strongest signal first, e.g. `name verb "delete"`, `annotation destructiveHint`. */
  evidence: string[];
}

const RANK: Record<RiskCategory, number> = { other: 0, read: 1, write: 2, execute: 3, financial: 4, destructive: 5 };

const VERBS: Record<Exclude<RiskCategory, "other">, readonly string[]> = {
  destructive: ["delete", "remove", "rm", "drop", "destroy", "purge", "truncate", "wipe", "erase", "kill", "terminate", "revoke", "archive", "unlink", "clear", "reset", "uninstall"],
  financial: ["pay", "payment", "charge", "refund", "transfer", "payout", "invoice", "withdraw", "deposit", "purchase", "buy", "sell", "checkout", "subscribe", "bill", "billing"],
  execute: ["exec", "execute", "run", "shell", "eval", "evaluate", "spawn", "invoke", "script", "bash", "sh", "cmd", "command", "trigger", "deploy", "start", "launch"],
  write: ["write", "create", "update", "edit", "set", "put", "post", "add", "insert", "upload", "move", "rename", "modify", "patch", "save", "append", "send", "publish", "commit", "merge", "push", "assign", "toggle", "enable", "disable", "replace", "upsert", "make", "new", "fork", "comment", "reply"],
  read: ["get", "list", "search", "read", "find", "fetch", "query", "describe", "show", "view", "lookup", "count", "stat", "info", "inspect", "check", "browse", "download", "print", "tree", "head", "tail", "open", "load", "echo", "ping", "status"],
};

const SCHEMA_SIGNALS: { category: RiskCategory | undefined; label: string; pattern: RegExp }[] = [
  { category: "execute", label: "commands", pattern: /^(command|cmd|script|code|shell|program|exec|executable|args?v?)$/i },
  { category: "financial", label: "amounts", pattern: /^(amount|price|cost|total|currency|payment|charge|refund|balance|fee)s?$/i },
  { category: undefined, label: "paths", pattern: /(^|_|[a-z])(path|paths|file|files|filename|directory|dir|folder|source|destination)$/i },
  { category: undefined, label: "URLs", pattern: /(^|_|[a-z])(url|uri|urls|endpoint|href|link|webhook)$/i },
];

/** `deleteEntities`, `delete_entities`, `delete-entities` → ["delete", "entities"]. */
export function nameWords(name: string): string[] {
  return name
    .replace(/([a-z0-9])([A-Z])/g, "$1 $2")
    .split(/[^A-Za-z0-9]+/)
    .filter(Boolean)
    .map((w) => w.toLowerCase());
}

function schemaProperties(schema: unknown): string[] {
  const out: string[] = [];
  const walk = (node: unknown, depth: number) => {
    if (depth > 4 || node === null || typeof node !== "object") return;
    const props = (node as { properties?: unknown }).properties;
    if (props && typeof props === "object") {
      for (const [key, child] of Object.entries(props)) {
        out.push(key);
        walk(child, depth + 1);
      }
    }
    const items = (node as { items?: unknown }).items;
    if (items) walk(items, depth + 1);
  };
  walk(schema, 0);
  return out;
}

export function classifyTool(tool: ToolDefinition): Classification {
  const found: { category: RiskCategory; evidence: string }[] = [];
  const annotations = tool.annotations ?? {};
  if (annotations.destructiveHint === true) found.push({ category: "destructive", evidence: "annotation destructiveHint" });

  const words = nameWords(tool.name);
  for (const category of ["destructive", "financial", "execute", "write", "read"] as const) {
    const verb = words.find((w) => VERBS[category].includes(w));
    if (verb) found.push({ category, evidence: `name verb "${verb}"` });
  }

  const properties = schemaProperties(tool.inputSchema);
  const signals = new Set<string>();
  for (const signal of SCHEMA_SIGNALS) {
    const property = properties.find((p) => signal.pattern.test(p));
    if (!property) continue;
    signals.add(signal.label);
    if (signal.category) found.push({ category: signal.category, evidence: `input "${property}" (${signal.label})` });
  }
  if (annotations.readOnlyHint === true) found.push({ category: "read", evidence: "annotation readOnlyHint" });

  found.sort((a, b) => RANK[b.category] - RANK[a.category]);
  const category: RiskCategory = found[0]?.category ?? "other";
  const evidence = found.filter((f) => f.category === category).map((f) => f.evidence);
  for (const label of signals) if (!evidence.some((e) => e.includes(`(${label})`))) evidence.push(`input ${label}`);
  if (annotations.openWorldHint === true) evidence.push("annotation openWorldHint");
  if (evidence.length === 0) evidence.push("no known verb, annotation or input signal");
  return { category, severity: severityOf(category, signals, annotations), evidence };
}

function severityOf(category: RiskCategory, signals: Set<string>, annotations: NonNullable<ToolDefinition["annotations"]>): Severity {
  switch (category) {
    case "destructive":
    case "financial":
      return "critical";
    case "execute":
      return "high";
    case "write":
      return signals.has("URLs") || annotations.openWorldHint === true ? "high" : "medium";
    case "read":
      return signals.has("paths") || signals.has("URLs") || annotations.openWorldHint === true ? "medium" : "low";
    case "other":
      return "medium";
  }
}
