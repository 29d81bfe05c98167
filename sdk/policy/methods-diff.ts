import type { PolicyDocument } from "./schema.ts";
import type { PolicyChange } from "./diff.ts";
import { printable } from "../display.ts";

interface Section {
  default: "allow" | "deny";
  allow?: readonly Record<string, string>[];
  deny_if?: readonly (Record<string, string> & { on_deny?: string })[];
}

const SECTIONS = [
  { key: "resources", field: "uri_regex", what: "resource URIs", entry: (v: string) => `URIs matching ${JSON.stringify(v)}` },
  { key: "prompts", field: "name", what: "prompts", entry: (v: string) => `prompt "${printable(v)}"` },
] as const;

/**
 * (extension) Changes to `resources`, `prompts`, `completion`, `client_roots` and `list`. An absent section
 * allows everything (and `client_roots` follows the gateway's per-transport default), so adding a section is
 * stricter and removing one looser.
 */
export function diffMethodSections(before: PolicyDocument, after: PolicyDocument, changes: PolicyChange[]): void {
  for (const s of SECTIONS) diffSection(s, before[s.key], after[s.key], changes);
  diffCompletion(before.completion ?? "allow", after.completion ?? "allow", changes);
  diffClientRoots(before.client_roots, after.client_roots, changes);
  const la = before.list ?? "visible";
  const lb = after.list ?? "visible";
  if (la !== lb) {
    changes.push({ path: "/list", direction: "neutral", description: lb === "filtered" ? "tools/list now shows only tools some call could be allowed to use (calls are decided as before)" : "tools/list now shows every tool but hidden ones; denied tools are listed, their calls still denied" });
  }
}

function diffSection(s: (typeof SECTIONS)[number], a: Section | undefined, b: Section | undefined, changes: PolicyChange[]): void {
  const path = `/${s.key}`;
  if (a === undefined && b === undefined) return;
  if (a === undefined) return void changes.push({ path, direction: "stricter", description: `${s.key} section added: ${s.what} are now governed (default ${b!.default}), where every one was allowed` });
  if (b === undefined) return void changes.push({ path, direction: "looser", description: `${s.key} section removed: every one of the ${s.what} is now allowed` });
  if (a.default !== b.default) {
    changes.push({ path: `${path}/default`, direction: b.default === "allow" ? "looser" : "stricter", description: `${s.key} default changed ${a.default} → ${b.default}` });
  }
  if (b.default === "deny") {
    const before = new Set(a.default === "deny" ? (a.allow ?? []).map((e) => e[s.field]!) : []);
    const after = new Set((b.allow ?? []).map((e) => e[s.field]!));
    for (const v of after) if (!before.has(v)) changes.push({ path: `${path}/allow`, direction: "looser", description: `${s.entry(v)} now allowed` });
    if (a.default === "deny") for (const v of before) if (!after.has(v)) changes.push({ path: `${path}/allow`, direction: "stricter", description: `${s.entry(v)} no longer allowed` });
  }
  const denyA = new Map<string, string | undefined>();
  for (const e of a.deny_if ?? []) if (!denyA.has(e[s.field]!)) denyA.set(e[s.field]!, e.on_deny);
  const denyB = new Map<string, string | undefined>();
  for (const e of b.deny_if ?? []) if (!denyB.has(e[s.field]!)) denyB.set(e[s.field]!, e.on_deny);
  for (const [v, onDeny] of denyB) {
    if (!denyA.has(v)) changes.push({ path: `${path}/deny_if`, direction: "stricter", description: `${s.entry(v)} now denied` });
    else if (denyA.get(v) !== onDeny) changes.push({ path: `${path}/deny_if`, direction: "neutral", description: `on_deny message changed for ${s.entry(v)}` });
  }
  for (const v of denyA.keys()) if (!denyB.has(v)) changes.push({ path: `${path}/deny_if`, direction: "looser", description: `${s.entry(v)} no longer denied` });
}

function diffCompletion(a: "allow" | "deny", b: "allow" | "deny", changes: PolicyChange[]): void {
  if (a === b) return;
  changes.push({ path: "/completion", direction: b === "allow" ? "looser" : "stricter", description: b === "allow" ? "completion/complete is now allowed" : "completion/complete is now denied" });
}

const ROOTS = { allow: "relayed for every server", deny: "never relayed", default: "relayed for HTTP servers only (the gateway's default)" } as const;
const ROOTS_RANK = { deny: 0, default: 1, allow: 2 } as const;

function diffClientRoots(a: "allow" | "deny" | undefined, b: "allow" | "deny" | undefined, changes: PolicyChange[]): void {
  const ka = a ?? "default";
  const kb = b ?? "default";
  if (ka === kb) return;
  changes.push({ path: "/client_roots", direction: ROOTS_RANK[kb] > ROOTS_RANK[ka] ? "looser" : "stricter", description: `the agent's roots are now ${ROOTS[kb]} (were ${ROOTS[ka]})` });
}
