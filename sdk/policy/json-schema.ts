import { z } from "zod";
import { PolicyDocumentSchema } from "./schema.ts";

export const POLICY_SCHEMA_ID = "https://toolgate.dev/schema/policy.schema.json";

/**
 * The JSON Schema (draft 2020-12) of a policy document, generated from the zod schema. Editors use it for
 * completion; checks that span fields (duplicate counters, dead rules, unsafe regexes) are only in `validatePolicy`.
 */
export function policyJsonSchema(): Record<string, unknown> {
  const schema = z.toJSONSchema(PolicyDocumentSchema, { target: "draft-2020-12", io: "input", unrepresentable: "any" });
  return { ...schema, $id: POLICY_SCHEMA_ID };
}

/** The committed file's exact text: pretty-printed with a trailing newline. */
export function policyJsonSchemaText(): string {
  return JSON.stringify(policyJsonSchema(), null, 2) + "\n";
}
