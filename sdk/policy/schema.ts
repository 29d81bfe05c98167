import { z } from "zod";
import { OPERATORS, type Operator } from "./operators.ts";
import { WINDOW_PATTERN, windowLength } from "./window.ts";
import { regexProblem } from "./regex.ts";
import { RISK_CATEGORIES } from "../catalog/classify.ts";
import { ClientRootsSchema, CompletionSchema, ListSchema, PromptsSchema, ResourcesSchema } from "./methods-schema.ts";

/**
 * The policy document: PolicyLayer's hosted v1 JSON, plus additive extensions (durations, scopes, approval, risk,
 * pin, list and the sections for other requests). docs/policy.md tables every difference from PolicyLayer.
 * This schema is the single source of the TypeScript types and of `sdk/schema/policy.schema.json`;
 * checks that need the whole document (duplicates, dead rules) live in `validate.ts`.
 */

const got = (input: unknown) => (input === undefined ? "it is missing" : `got ${JSON.stringify(input)}`);

const PATH_PATTERN = /^args(\.[^.]+)+$/;

export const ArgumentPath = z
  .string({ error: (i) => `path must be a string like "args.amount", ${got(i.input)}` })
  .regex(PATH_PATTERN, {
    error: (i) => `path must start with "args." and name an argument, e.g. "args.amount", ${got(i.input)}`,
  })
  .meta({ description: 'Dotted path into the call arguments; numeric segments index arrays ("args.items.0.sku").' });

const OnDeny = z
  .string({ error: (i) => `on_deny must be a string, ${got(i.input)}` })
  .min(1, { error: "on_deny must not be empty" })
  .meta({ description: "Message returned to the agent when this rule denies the call." });

const JsonValue = z.json();

function needsValue<T extends z.ZodType>(op: Operator, what: string, schema: T) {
  return schema.meta({ description: `${what} (required by "${op}")` });
}

const numeric = (op: Operator) =>
  needsValue(op, "A number", z.number({ error: (i) => `operator "${op}" requires a numeric value, ${got(i.input)}` }));
const list = (op: Operator) =>
  needsValue(op, "A list of values", z.array(JsonValue, { error: (i) => `operator "${op}" requires a list value, ${got(i.input)}` }));
const anyValue = (op: Operator) =>
  needsValue(op, "Any JSON value", z.custom<z.core.util.JSONType>((v) => v !== undefined, { error: `operator "${op}" requires a value` }).pipe(JsonValue));

const RegexValue = z
  .string({ error: (i) => `regex value must be a string, ${got(i.input)}` })
  .superRefine((pattern, ctx) => {
    const problem = regexProblem(pattern);
    if (problem) ctx.addIssue({ code: "custom", message: problem });
  })
  .meta({ description: "An RE2 regular expression (Go regexp syntax; matched in linear time, unanchored unless you anchor it)." });

function flat<Op extends Operator, V extends z.ZodType>(op: Op, value: V) {
  return z.strictObject({ path: ArgumentPath, op: z.literal(op), value, on_deny: OnDeny.optional() });
}

/** `{path, op, value, on_deny?}`: one condition on one argument. */
export const FlatPredicateSchema = z.discriminatedUnion(
  "op",
  [
    flat("eq", anyValue("eq")),
    flat("neq", anyValue("neq")),
    flat("in", list("in")),
    flat("not_in", list("not_in")),
    flat("lt", numeric("lt")),
    flat("lte", numeric("lte")),
    flat("gt", numeric("gt")),
    flat("gte", numeric("gte")),
    flat("regex", RegexValue),
    flat("contains", anyValue("contains")),
    flat(
      "exists",
      z
        .boolean({ error: (i) => `operator "exists" requires a boolean value, ${got(i.input)}` })
        .optional()
        .meta({ description: "true (the default): the argument is present and not null; false: it is absent or null." }),
    ),
  ],
  {
    error: (i) => {
      const op = (i.input as { op?: unknown } | undefined)?.op;
      return op === undefined
        ? `op is required; expected one of ${OPERATORS.join(", ")}`
        : `unknown operator ${JSON.stringify(op)}; expected one of ${OPERATORS.join(", ")}`;
    },
  },
);

/** `{conditions: [...], on_deny?}`: all conditions must hold (AND). Empty `conditions` always holds. */
export const GroupPredicateSchema = z.strictObject({
  conditions: z.array(FlatPredicateSchema, { error: (i) => `conditions must be a list of predicates, ${got(i.input)}` }),
  on_deny: OnDeny.optional(),
});

