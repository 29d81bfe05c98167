import { printable, unsafeCharacter } from "../display.ts";
import { toPointer, type Issue } from "../issues.ts";

/**
 * Names a policy defines (tool names under `tools`, `hide` entries, counter names, prompt names) must be plain
 * visible text: a control character or an invisible/bidi formatting character would let a rule read as one name
 * in review and match another at runtime. Returns the problem in words, or undefined when the name is fine.
 */
export function nameProblem(what: string, name: string): string | undefined {
  const bad = unsafeCharacter(name);
  return bad === undefined ? undefined : `${what} "${printable(name)}" contains ${bad}, a control or invisible formatting character; names must be plain visible text`;
}

function isObject(v: unknown): v is Record<string, unknown> {
  return v !== null && typeof v === "object" && !Array.isArray(v);
}

function checkCounters(limits: unknown, at: PropertyKey[], errors: Issue[]): void {
  if (!Array.isArray(limits)) return;
  limits.forEach((limit, i) => {
    const problem = isObject(limit) && typeof limit.counter === "string" ? nameProblem("counter", limit.counter) : undefined;
    if (problem) errors.push({ path: toPointer([...at, i, "counter"]), message: problem });
  });
}

/** Reports every unsafe tool name, `hide` entry and counter name of a raw (unvalidated) document. */
export function checkNames(input: Record<string, unknown>, errors: Issue[]): void {
  if (Array.isArray(input.hide)) {
    input.hide.forEach((name, i) => {
      const problem = typeof name === "string" ? nameProblem("hide entry", name) : undefined;
      if (problem) errors.push({ path: toPointer(["hide", i]), message: problem });
    });
  }
  if (isObject(input.tools)) {
    for (const [tool, rules] of Object.entries(input.tools)) {
      const problem = nameProblem("tool name", tool);
      if (problem) errors.push({ path: toPointer(["tools", tool]), message: problem });
      if (isObject(rules)) checkCounters(rules.limits, ["tools", tool, "limits"], errors);
    }
  }
  if (isObject(input.all_tools)) checkCounters(input.all_tools.limits, ["all_tools", "limits"], errors);
  if (isObject(input.risk)) {
    for (const [category, rule] of Object.entries(input.risk)) if (isObject(rule)) checkCounters(rule.limits, ["risk", category, "limits"], errors);
  }
}
