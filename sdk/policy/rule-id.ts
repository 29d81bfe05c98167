import type { FlatPredicate, Predicate } from "./schema.ts";

/**
 * Decision rule IDs, as PolicyLayer writes them in its logs: `(no policy)`, `(hidden)`, `(default deny)`,
 * JSON pointers into the document for rules, and `""` for an allowed call. A flat predicate is named by
 * `<path>-<op>` (`/tools/create_charge/deny_if/args.amount-gt`); a group predicate, which has no single
 * path, by its index in the list (`/tools/create_charge/deny_if/0`). Tool and counter names are escaped
 * as JSON-pointer segments (`~` → `~0`, `/` → `~1`).
 */
export const RULE_NO_POLICY = "(no policy)";
export const RULE_HIDDEN = "(hidden)";
export const RULE_DEFAULT_DENY = "(default deny)";
export const RULE_ALLOWED = "";
export const RULE_PINNED = "(pinned)";

const segment = (s: string) => s.replaceAll("~", "~0").replaceAll("/", "~1");

export function predicateRuleId(tool: string, list: "require" | "deny_if", predicate: Predicate, index: number): string {
  const name = "conditions" in predicate ? String(index) : `${(predicate as FlatPredicate).path}-${(predicate as FlatPredicate).op}`;
  return `/tools/${segment(tool)}/${list}/${segment(name)}`;
}

export function toolLimitRuleId(tool: string, counter: string): string {
  return `/tools/${segment(tool)}/limits/${segment(counter)}`;
}

export function allToolsLimitRuleId(counter: string): string {
  return `/all_tools/limits/${segment(counter)}`;
}

export function riskRuleId(category: string): string {
  return `/risk/${segment(category)}`;
}

export function riskLimitRuleId(category: string, counter: string): string {
  return `/risk/${segment(category)}/limits/${segment(counter)}`;
}

export function approvalRuleId(tool: string): string {
  return `/tools/${segment(tool)}/approval`;
}

/**
 * (extension) Rule IDs of the sections for requests other than `tools/call`: `/resources/deny_if/<i>` and
 * `/prompts/deny_if/<i>` for a deny entry, `(resources default deny)` and `(prompts default deny)` when nothing
 * allows the request, `/completion` for `completion: "deny"`, and the section itself (`/resources`, `/prompts`)
 * when the request cannot be decided (a missing or odd `uri`/`name`, an ambiguous URI).
 */
export const RULE_RESOURCES = "/resources";
export const RULE_RESOURCES_DEFAULT_DENY = "(resources default deny)";
export const RULE_PROMPTS = "/prompts";
export const RULE_PROMPTS_DEFAULT_DENY = "(prompts default deny)";
export const RULE_COMPLETION = "/completion";

export function resourceDenyRuleId(index: number): string {
  return `/resources/deny_if/${index}`;
}

export function promptDenyRuleId(index: number): string {
  return `/prompts/deny_if/${index}`;
}
