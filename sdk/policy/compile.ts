import type { FlatPredicate, Limit, PolicyDocument, Predicate, RiskRule, Scope } from "./schema.ts";
import type { RiskCategory } from "../catalog/classify.ts";
import { allOf, compilePredicate, describePredicate, type Outcome, type Test } from "./predicate.ts";
import { allToolsLimitRuleId, approvalRuleId, predicateRuleId, riskLimitRuleId, riskRuleId, RULE_ALLOWED, RULE_DEFAULT_DENY, RULE_HIDDEN, RULE_NO_POLICY, RULE_PINNED, toolLimitRuleId } from "./rule-id.ts";
import { windowLength, windowStart } from "./window.ts";
import { compileMethods, type RequestDecision, type RequestInput } from "./methods.ts";
import { printable } from "../display.ts";

/** What a call is decided on. `now` is epoch milliseconds (or a Date); it picks the limit windows. */
export interface DecideInput {
  tool: string;
  args?: unknown;
  grant: string;
  /** The caller (identity provider and subject) when the call came with an access token: `scope: "user"` counts per caller. */
  subject?: string;
  server: string;
  now?: number | Date;
  /** The tool's risk category from the gateway's catalog; `risk` rules apply to unlisted tools only when known. */
  category?: RiskCategory;
  /** The tool's definition changed since it was last reviewed (the catalog); denied when the policy has `pin`. */
  changed?: boolean;
}

/**
 * One counter slot a call must fit in. The caller reserves every reservation of a decision at once
 * (all-or-nothing) before forwarding, and rolls them back when the upstream call fails.
 */
export interface Reservation {
  /** Identity of the counter slot: scope and its id, tool (or all_tools), counter name, window start. */
  key: string;
  counter: string;
  max: number;
  window: string;
  scope: Scope;
  windowStart: number;
  /** When this window ends and the counter starts again from zero (epoch ms). */
  resetAt: number;
  /** Rule ID reported when this counter is full. */
  rule: string;
}

/** How a call that needs approval waits for it (the tool's `approval` in the policy). */
export interface ApprovalRequirement {
  timeoutMs: number;
  error: "result" | "jsonrpc";
  /** "hold": the gateway keeps the request open until a person decides; "retry": the agent retries. */
  mode: "retry" | "hold";
  /** What the approval is about, for approvers: the condition that held, or "every call". */
  reason: string;
}

export type Decision =
  | { effect: "allow"; rule: ""; message: ""; reservations: readonly Reservation[] }
  | { effect: "deny"; rule: string; message: string; reservations: readonly Reservation[] }
  /** A person must approve this exact call; once approved, the call takes `reservations` like an allowed one. */
  | { effect: "approval"; rule: string; message: string; reservations: readonly Reservation[]; approval: ApprovalRequirement };

/** A step `explain` reports: the rule looked at and what came of it. */
export interface TraceStep {
  rule: string;
  outcome: "pass" | "deny" | "reserve" | "approval";
  detail: string;
}

export interface CompiledPolicy {
  /** Decides one `tools/call`. Pure: limits come back as reservations for the caller to take. */
  decide(input: DecideInput): Decision;
  /** `decide`, plus every rule it walked, in order. Slower; for `toolgate policy explain`. */
  explain(input: DecideInput): { decision: Decision; steps: TraceStep[] };
  /**
   * The tools of a `tools/list` result the agent may see. `list: "visible"` (the default, as PolicyLayer): every
   * tool but hidden ones (`hide`, risk `hide`); `list: "filtered"`: only tools some call could be allowed to use.
   * `categoryOf` gives a tool's risk category, for `risk` rules.
   */
  filterTools<T extends { name: string }>(tools: readonly T[], categoryOf?: (tool: T) => RiskCategory | undefined): T[];
  /** Whether some call to `tool` (of the given risk category, if known) could be allowed. */
  couldAllow(tool: string, category?: RiskCategory): boolean;
  /** Decides a non-tools/call request the policy may govern. Methods it does not govern are allowed. */
  decideRequest(input: RequestInput): RequestDecision;
  /** `decideRequest`, plus every rule it walked; for `toolgate policy explain --method`. */
  explainRequest(input: RequestInput): { decision: RequestDecision; steps: TraceStep[] };
  /** The policy's `client_roots`, or undefined when the policy is silent. */
  readonly clientRoots: "allow" | "deny" | undefined;
  /** Whether `filterTools` can remove anything (`hide`, a risk `hide`, or `list: "filtered"`): lists are then per grant. */
  readonly filtersLists: boolean;
}

export interface CompileOptions {
  /** The policy's name, the id of `scope: "policy"` counters. */
  name?: string;
}

