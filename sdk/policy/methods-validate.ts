import { toPointer, type Issue } from "../issues.ts";
import { METHOD_KEYS } from "./methods-schema.ts";

function isObject(v: unknown): v is Record<string, unknown> {
  return v !== null && typeof v === "object" && !Array.isArray(v);
}

/** Keys allowed inside `resources` and `prompts`, for "did you mean" hints. */
export function methodKeys(path: readonly string[]): readonly string[] {
  const resources = path[0] === "resources";
  if (path.length === 1) return resources ? METHOD_KEYS.resources : METHOD_KEYS.prompts;
  if (path[1] === "allow") return resources ? METHOD_KEYS.resourceAllow : METHOD_KEYS.promptAllow;
  if (path[1] === "deny_if") return resources ? METHOD_KEYS.resourceDeny : METHOD_KEYS.promptDeny;
  return [];
}

/** Warnings for the extension sections: entries that can never take effect. Runs on the raw input. */
export function checkMethodSections(input: Record<string, unknown>, warnings: Issue[]): void {
  for (const section of ["resources", "prompts"] as const) {
    const s = input[section];
    if (!isObject(s) || !Array.isArray(s.allow) || s.allow.length === 0) continue;
    if (s.default === "allow") {
      warnings.push({ path: toPointer([section, "allow"]), message: `allow entries have no effect: ${section} default is "allow", so everything not denied is allowed already` });
    }
  }
}
