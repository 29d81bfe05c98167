/** toolgate/sdk: the contract shared by the provider, the gateway and the CLI. Imports nothing of ours. */
export { ToolgateError, type ErrorCode } from "./errors.ts";
export { printable, unsafeCharacter } from "./display.ts";
export { type Issue, toPointer, joinPointer } from "./issues.ts";
export {
  PolicyDocumentSchema,
  type PolicyDocument,
  type PolicyDocumentInput,
  type ToolRules,
  type Limit,
  type Scope,
  type Predicate,
  type FlatPredicate,
  type GroupPredicate,
  type RiskRule,
  type Approval,
  SCOPES,
} from "./policy/schema.ts";
export { OPERATORS, type Operator } from "./policy/operators.ts";
export { foldKey } from "./policy/fold-key.ts";
export { validatePolicy, parsePolicy, type ValidationResult } from "./policy/validate.ts";
export {
  compilePolicy,
  limitDenial,
  limitDeniedMessage,
  NO_POLICY_DECISION,
  type CompiledPolicy,
  type CompileOptions,
  type Decision,
  type ApprovalRequirement,
  type DecideInput,
  type Reservation,
  type TraceStep,
} from "./policy/compile.ts";
export { RULE_NO_POLICY, RULE_HIDDEN, RULE_DEFAULT_DENY, RULE_ALLOWED, RULE_PINNED } from "./policy/rule-id.ts";
export { RULE_RESOURCES, RULE_RESOURCES_DEFAULT_DENY, RULE_PROMPTS, RULE_PROMPTS_DEFAULT_DENY, RULE_COMPLETION } from "./policy/rule-id.ts";
export { GOVERNED_METHODS, type RequestDecision, type RequestInput } from "./policy/methods.ts";
export type { ApprovalObject, ApprovalList } from "./approvals.ts";
export { createMemoryDeliveryStore, signWebhook, verifyWebhook, type DeliveryIdStore, type VerifyWebhookOptions, type WebhookHeaders } from "./webhooks.ts";
export type { CatalogTool, CatalogToolList } from "./catalog/catalog-tool.ts";
export { suggestPolicy, SUGGESTED_RISK, type Suggestion } from "./catalog/suggest.ts";
export { classifyTool, nameWords, RISK_CATEGORIES, SEVERITIES, type Classification, type RiskCategory, type Severity, type ToolDefinition } from "./catalog/classify.ts";
export { windowLength, windowStart } from "./policy/window.ts";
export { parsePolicyText, readPolicyFile } from "./policy/file.ts";
export { policyJsonSchema, policyJsonSchemaText, POLICY_SCHEMA_ID } from "./policy/json-schema.ts";
export { diffPolicies, type PolicyChange } from "./policy/diff.ts";
export { AdminClient, AdminApiError, type AdminClientOptions, type Problem, type Versioned, type WriteOptions, type Page, type Kind } from "./admin-client.ts";
export { SDK_VERSION } from "./version.ts";
export { jsonEqual } from "./policy/predicate.ts";
export * from "./resources.ts";
export * from "./identity.ts";
export { zodIssues } from "./issues.ts";