interface CompiledRule {
  rule: string;
  message: string;
  test: Test;
  detail: string;
}

interface CompiledLimit extends Limit {
  rule: string;
  scope: Scope;
  windowMs: number;
  /** `tools/<name>` or `all_tools`: which calls share the counter. */
  target: string;
  /** The escaped target and counter, the static part of the counter key. */
  keyTail: string;
}

interface ToolPlan {
  require: CompiledRule[];
  denyIf: CompiledRule[];
  approval?: { rule: string; when: CompiledRule[]; timeoutMs: number; error: "result" | "jsonrpc"; mode: "retry" | "hold" };
  limits: CompiledLimit[];
  /** False when a `deny_if` always holds or a `require` never can. */
  allowable: boolean;
}

/** The decision for a grant without a policy: every call is denied. */
export const NO_POLICY_DECISION: Decision = Object.freeze({
  effect: "deny",
  rule: RULE_NO_POLICY,
  message: "No policy is attached to this grant, so every call is denied.",
  reservations: Object.freeze([]) as readonly Reservation[],
});

const NO_RESERVATIONS: readonly Reservation[] = Object.freeze([]);
const ALLOW_WITHOUT_LIMITS: Decision = Object.freeze({ effect: "allow", rule: RULE_ALLOWED, message: RULE_ALLOWED, reservations: NO_RESERVATIONS });

/**
 * Compiles a validated document (see `validatePolicy`) into a decision function. Decision order:
 * hidden → risk hide → pin → risk deny → default deny → require → deny_if → approval → limits. `risk` rules apply only to
 * tools not listed under `tools`, and only when the call's category is known. Compile once per policy version; `decide` then
 * does one map lookup and runs only the called tool's predicates.
 *
 * @example
 * const policy = compilePolicy(parsePolicy(json), { name: "support" });
 * const d = policy.decide({ tool: "refund", args: { amount: 50 }, grant: "alice", server: "stripe" });
 */
