import type { PolicyDocument } from "./schema.ts";
import type { Prompts, Resources } from "./methods-schema.ts";
import type { TraceStep } from "./compile.ts";
import { compileRegex } from "./regex.ts";
import { printable, unsafeCharacter } from "../display.ts";
import { RULE_COMPLETION, RULE_PROMPTS, RULE_PROMPTS_DEFAULT_DENY, RULE_RESOURCES, RULE_RESOURCES_DEFAULT_DENY, promptDenyRuleId, resourceDenyRuleId } from "./rule-id.ts";

/** A request other than `tools/call` that a policy may govern, as the gateway parsed it. */
export interface RequestInput {
  method: string;
  params: unknown;
}

export type RequestDecision = { effect: "allow" } | { effect: "deny"; rule: string; message: string };

export interface MethodGate {
  decideRequest(input: RequestInput): RequestDecision;
  explainRequest(input: RequestInput): { decision: RequestDecision; steps: TraceStep[] };
  readonly clientRoots: "allow" | "deny" | undefined;
}

/** The methods a policy can govern besides `tools/call`; every other method is allowed. */
export const GOVERNED_METHODS = ["resources/read", "resources/subscribe", "prompts/get", "completion/complete"] as const;

const ALLOW: RequestDecision = Object.freeze({ effect: "allow" });

const denial = (rule: string, message: string): RequestDecision => ({ effect: "deny", rule, message });

interface DenyRule {
  rule: string;
  /** The document's `on_deny`, as a ready decision; absent: the engine's message names the request. */
  decision?: RequestDecision;
}

interface UriDenyRule extends DenyRule {
  pattern: ReturnType<typeof compileRegex>;
  source: string;
}

type Decide = (value: unknown, method: string, trace?: TraceStep[]) => RequestDecision;

/**
 * Compiles the `resources`, `prompts`, `completion` and `client_roots` sections of a validated document.
 * Absent sections allow their requests; present ones fail closed on requests they cannot read.
 */
export function compileMethods(document: PolicyDocument): MethodGate {
  const resource = document.resources ? compileResources(document.resources) : undefined;
  const prompt = document.prompts ? compilePrompts(document.prompts) : undefined;
  const completionDenied = document.completion === "deny";

  function decide(input: RequestInput, trace?: TraceStep[]): RequestDecision {
    const { method, params } = input;
    switch (method) {
      case "resources/read":
      case "resources/subscribe":
        return resource ? resource(field(params, "uri"), method, trace) : silent("resources", trace);
      case "prompts/get":
        return prompt ? prompt(field(params, "name"), method, trace) : silent("prompts", trace);
      case "completion/complete": {
        if (completionDenied) return deny(denial(RULE_COMPLETION, "Completions are not permitted by policy"), trace);
        trace?.push({ rule: RULE_COMPLETION, outcome: "pass", detail: document.completion === "allow" ? "completion is allowed" : "the policy has no completion rule: allowed" });
        if (!prompt) return ALLOW;
        const ref = field(params, "ref");
        const type = field(ref, "type");
        if (typeof type !== "string") {
          return deny(denial(RULE_PROMPTS, "completion/complete needs params.ref with a string type, so the policy's prompts rules can apply; denied"), trace);
        }
        if (type !== "ref/prompt") {
          trace?.push({ rule: RULE_PROMPTS, outcome: "pass", detail: `the completion refers to ${printable(type)}, not a prompt` });
          return ALLOW;
        }
        return prompt(field(ref, "name"), method, trace);
      }
      default:
        trace?.push({ rule: "", outcome: "pass", detail: `policies do not govern ${printable(method)}` });
        return ALLOW;
    }
  }

  return {
    decideRequest: (input) => decide(input),
    explainRequest(input) {
      const steps: TraceStep[] = [];
      const decision = decide(input, steps);
      return { decision, steps };
    },
    clientRoots: document.client_roots,
  };
}

function field(value: unknown, key: string): unknown {
  return value !== null && typeof value === "object" && !Array.isArray(value) && Object.hasOwn(value, key) ? (value as Record<string, unknown>)[key] : undefined;
}

function silent(section: string, trace: TraceStep[] | undefined): RequestDecision {
  trace?.push({ rule: "", outcome: "pass", detail: `the policy has no ${section} section: allowed` });
  return ALLOW;
}

function deny(decision: RequestDecision, trace: TraceStep[] | undefined, detail?: string): RequestDecision {
  if (trace && decision.effect === "deny") trace.push({ rule: decision.rule, outcome: "deny", detail: detail ?? decision.message });
  return decision;
}

