import type { FlatPredicate, Limit, PolicyDocument, Predicate, RiskRule, ToolRules } from "./schema.ts";
import { RISK_CATEGORIES } from "../catalog/classify.ts";
import { argumentEquals, jsonEqual, describePredicate } from "./predicate.ts";
import { predicateRuleId } from "./rule-id.ts";
import { windowLength } from "./window.ts";
import { diffMethodSections } from "./methods-diff.ts";

/**
 * A semantic difference between two policies, for pull-request review. `looser` means some call may now be
 * allowed that was denied before (or a limit admits more); `stricter` the reverse; `neutral` changes only
 * wording (an `on_deny` message). A change whose direction cannot be known (e.g. a new regex) is reported
 * as looser, so that a reviewer looks at it.
 */
export interface PolicyChange {
  path: string;
  direction: "stricter" | "looser" | "neutral";
  description: string;
}

type Access = "hidden" | "denied" | "approval" | "allowed";

const escape = (s: string) => s.replaceAll("~", "~0").replaceAll("/", "~1");

const SCOPE_BREADTH = { user: -1, grant: 0, server: 1, policy: 1, global: 2 } as const;

/** Compares two valid documents tool by tool, as the gateway would decide calls. */
export function diffPolicies(before: PolicyDocument, after: PolicyDocument): PolicyChange[] {
  const changes: PolicyChange[] = [];
  if (before.default !== after.default) {
    changes.push({
      path: "/default",
      direction: after.default === "allow" ? "looser" : "stricter",
      description: after.default === "allow" ? "default changed deny → allow: tools not listed under tools are now allowed" : "default changed allow → deny: tools not listed under tools are now denied",
    });
  }
  const hideAllBefore = before.hide?.includes("*") ?? false;
  const hideAllAfter = after.hide?.includes("*") ?? false;
  if (hideAllBefore !== hideAllAfter) {
    changes.push({ path: "/hide", direction: hideAllAfter ? "stricter" : "looser", description: hideAllAfter ? `"*" added to hide: every tool is now hidden` : `"*" removed from hide: tools are no longer all hidden` });
  }
  diffLimits(before.all_tools?.limits ?? [], after.all_tools?.limits ?? [], "/all_tools/limits", "every tool", changes);
  if ((before.pin === true) !== (after.pin === true)) {
    changes.push({ path: "/pin", direction: after.pin ? "stricter" : "looser", description: after.pin ? "pin enabled: calls to tools whose definition changed since review are denied" : "pin disabled: changed tool definitions are no longer blocked" });
  }
  for (const category of RISK_CATEGORIES) diffRisk(category, before, after, changes);

  const names = new Set([...Object.keys(before.tools ?? {}), ...Object.keys(after.tools ?? {}), ...(before.hide ?? []), ...(after.hide ?? [])]);
  names.delete("*");
  for (const tool of [...names].sort()) {
    const a = access(before, tool);
    const b = access(after, tool);
    const path = `/tools/${escape(tool)}`;
    if (a !== b) {
      const looser = rank(b) > rank(a);
      changes.push({ path: b === "hidden" || a === "hidden" ? "/hide" : path, direction: looser ? "looser" : "stricter", description: accessChange(tool, a, b) });
      continue;
    }
    if (b !== "allowed") continue;
    diffRules(tool, path, rulesOf(before, tool), rulesOf(after, tool), changes);
  }
  diffMethodSections(before, after, changes);
  return changes;
}

/** A risk rule's effect on unlisted tools of its category; no rule means the document's default. */
function riskAccess(doc: PolicyDocument, rule: RiskRule | undefined): Access {
  if (rule === undefined) return doc.default === "allow" ? "allowed" : "denied";
  if (typeof rule === "string") return rule === "hide" ? "hidden" : rule === "deny" ? "denied" : rule === "approval" ? "approval" : "allowed";
  return "allowed";
}

function diffRisk(category: (typeof RISK_CATEGORIES)[number], before: PolicyDocument, after: PolicyDocument, changes: PolicyChange[]): void {
  const ra = before.risk?.[category];
  const rb = after.risk?.[category];
  if (ra === undefined && rb === undefined) return;
  const path = `/risk/${category}`;
  const a = riskAccess(before, ra);
  const b = riskAccess(after, rb);
  if (a !== b) {
    const say = (x: Access) => (x === "approval" ? "held for a person's approval" : x);
    changes.push({ path, direction: rank(b) > rank(a) ? "looser" : "stricter", description: `unlisted ${category} tools are now ${say(b)} (were ${say(a)})` });
    return;
  }
  if (b === "allowed") diffLimits(typeof ra === "object" ? ra.limits : [], typeof rb === "object" ? rb.limits : [], `${path}/limits`, `${category} tools`, changes);
}

