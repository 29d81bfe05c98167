import { ArgumentPath, KEYS, type PolicyDocument } from "./schema.ts";
import { parseDocument } from "./parse-document.ts";
import { OPERATORS } from "./operators.ts";
import { type Issue, toPointer, zodIssues } from "../issues.ts";
import { ToolgateError } from "../errors.ts";
import { checkNames } from "./names.ts";
import { checkMethodSections, methodKeys } from "./methods-validate.ts";

export type ValidationResult =
  | { ok: true; document: PolicyDocument; warnings: Issue[] }
  | { ok: false; errors: Issue[]; warnings: Issue[] };

/**
 * Validates a policy document and reports every problem, each with a JSON pointer and a plain message.
 * Errors make the document unusable; warnings point at rules that are legal but can never take effect.
 *
 * @example
 * const r = validatePolicy({ version: "1", default: "deny", tools: { search: {} } });
 * if (!r.ok) for (const e of r.errors) console.log(`${e.path}: ${e.message}`);
 */
export function validatePolicy(input: unknown): ValidationResult {
  const parsed = parseDocument(input);
  const errors: Issue[] = parsed.success ? [] : zodIssues(parsed.error, { input, pickUnionBranch, knownKeys });
  const warnings: Issue[] = [];
  checkDocument(input, errors, warnings);
  errors.sort(byPath);
  warnings.sort(byPath);
  if (errors.length > 0 || !parsed.success) return { ok: false, errors, warnings };
  return { ok: true, document: parsed.data, warnings };
}

/** Like `validatePolicy`, but returns the document or throws a `ToolgateError` (`invalid_policy`) listing every problem. */
export function parsePolicy(input: unknown): PolicyDocument {
  const result = validatePolicy(input);
  if (result.ok) return result.document;
  throw new ToolgateError("invalid_policy", `invalid policy document:\n${result.errors.map((e) => `  ${e.path || "/"}: ${e.message}`).join("\n")}`, { issues: result.errors });
}

const byPath = (a: Issue, b: Issue) => (a.path < b.path ? -1 : a.path > b.path ? 1 : 0);

/**
 * Which branch of a failed union to report. A risk rule written as a string is one of the words, anything else
 * the `{limits}` object. A predicate written with `conditions` is a group; anything else a flat predicate.
 */
function pickUnionBranch(value: unknown, path: readonly PropertyKey[]): number {
  if (path[0] === "risk") return typeof value === "string" ? 0 : 1;
  return isObject(value) && "conditions" in value ? 0 : 1;
}

function knownKeys(path: readonly PropertyKey[]): readonly string[] {
  const p = path.map(String);
  if (p.length === 0) return KEYS.document;
  if (p[0] === "all_tools") return p.length === 1 ? KEYS.allTools : KEYS.limit;
  if (p[0] === "risk") return p.length === 1 ? KEYS.risk : p.length === 2 ? ["limits"] : KEYS.limit;
  if (p[0] === "resources" || p[0] === "prompts") return methodKeys(p);
  if (p[0] === "tools") {
    if (p.length === 2) return KEYS.tool;
    if (p[2] === "limits") return KEYS.limit;
    if (p[2] === "approval") return p.length === 3 ? KEYS.approval : p.length === 5 ? [...KEYS.flat, ...KEYS.group] : KEYS.flat;
    if (p.length === 4) return [...KEYS.flat, ...KEYS.group];
    return KEYS.flat;
  }
  return [];
}

function isObject(v: unknown): v is Record<string, unknown> {
  return v !== null && typeof v === "object" && !Array.isArray(v);
}

/** Checks that need more than one field. Runs on the raw input, so it must not trust any shape. */
function checkDocument(input: unknown, errors: Issue[], warnings: Issue[]): void {
  if (!isObject(input)) return;
  checkNames(input, errors);
  checkMethodSections(input, warnings);
  const hide = Array.isArray(input.hide) ? input.hide : [];
  const tools = isObject(input.tools) ? input.tools : {};
  const seen = new Map<unknown, number>();
  hide.forEach((name, i) => {
    if (seen.has(name)) errors.push({ path: toPointer(["hide", i]), message: `duplicate entry ${JSON.stringify(name)} (also at /hide/${seen.get(name)})` });
    else seen.set(name, i);
  });
  const hideAll = hide.includes("*");
  for (const tool of Object.keys(tools)) {
    if (hideAll) warnings.push({ path: toPointer(["tools", tool]), message: `rules for "${tool}" never apply: hide contains "*", which hides every tool` });
    else if (hide.includes(tool)) warnings.push({ path: toPointer(["tools", tool]), message: `rules for "${tool}" never apply: the tool is also in hide, which wins` });
    if (tool === "*") warnings.push({ path: toPointer(["tools", "*"]), message: `"*" is a tool name here, not a wildcard; use all_tools for limits on every tool` });
  }
  if (isObject(input.all_tools)) checkLimits(input.all_tools.limits, ["all_tools", "limits"], errors);
  if (isObject(input.risk)) {
    for (const [category, rule] of Object.entries(input.risk)) if (isObject(rule)) checkLimits(rule.limits, ["risk", category, "limits"], errors);
    if (hideAll) warnings.push({ path: "/risk", message: 'risk rules never apply: hide contains "*", which hides every tool' });
  }
  for (const [tool, rules] of Object.entries(tools)) {
    if (!isObject(rules)) continue;
    checkLimits(rules.limits, ["tools", tool, "limits"], errors);
    checkPredicates(rules.require, ["tools", tool, "require"], "require", errors, warnings);
    checkPredicates(rules.deny_if, ["tools", tool, "deny_if"], "deny_if", errors, warnings);
    checkDeadAfterAlwaysDeny(rules, tool, warnings);
  }
}