export const PredicateSchema = z.union([GroupPredicateSchema, FlatPredicateSchema]);

export const SCOPES = ["grant", "server", "policy", "global", "user"] as const;

export const LimitSchema = z.strictObject({
  counter: z
    .string({ error: (i) => `counter must be a string, ${got(i.input)}` })
    .min(1, { error: "counter must not be empty" })
    .meta({ description: "Name of the counter; unique within one limits array. Part of the rule ID." }),
  window: z
    .string({ error: (i) => `window must be a string, ${got(i.input)}` })
    .regex(WINDOW_PATTERN, { error: (i) => windowMessage(i.input) })
    .refine((w) => windowLength(w) !== undefined, { error: (i) => windowMessage(i.input) })
    .meta({ description: '"minute", "hour" or "day" (UTC-aligned), or a duration such as "30s", "15m", "6h", "2d" (epoch-aligned, at most 366d).' }),
  max: z
    .number({ error: (i) => `max must be a positive integer, ${got(i.input)}` })
    .int({ error: (i) => `max must be a positive integer, ${got(i.input)}` })
    .positive({ error: (i) => `max must be a positive integer, ${got(i.input)}` })
    .max(Number.MAX_SAFE_INTEGER, { error: "max is too large" })
    .meta({ description: "Most calls admitted per window." }),
  scope: z
    .enum(SCOPES, { error: (i) => `scope must be one of "grant", "server", "policy", "global", "user", ${got(i.input)}` })
    .optional()
    .meta({ description: 'Who shares the counter: one grant (default), every grant of the server, every grant using the policy, everyone, or one user (the subject of an access token; a grant token counts as one user).' }),
});

function windowMessage(input: unknown): string {
  return `window must be "minute", "hour", "day" or a duration like "30s", "15m", "6h", "2d" (at most 366d), ${got(input)}`;
}

const Limits = z.array(LimitSchema, { error: (i) => `limits must be a list, ${got(i.input)}` });
const Predicates = (name: string) =>
  z.array(PredicateSchema, { error: (i) => `${name} must be a list of predicates, ${got(i.input)}` });

export const APPROVAL_TIMEOUT_MAX_MS = 7 * 24 * 3_600_000;

export const ApprovalSchema = z
  .strictObject(
    {
      when: Predicates("when").optional().meta({ description: "Approval is needed when any predicate holds; absent: always." }),
      timeout: z
        .string({ error: (i) => `timeout must be a duration like "30m", ${got(i.input)}` })
        .refine((t) => /^\d+[smhd]$/.test(t) && windowLength(t) !== undefined && windowLength(t)! <= APPROVAL_TIMEOUT_MAX_MS, {
          error: (i) => `timeout must be a duration like "90s", "30m", "4h" or "2d" (at most 7d), ${got(i.input)}`,
        })
        .optional()
        .meta({ description: 'How long a request waits for a person, and how long an approval stays usable (default "30m").' }),
      error: z
        .enum(["result", "jsonrpc"], { error: (i) => `error must be "result" or "jsonrpc", ${got(i.input)}` })
        .optional()
        .meta({ description: '"result" (default): a tool result with isError and text "[APPROVAL REQUIRED] …"; "jsonrpc": a JSON-RPC error -32003 (Intercept\'s shape).' }),
      mode: z
        .enum(["retry", "hold"], { error: (i) => `mode must be "retry" or "hold", ${got(i.input)}` })
        .optional()
        .meta({ description: '"retry" (default): the agent is told at once that approval is pending and retries the same call once approved; "hold": the request stays open until a person decides or the timeout passes (progress notifications meanwhile when the call has a progress token), then completes by itself.' }),
    },
    { error: (i) => `approval must be an object like {"when": [...], "timeout": "30m"}, ${got(i.input)}` },
  )
  .meta({ description: "Toolgate extension: a person must approve this exact call (tool and arguments) before it is forwarded." });

export const ToolRulesSchema = z.strictObject({
  require: Predicates("require").optional().meta({ description: "Every predicate must hold, or the call is denied." }),
  deny_if: Predicates("deny_if").optional().meta({ description: "The call is denied when any predicate holds." }),
  approval: ApprovalSchema.optional(),
  limits: Limits.optional().meta({ description: "Counters this tool's calls must fit in." }),
});