function access(doc: PolicyDocument, tool: string): Access {
  if (doc.hide?.includes("*") || doc.hide?.includes(tool)) return "hidden";
  if (doc.tools && Object.hasOwn(doc.tools, tool)) return "allowed";
  return doc.default === "allow" ? "allowed" : "denied";
}

const rank = (a: Access) => (a === "hidden" ? 0 : a === "denied" ? 1 : a === "approval" ? 2 : 3);

function accessChange(tool: string, a: Access, b: Access): string {
  if (b === "hidden") return `"${tool}" is now hidden (was ${a})`;
  if (a === "hidden") return `"${tool}" is no longer hidden (now ${b === "allowed" ? "allowed, subject to its rules" : "denied"})`;
  return b === "allowed" ? `"${tool}" is now allowed (subject to its rules); it was denied` : `"${tool}" is now denied; it was allowed`;
}

function rulesOf(doc: PolicyDocument, tool: string): ToolRules {
  return (doc.tools && Object.hasOwn(doc.tools, tool) ? doc.tools[tool] : undefined) ?? {};
}

function diffRules(tool: string, path: string, a: ToolRules, b: ToolRules, changes: PolicyChange[]): void {
  diffPredicates(tool, "require", a.require ?? [], b.require ?? [], changes);
  diffPredicates(tool, "deny_if", a.deny_if ?? [], b.deny_if ?? [], changes);
  diffApproval(tool, `${path}/approval`, a.approval, b.approval, changes);
  diffLimits(a.limits ?? [], b.limits ?? [], `${path}/limits`, `"${tool}"`, changes);
}

function diffApproval(tool: string, path: string, a: ToolRules["approval"], b: ToolRules["approval"], changes: PolicyChange[]): void {
  if (a === undefined && b === undefined) return;
  const when = (x: NonNullable<ToolRules["approval"]>) => (x.when?.length ? x.when.map(words).join(" or ") : "every call");
  if (a === undefined) return void changes.push({ path, direction: "stricter", description: `approval added: calls to "${tool}" need a person's approval (${when(b!)})` });
  if (b === undefined) return void changes.push({ path, direction: "looser", description: `approval removed: calls to "${tool}" no longer need a person's approval (was: ${when(a)})` });
  if (!jsonEqual(a.when ?? [], b.when ?? [])) changes.push({ path: `${path}/when`, direction: "looser", description: `approval condition changed: ${when(a)} → ${when(b)} (direction unknown; review)` });
  if ((a.timeout ?? "30m") !== (b.timeout ?? "30m")) changes.push({ path: `${path}/timeout`, direction: "neutral", description: `approval timeout changed from ${a.timeout ?? "30m"} to ${b.timeout ?? "30m"}` });
  if ((a.error ?? "result") !== (b.error ?? "result")) changes.push({ path: `${path}/error`, direction: "neutral", description: `approval answer changed from ${a.error ?? "result"} to ${b.error ?? "result"}` });
  if ((a.mode ?? "retry") !== (b.mode ?? "retry")) changes.push({ path: `${path}/mode`, direction: "neutral", description: `approval mode changed from ${a.mode ?? "retry"} to ${b.mode ?? "retry"}` });
}

/**
 * Pairs predicates by meaning, not by position: first a rule that is still there (on_deny aside) wherever it
 * moved, then what is left by rule ID (path and operator; groups in order), first with first. So inserting a
 * rule in front reads as one rule added, not as every later rule changed.
 */
function diffPredicates(tool: string, list: "require" | "deny_if", a: readonly Predicate[], b: readonly Predicate[], changes: PolicyChange[]): void {
  type Entry = { p: Predicate; i: number };
  const unpaired: Entry[] = a.map((p, i) => ({ p, i }));
  const take = (match: (old: Entry) => boolean): Entry | undefined => {
    const at = unpaired.findIndex(match);
    return at < 0 ? undefined : unpaired.splice(at, 1)[0];
  };
  const news: Entry[] = b.map((p, i) => ({ p, i }));
  const paired = new Map<Entry, Entry>();
  for (const e of news) {
    const same = take((old) => jsonEqual(strip(old.p), strip(e.p)));
    if (same) paired.set(e, same);
  }
  const ruleKey = (p: Predicate) => ("conditions" in p ? "group" : `${p.path}\u0000${p.op}`);
  for (const e of news) {
    if (paired.has(e)) continue;
    const sameRule = take((old) => ruleKey(old.p) === ruleKey(e.p));
    if (sameRule) paired.set(e, sameRule);
  }
  const meaning = list === "require" ? "calls must now satisfy" : "calls are now denied when";
  for (const e of news) {
    const ruleId = predicateRuleId(tool, list, e.p, e.i);
    const old = paired.get(e);
    if (!old) {
      changes.push({ path: ruleId, direction: "stricter", description: `${list} added: ${meaning} ${words(e.p)}` });
      continue;
    }
    if (jsonEqual(strip(old.p), strip(e.p))) {
      if (old.p.on_deny !== e.p.on_deny) changes.push({ path: ruleId, direction: "neutral", description: `on_deny message changed` });
      continue;
    }
    changes.push({ path: ruleId, ...predicateChange(list, old.p, e.p) });
  }
  for (const e of unpaired) {
    changes.push({ path: predicateRuleId(tool, list, e.p, e.i), direction: "looser", description: `${list} removed: ${list === "require" ? "calls no longer need" : "calls are no longer denied when"} ${words(e.p)}` });
  }
}