function checkLimits(limits: unknown, at: PropertyKey[], errors: Issue[]): void {
  if (!Array.isArray(limits)) return;
  const seen = new Map<string, number>();
  limits.forEach((limit, i) => {
    if (!isObject(limit) || typeof limit.counter !== "string") return;
    const first = seen.get(limit.counter);
    if (first !== undefined) {
      errors.push({ path: toPointer([...at, i, "counter"]), message: `duplicate counter "${limit.counter}" (also used by ${toPointer([...at, first])})` });
    } else seen.set(limit.counter, i);
  });
}

function conditionsOf(p: Record<string, unknown>): Record<string, unknown>[] {
  if (Array.isArray(p.conditions)) return p.conditions.filter(isObject);
  return [p];
}

function checkPredicates(list: unknown, at: PropertyKey[], kind: "require" | "deny_if", errors: Issue[], warnings: Issue[]): void {
  if (!Array.isArray(list)) return;
  list.forEach((p, i) => {
    if (!isObject(p)) return;
    if (kind === "require" && Array.isArray(p.conditions) && p.conditions.length === 0) {
      warnings.push({ path: toPointer([...at, i]), message: "a require group with no conditions always holds, so it has no effect" });
    }
    const conditions = conditionsOf(p);
    conditions.forEach((c, j) => {
      const where = Array.isArray(p.conditions) ? [...at, i, "conditions", j] : [...at, i];
      if (!(OPERATORS as readonly unknown[]).includes(c.op)) {
        // zod stops at an unknown operator; still report a bad path so every problem shows at once.
        const path = ArgumentPath.safeParse(c.path);
        if (!path.success) errors.push({ path: toPointer([...where, "path"]), message: path.error.issues[0]!.message });
      }
      if (c.op === "in" && Array.isArray(c.value) && c.value.length === 0) {
        errors.push({ path: toPointer([...where, "value"]), message: kind === "require"
          ? `"in" with an empty list never holds, so every call to this tool would be denied; use deny_if with empty conditions to deny outright`
          : `"in" with an empty list never holds, so this rule can never deny` });
      }
    });
    const contradiction = numericContradiction(conditions);
    if (contradiction && (kind === "deny_if" || Array.isArray(p.conditions))) {
      errors.push({ path: toPointer([...at, i]), message: `conditions can never all hold: ${contradiction}` });
    }
  });
  if (kind === "require") {
    const flat = list.filter((p) => isObject(p) && !Array.isArray(p.conditions)) as Record<string, unknown>[];
    const contradiction = numericContradiction(flat);
    if (contradiction) errors.push({ path: toPointer(at), message: `these requirements can never all hold, so every call would be denied: ${contradiction}` });
  }
}

/** Finds numeric bounds on one path that exclude each other, e.g. `args.a gt 10` and `args.a lt 5`. */
function numericContradiction(conditions: Record<string, unknown>[]): string | undefined {
  const bounds = new Map<string, { low: number; lowStrict: boolean; high: number; highStrict: boolean }>();
  for (const c of conditions) {
    if (typeof c.path !== "string" || typeof c.value !== "number") continue;
    const b = bounds.get(c.path) ?? { low: -Infinity, lowStrict: false, high: Infinity, highStrict: false };
    if ((c.op === "gt" || c.op === "gte") && (c.value > b.low || (c.value === b.low && c.op === "gt"))) { b.low = c.value; b.lowStrict = c.op === "gt"; }
    if ((c.op === "lt" || c.op === "lte") && (c.value < b.high || (c.value === b.high && c.op === "lt"))) { b.high = c.value; b.highStrict = c.op === "lt"; }
    bounds.set(c.path, b);
    if (b.low > b.high || (b.low === b.high && (b.lowStrict || b.highStrict))) {
      return `${c.path} must be ${b.lowStrict ? ">" : ">="} ${b.low} and ${b.highStrict ? "<" : "<="} ${b.high}`;
    }
  }
  return undefined;
}

function checkDeadAfterAlwaysDeny(rules: Record<string, unknown>, tool: string, warnings: Issue[]): void {
  const denyIf = Array.isArray(rules.deny_if) ? rules.deny_if : [];
  const always = denyIf.findIndex((p) => isObject(p) && Array.isArray(p.conditions) && p.conditions.length === 0);
  if (always < 0) return;
  const after = denyIf.length - always - 1;
  const limits = Array.isArray(rules.limits) ? rules.limits.length : 0;
  if (after > 0 || limits > 0) {
    warnings.push({ path: toPointer(["tools", tool, "deny_if", always]), message: `denies every call to "${tool}", so the rules after it (${[after > 0 ? `${after} deny_if` : "", limits > 0 ? `${limits} limits` : ""].filter(Boolean).join(", ")}) never apply` });
  }
}