const riskRuleMessage = (input: unknown) => `a risk rule must be "allow", "deny", "hide", "approval" or {"limits": [...]}, ${got(input)}`;

const RiskRuleSchema = z
  .union([z.enum(["allow", "deny", "hide", "approval"], { error: (i) => riskRuleMessage(i.input) }), z.strictObject({ limits: Limits }, { error: (i) => riskRuleMessage(i.input) })], {
    error: (i) => riskRuleMessage(i.input),
  })
  .meta({ description: 'What happens to tools of this category that are not listed under tools: "allow", "deny", "hide", "approval" (a person approves every call, 30m timeout), or allow within {"limits": [...]} (counters shared by the category).' });

export const RiskSchema = z
  .strictObject(Object.fromEntries(RISK_CATEGORIES.map((c) => [c, RiskRuleSchema.optional()])) as Record<(typeof RISK_CATEGORIES)[number], z.ZodOptional<typeof RiskRuleSchema>>, {
    error: (i) => `risk must be an object of category to rule, ${got(i.input)}`,
  })
  .meta({ description: "Toolgate extension: rules by risk category (read, write, execute, financial, destructive, other) for tools not listed by name, using the gateway's tool catalog." });

export const PolicyDocumentSchema = z
  .strictObject({
    $schema: z.string().optional().meta({ description: "Optional: a URL or path of this JSON Schema, for editors." }),
    version: z.literal("1", { error: (i) => `version must be "1", ${got(i.input)}` }),
    default: z.enum(["allow", "deny"], { error: (i) => `default must be "allow" or "deny", ${got(i.input)}` }),
    hide: z
      .array(
        z.string({ error: (i) => `hide entries must be tool names, ${got(i.input)}` }).min(1, { error: "hide entry must not be empty" }),
        { error: (i) => `hide must be a list of tool names, ${got(i.input)}` },
      )
      .optional()
      .meta({ description: 'Tools removed from tools/list and denied when called. "*" hides every tool.' }),
    all_tools: z
      .strictObject({ limits: Limits.optional() }, { error: (i) => `all_tools must be an object, ${got(i.input)}` })
      .optional(),
    tools: z
      .record(
        z.string().min(1, { error: "tool name must not be empty" }),
        ToolRulesSchema,
        { error: (i) => `tools must be an object of tool name to rules, ${got(i.input)}` },
      )
      .optional(),
    risk: RiskSchema.optional(),
    pin: z
      .boolean({ error: (i) => `pin must be true or false, ${got(i.input)}` })
      .optional()
      .meta({ description: "Toolgate extension: deny calls to a tool whose definition changed since it was last reviewed (see the tool catalog)." }),
    list: ListSchema.optional(),
    resources: ResourcesSchema.optional(),
    prompts: PromptsSchema.optional(),
    completion: CompletionSchema.optional(),
    client_roots: ClientRootsSchema.optional(),
  }, { error: (i) => `a policy document must be a JSON object, ${got(i.input)}` })
  .meta({ title: "Toolgate policy document", description: "PolicyLayer-compatible v1 policy for MCP tool calls." });

export type PolicyDocument = z.output<typeof PolicyDocumentSchema>;
export type PolicyDocumentInput = z.input<typeof PolicyDocumentSchema>;
export type ToolRules = z.output<typeof ToolRulesSchema>;
export type Limit = z.output<typeof LimitSchema>;
export type RiskRule = z.output<typeof RiskRuleSchema>;
export type Approval = z.output<typeof ApprovalSchema>;
export type Scope = (typeof SCOPES)[number];
export type FlatPredicate = z.output<typeof FlatPredicateSchema>;
export type GroupPredicate = z.output<typeof GroupPredicateSchema>;
export type Predicate = z.output<typeof PredicateSchema>;

/** Keys allowed on each kind of object, for "did you mean" hints. */
export const KEYS = {
  document: ["$schema", "version", "default", "hide", "all_tools", "tools", "risk", "pin", "list", "resources", "prompts", "completion", "client_roots"],
  risk: RISK_CATEGORIES,
  allTools: ["limits"],
  tool: ["require", "deny_if", "approval", "limits"],
  approval: ["when", "timeout", "error", "mode"],
  limit: ["counter", "window", "max", "scope"],
  flat: ["path", "op", "value", "on_deny"],
  group: ["conditions", "on_deny"],
} as const;