function compileResources(section: Resources): Decide {
  const denyIf: UriDenyRule[] = (section.deny_if ?? []).map((d, i) => {
    const rule = resourceDenyRuleId(i);
    return { rule, pattern: compileRegex(d.uri_regex), source: d.uri_regex, ...(d.on_deny ? { decision: Object.freeze(denial(rule, d.on_deny)) } : {}) };
  });
  const allow = (section.allow ?? []).map((a) => ({ pattern: compileRegex(a.uri_regex), source: a.uri_regex }));
  const defaultAllow = section.default === "allow";
  return (uri, method, trace) => {
    if (typeof uri !== "string") return deny(denial(RULE_RESOURCES, `${method} needs params.uri as a string; denied`), trace);
    const problem = uriProblem(uri);
    if (problem) return deny(denial(RULE_RESOURCES, `Resource URI "${printable(uri)}" is ambiguous (${problem}), so the policy denies it`), trace);
    trace?.push({ rule: RULE_RESOURCES, outcome: "pass", detail: "the URI is in normal form" });
    for (const d of denyIf) {
      if (d.pattern.test(uri)) {
        const detail = `the URI matches ${JSON.stringify(d.source)}`;
        return deny(d.decision ?? denial(d.rule, `Resource "${printable(uri)}" denied because ${detail}`), trace, detail);
      }
      trace?.push({ rule: d.rule, outcome: "pass", detail: `the URI does not match ${JSON.stringify(d.source)}` });
    }
    if (defaultAllow) {
      trace?.push({ rule: RULE_RESOURCES_DEFAULT_DENY, outcome: "pass", detail: "resources default is allow" });
      return ALLOW;
    }
    for (let i = 0; i < allow.length; i++) {
      if (allow[i]!.pattern.test(uri)) {
        trace?.push({ rule: RULE_RESOURCES_DEFAULT_DENY, outcome: "pass", detail: `allowed by /resources/allow/${i}: the URI matches ${JSON.stringify(allow[i]!.source)}` });
        return ALLOW;
      }
    }
    return deny(denial(RULE_RESOURCES_DEFAULT_DENY, `Resource "${printable(uri)}" is not permitted by policy`), trace);
  };
}

function compilePrompts(section: Prompts): Decide {
  const denied = new Map<string, DenyRule>();
  (section.deny_if ?? []).forEach((d, i) => {
    const rule = promptDenyRuleId(i);
    if (!denied.has(d.name)) denied.set(d.name, { rule, ...(d.on_deny ? { decision: Object.freeze(denial(rule, d.on_deny)) } : {}) });
  });
  const allowed = new Set((section.allow ?? []).map((a) => a.name));
  const defaultAllow = section.default === "allow";
  return (name, method, trace) => {
    if (typeof name !== "string") {
      const where = method === "completion/complete" ? "params.ref.name" : "params.name";
      return deny(denial(RULE_PROMPTS, `${method} needs ${where} as a string; denied`), trace);
    }
    const d = denied.get(name);
    if (d) return deny(d.decision ?? denial(d.rule, `Prompt "${printable(name)}" is denied by policy`), trace, `the prompt is "${printable(name)}"`);
    trace?.push({ rule: RULE_PROMPTS, outcome: "pass", detail: `"${printable(name)}" is not under prompts.deny_if` });
    if (defaultAllow || allowed.has(name)) {
      trace?.push({ rule: RULE_PROMPTS_DEFAULT_DENY, outcome: "pass", detail: defaultAllow ? "prompts default is allow" : `"${printable(name)}" is under prompts.allow` });
      return ALLOW;
    }
    return deny(denial(RULE_PROMPTS_DEFAULT_DENY, `Prompt "${printable(name)}" is not permitted by policy`), trace);
  };
}

const SCHEME = /^([A-Za-z][A-Za-z0-9+.-]*):/;
const PERCENT = /%(?![0-9A-Fa-f]{2})|%(?:[46][1-9A-Fa-f]|[57][0-9Aa]|3[0-9]|2[DEde]|5[Ff]|7[Ee]|2[Ff]|5[Cc]|[01][0-9A-Fa-f]|7[Ff])/;
const DOT_SEGMENT = /(?:^|\/)\.{1,2}(?:\/|$)/;

/**
 * Why a resource URI cannot be decided by patterns on its text, or undefined when it can. Servers resolve URIs
 * differently (`..`, percent-decoding, `\` as a separator, `file://localhost/`), so one that different servers
 * could read as different resources is refused rather than matched: a pattern sees exactly what the server gets.
 */
export function uriProblem(uri: string): string | undefined {
  const scheme = SCHEME.exec(uri);
  if (!scheme) return "not an absolute URI with a scheme";
  if (scheme[1] !== scheme[1]!.toLowerCase()) return "the scheme must be lower case";
  const bad = unsafeCharacter(uri);
  if (bad) return `it contains ${bad}`;
  if (uri.includes("\\")) return "it contains a backslash";
  const percent = PERCENT.exec(uri);
  if (percent) return percent[0] === "%" ? "a % that does not start a percent-encoding" : `${percent[0]} encodes a character that must be written as is or not at all`;
  const path = uri.slice(scheme[0].length).split(/[?#]/, 1)[0]!;
  if (DOT_SEGMENT.test(path)) return 'a "." or ".." path segment';
  if (scheme[1] === "file" && !uri.startsWith("file:///")) return "a file URI must have an empty host (file:///path)";
  return undefined;
}