export function compilePolicy(document: PolicyDocument, options: CompileOptions = {}): CompiledPolicy {
  const policyName = options.name ?? "";
  const hideAll = document.hide?.includes("*") ?? false;
  const hidden = new Set(document.hide ?? []);
  const defaultAllow = document.default === "allow";
  const allTools = (document.all_tools?.limits ?? []).map((l) => compileLimit(l, allToolsLimitRuleId(l.counter), "all_tools"));
  const plans = new Map<string, ToolPlan>();
  for (const [tool, rules] of Object.entries(document.tools ?? {})) {
    const require = (rules.require ?? []).map((p, i) => compileRule(tool, "require", p, i));
    const denyIf = (rules.deny_if ?? []).map((p, i) => compileRule(tool, "deny_if", p, i));
    const limits = (rules.limits ?? []).map((l) => compileLimit(l, toolLimitRuleId(tool, l.counter), `tools/${tool}`));
    const approval = rules.approval && {
      rule: approvalRuleId(tool),
      when: (rules.approval.when ?? []).map((p, i) => compileRule(tool, "deny_if", p, i)),
      timeoutMs: windowLength(rules.approval.timeout ?? "30m")!,
      error: rules.approval.error ?? "result",
      mode: rules.approval.mode ?? "retry",
    };
    const allowable =
      !(rules.deny_if ?? []).some((p) => "conditions" in p && p.conditions.length === 0) &&
      !(rules.require ?? []).some((p) => flatOrGroup(p).some((c) => (c.op === "in" && c.value.length === 0)));
    plans.set(tool, { require, denyIf, limits, allowable, ...(approval ? { approval } : {}) });
  }
  const unlistedPlan: ToolPlan = { require: [], denyIf: [], limits: [], allowable: true };
  const riskRules = new Map<RiskCategory, { action: "allow" | "deny" | "hide"; plan: ToolPlan }>();
  for (const [category, rule] of Object.entries(document.risk ?? {}) as [RiskCategory, RiskRule | undefined][]) {
    if (rule === undefined) continue;
    if (rule === "approval") {
      const approval = { rule: riskRuleId(category), when: [], timeoutMs: windowLength("30m")!, error: "result" as const, mode: "retry" as const };
      riskRules.set(category, { action: "allow", plan: { ...unlistedPlan, approval } });
    } else if (typeof rule === "string") riskRules.set(category, { action: rule, plan: unlistedPlan });
    else riskRules.set(category, { action: "allow", plan: { require: [], denyIf: [], limits: rule.limits.map((l) => compileLimit(l, riskLimitRuleId(category, l.counter), `risk/${category}`)), allowable: true } });
  }
  const pin = document.pin === true;
  const listFiltered = document.list === "filtered";
  const methods = compileMethods(document);

  /** The risk rule for a tool not listed by name, when its category is known and has one. */
  function riskRuleFor(tool: string, category: RiskCategory | undefined) {
    return category === undefined || plans.has(tool) ? undefined : riskRules.get(category);
  }

  function isHidden(tool: string, category?: RiskCategory): boolean {
    return hideAll || hidden.has(tool) || riskRuleFor(tool, category)?.action === "hide";
  }

  function couldAllow(tool: string, category?: RiskCategory): boolean {
    if (isHidden(tool, category)) return false;
    const plan = plans.get(tool);
    if (plan) return plan.allowable;
    const risk = riskRuleFor(tool, category);
    return risk ? risk.action === "allow" : defaultAllow;
  }

  function evaluate(input: DecideInput, trace?: TraceStep[]): Decision {
    const tool = input.tool;
    if (hideAll || hidden.has(tool)) return deny(RULE_HIDDEN, `Tool "${printable(tool)}" is hidden by policy`, trace);
    trace?.push({ rule: RULE_HIDDEN, outcome: "pass", detail: `"${printable(tool)}" is not hidden` });
    const plan = plans.get(tool);
    const risk = riskRuleFor(tool, input.category);
    if (risk?.action === "hide") return deny(riskRuleId(input.category!), `Tool "${printable(tool)}" is hidden by policy (risk category "${input.category}")`, trace);
    if (pin) {
      if (input.changed) return deny(RULE_PINNED, `Tool "${printable(tool)}" changed since it was last reviewed, and this policy pins tool definitions; review the change (toolgate tools ${input.server} --review ${printable(tool)}) before calling it`, trace);
      trace?.push({ rule: RULE_PINNED, outcome: "pass", detail: `"${printable(tool)}" is unchanged since it was reviewed` });
    }
    if (risk?.action === "deny") return deny(riskRuleId(input.category!), `Tool "${printable(tool)}" is a ${input.category} tool, and this policy denies ${input.category} tools`, trace);
    if (plan === undefined && !risk && !defaultAllow) return deny(RULE_DEFAULT_DENY, `Tool "${printable(tool)}" is not permitted by policy`, trace);
    trace?.push(
      plan ? { rule: RULE_DEFAULT_DENY, outcome: "pass", detail: `"${printable(tool)}" is listed under tools` }
      : risk ? { rule: riskRuleId(input.category!), outcome: "pass", detail: `"${printable(tool)}" is a ${input.category} tool, allowed by risk rule` }
      : { rule: RULE_DEFAULT_DENY, outcome: "pass", detail: `default is allow` },
    );
    const p = plan ?? risk?.plan ?? unlistedPlan;
    const args = input.args ?? {};
    for (const r of p.require) {
      const outcome = r.test(args);
      if (outcome !== true) return denyBy(r, outcome, "a require counts that as failing", trace);
      trace?.push({ rule: r.rule, outcome: "pass", detail: `holds: ${r.detail}` });
    }
    for (const r of p.denyIf) {
      const outcome = r.test(args);
      if (outcome !== false) return denyBy(r, outcome, "a deny_if counts that as holding", trace);
      trace?.push({ rule: r.rule, outcome: "pass", detail: `does not hold: ${r.detail}` });
    }
    let needsApproval: ApprovalRequirement | undefined;
    if (p.approval) {
      let held: string | undefined;
      for (const r of p.approval.when) {
        const outcome = r.test(args);
        if (outcome !== false) {
          held = outcome === true ? r.detail : `${r.detail} cannot be decided: ${outcome}`;
          break;
        }
      }
      if (p.approval.when.length === 0 || held !== undefined) {
        needsApproval = { timeoutMs: p.approval.timeoutMs, error: p.approval.error, mode: p.approval.mode, reason: held ?? "every call" };
        const waits = p.approval.mode === "hold" ? "the request is held open" : "the agent retries once approved";
        trace?.push({ rule: p.approval.rule, outcome: "approval", detail: `a person must approve this call (${needsApproval.reason}; ${waits}; waits up to ${p.approval.timeoutMs / 1000} s)` });
      } else trace?.push({ rule: p.approval.rule, outcome: "pass", detail: `no approval needed: ${p.approval.when.map((r) => r.detail).join(" or ")} does not hold` });
    }
    const count = p.limits.length + allTools.length;
    if (count === 0 && !needsApproval) return ALLOW_WITHOUT_LIMITS;
    const now = input.now === undefined ? Date.now() : typeof input.now === "number" ? input.now : input.now.getTime();
    const reservations = new Array<Reservation>(count);
    let i = 0;
    for (const l of p.limits) reservations[i++] = reserve(l, input, now, policyName);
    for (const l of allTools) reservations[i++] = reserve(l, input, now, policyName);
    if (trace) for (const r of reservations) trace.push({ rule: r.rule, outcome: "reserve", detail: `1 of ${r.max} per ${r.window} (${r.scope} scope; window resets ${new Date(r.resetAt).toISOString()})` });
    if (needsApproval) return { effect: "approval", rule: p.approval!.rule, message: `Call to "${printable(tool)}" needs a person's approval (${needsApproval.reason})`, reservations, approval: needsApproval };
    return { effect: "allow", rule: RULE_ALLOWED, message: RULE_ALLOWED, reservations };
  }

  return {
    decide: (input) => evaluate(input),
    explain(input) {
      const steps: TraceStep[] = [];
      const decision = evaluate(input, steps);
      return { decision, steps };
    },
    filterTools: (tools, categoryOf) =>
      tools.filter((t) => (listFiltered ? couldAllow(t.name, categoryOf?.(t)) : !isHidden(t.name, categoryOf?.(t)))),
    couldAllow,
    decideRequest: methods.decideRequest,
    explainRequest: methods.explainRequest,
    clientRoots: methods.clientRoots,
    filtersLists: listFiltered || hideAll || hidden.size > 0 || [...riskRules.values()].some((r) => r.action === "hide"),
  };
}

