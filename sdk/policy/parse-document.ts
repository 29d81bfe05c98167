import { z } from "zod";
import { PolicyDocumentSchema, ToolRulesSchema, type PolicyDocument, type ToolRules } from "./schema.ts";

/**
 * `PolicyDocumentSchema.safeParse`, except that a tool named `__proto__` is an ordinary tool. zod skips that key
 * in records (assigning it to the output would replace the output's prototype), so its rules would be neither
 * checked nor kept and its `deny_if` would never apply. Its rules are parsed on their own here, and the parsed
 * tools come back with every name, that one included, as an own property in the order written.
 */
export function parseDocument(input: unknown): z.ZodSafeParseResult<PolicyDocument> {
  const parsed = PolicyDocumentSchema.safeParse(input);
  const tools = isObject(input) && isObject(input.tools) ? input.tools : undefined;
  if (tools === undefined || !Object.hasOwn(tools, "__proto__")) return parsed;
  const rules = ToolRulesSchema.safeParse(tools["__proto__"]);
  if (!rules.success) {
    const issues = rules.error.issues.map((issue) => ({ ...issue, path: ["tools", "__proto__", ...issue.path] }));
    return { success: false, error: new z.ZodError([...(parsed.success ? [] : parsed.error.issues), ...issues]) as z.ZodError<PolicyDocument> };
  }
  if (!parsed.success) return parsed;
  const parsedTools = parsed.data.tools ?? {};
  const own: Record<string, ToolRules> = {};
  for (const name of Object.keys(tools)) {
    const value = name === "__proto__" ? rules.data : parsedTools[name];
    Object.defineProperty(own, name, { value, enumerable: true, writable: true, configurable: true });
  }
  return { success: true, data: { ...parsed.data, tools: own } };
}

function isObject(v: unknown): v is Record<string, unknown> {
  return v !== null && typeof v === "object" && !Array.isArray(v);
}