function strip(p: Predicate): unknown {
  const { on_deny: _ignored, ...rest } = p;
  return rest;
}

function words(p: Predicate): string {
  if ("conditions" in p) return p.conditions.length === 0 ? "(always)" : p.conditions.map(describePredicate).join(" and ");
  return describePredicate(p);
}

/**
 * Direction of a changed predicate: known for numeric bounds and lists, otherwise "looser" (review it).
 * A bound compares numbers and numeric strings alike, and any other present value is undecided whatever the
 * bound, so moving the bound moves only the numeric part. A list item adds nothing when an item already there
 * matches it as an argument would (10000 matches "10000", not the reverse).
 */
function predicateChange(list: "require" | "deny_if", a: Predicate, b: Predicate): Omit<PolicyChange, "path"> {
  const description = `${list} changed: ${words(a)} → ${words(b)}`;
  if ("conditions" in a || "conditions" in b) return { direction: "looser", description: `${description} (direction unknown; review)` };
  const fa = a as FlatPredicate;
  const fb = b as FlatPredicate;
  let admitsMore: boolean | undefined;
  if (isBound(fa.op) && fa.op === fb.op && typeof fa.value === "number" && typeof fb.value === "number") {
    const raised = fb.value > fa.value;
    const holdsMore = fa.op === "lt" || fa.op === "lte" ? raised : !raised;
    admitsMore = list === "require" ? holdsMore : !holdsMore;
  } else if ((fa.op === "in" || fa.op === "not_in") && Array.isArray(fa.value) && Array.isArray(fb.value)) {
    const grew = fb.value.some((v) => !(fa.value as unknown[]).some((w) => argumentEquals(v, w)));
    const shrank = fa.value.some((v) => !(fb.value as unknown[]).some((w) => argumentEquals(v, w)));
    if (!grew && !shrank) return { direction: "neutral", description: `${description} (the same arguments match)` };
    if (grew !== shrank) {
      const holdsMore = fa.op === "in" ? grew : shrank;
      admitsMore = list === "require" ? holdsMore : !holdsMore;
    }
  }
  if (admitsMore === undefined) return { direction: "looser", description: `${description} (direction unknown; review)` };
  return { direction: admitsMore ? "looser" : "stricter", description };
}

const isBound = (op: FlatPredicate["op"]) => op === "lt" || op === "lte" || op === "gt" || op === "gte";

function diffLimits(a: readonly Limit[], b: readonly Limit[], base: string, subject: string, changes: PolicyChange[]): void {
  const before = new Map(a.map((l) => [l.counter, l]));
  const after = new Map(b.map((l) => [l.counter, l]));
  for (const [counter, l] of after) {
    const path = `${base}/${escape(counter)}`;
    const old = before.get(counter);
    if (!old) {
      changes.push({ path, direction: "stricter", description: `limit added on ${subject}: ${rate(l)}` });
      continue;
    }
    if (old.max !== l.max) changes.push({ path, direction: l.max > old.max ? "looser" : "stricter", description: `max ${l.max > old.max ? "raised" : "lowered"} from ${old.max} to ${l.max} per ${l.window}` });
    if (old.window !== l.window) {
      const longer = windowLength(l.window)! > windowLength(old.window)!;
      changes.push({ path, direction: longer ? "stricter" : "looser", description: `window changed from ${old.window} to ${l.window}` });
    }
    const sa = old.scope ?? "grant";
    const sb = l.scope ?? "grant";
    if (sa !== sb) {
      const broader = SCOPE_BREADTH[sb] > SCOPE_BREADTH[sa];
      const narrower = SCOPE_BREADTH[sb] < SCOPE_BREADTH[sa];
      changes.push({ path, direction: broader ? "stricter" : narrower ? "looser" : "looser", description: `scope changed from ${sa} to ${sb}${broader || narrower ? "" : " (direction unknown; review)"}` });
    }
  }
  for (const [counter, l] of before) {
    if (!after.has(counter)) changes.push({ path: `${base}/${escape(counter)}`, direction: "looser", description: `limit removed from ${subject}: ${rate(l)}` });
  }
}

function rate(l: Limit): string {
  return `${l.max} per ${l.window} (${l.scope ?? "grant"} scope, counter "${l.counter}")`;
}