function deny(rule: string, message: string, trace: TraceStep[] | undefined, detail = message): Decision {
  trace?.push({ rule, outcome: "deny", detail });
  return { effect: "deny", rule, message, reservations: NO_RESERVATIONS };
}

/** A require that did not hold or a deny_if that did; an undecided condition says why in the message and the trace. */
function denyBy(r: CompiledRule, outcome: Outcome, counts: string, trace: TraceStep[] | undefined): Decision {
  if (typeof outcome !== "string") return deny(r.rule, r.message, trace, r.detail);
  return deny(r.rule, `${r.message} (${outcome})`, trace, `${r.detail} cannot be decided: ${outcome}; ${counts}`);
}

function flatOrGroup(p: Predicate): readonly FlatPredicate[] {
  return "conditions" in p ? p.conditions : [p];
}

function compileRule(tool: string, list: "require" | "deny_if", predicate: Predicate, index: number): CompiledRule {
  const conditions = flatOrGroup(predicate);
  const test = allOf(conditions.map(compilePredicate));
  const detail = conditions.length === 0 ? "(no conditions: always)" : conditions.map(describePredicate).join(" and ");
  const engineMessage = list === "require" ? `Call to "${printable(tool)}" requires ${detail}` : `Call to "${printable(tool)}" denied because ${detail}`;
  return { rule: predicateRuleId(tool, list, predicate, index), message: predicate.on_deny ?? engineMessage, test, detail };
}

function compileLimit(limit: Limit, rule: string, target: string): CompiledLimit {
  return { ...limit, rule, scope: limit.scope ?? "grant", windowMs: windowLength(limit.window)!, target, keyTail: keyPart(target) + SEP + keyPart(limit.counter) };
}

const SEP = "\u001f";
/** A part of a counter key with "%" and the separator percent-escaped, so distinct parts never join to the same key. */
const keyPart = (part: string) => (part.includes("%") || part.includes(SEP) ? part.replaceAll("%", "%25").replaceAll(SEP, "%1F") : part);

/** A user's counter id: the caller's subject, or for a grant token the grant (it is one user); the two never collide. */
const userOf = (input: DecideInput) => (input.subject !== undefined ? `subject:${input.subject}` : `grant:${input.grant}`);

function reserve(l: CompiledLimit, input: DecideInput, now: number, policyName: string): Reservation {
  const start = windowStart(now, l.windowMs);
  const scopeId = l.scope === "grant" ? input.grant : l.scope === "server" ? input.server : l.scope === "policy" ? policyName : l.scope === "user" ? userOf(input) : "";
  return {
    key: l.scope + SEP + keyPart(scopeId) + SEP + l.keyTail + SEP + start,
    counter: l.counter,
    max: l.max,
    window: l.window,
    scope: l.scope,
    windowStart: start,
    resetAt: start + l.windowMs,
    rule: l.rule,
  };
}

/** The denial message for a reservation that did not fit: says when the window resets. */
export function limitDeniedMessage(r: Reservation): string {
  return `Rate limit reached: at most ${r.max} call${r.max === 1 ? "" : "s"} per ${r.window} (counter "${r.counter}", ${r.scope} scope). The window resets at ${new Date(r.resetAt).toISOString()}.`;
}

/** The decision for a call whose reservation `r` did not fit. */
export function limitDenial(r: Reservation): Decision {
  return { effect: "deny", rule: r.rule, message: limitDeniedMessage(r), reservations: NO_RESERVATIONS };
}
