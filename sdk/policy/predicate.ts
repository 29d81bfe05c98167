import type { FlatPredicate } from "./schema.ts";
import { MISSING, pathSegments, resolvePath } from "./path.ts";
import { compileRegex } from "./regex.ts";

/** A compiled condition: true when it holds for these call arguments. */
export type Test = (args: unknown) => boolean;

/**
 * Operator semantics (no coercion between JSON types):
 * - `eq`/`neq`: deep JSON equality; `"5"` is not `5`. On a missing argument both are false.
 * - `in`/`not_in`: membership by `eq`; false on a missing argument.
 * - `lt`/`lte`/`gt`/`gte`: the argument must be a number; a numeric string is not a number (false).
 * - `regex`: the argument must be a string; unanchored match.
 * - `contains`: substring when the argument is a string (value must be a string), element `eq` when it is an array.
 * - `exists`: true → present and not null; false → missing or null.
 */
export function compilePredicate(predicate: FlatPredicate): Test {
  const segments = pathSegments(predicate.path);
  const at = (args: unknown) => resolvePath(args, segments);
  switch (predicate.op) {
    case "eq": {
      const expected = predicate.value;
      return (args) => {
        const v = at(args);
        return v !== MISSING && jsonEqual(v, expected);
      };
    }
    case "neq": {
      const expected = predicate.value;
      return (args) => {
        const v = at(args);
        return v !== MISSING && !jsonEqual(v, expected);
      };
    }
    case "in": {
      const options = predicate.value;
      return (args) => {
        const v = at(args);
        return v !== MISSING && options.some((o) => jsonEqual(v, o));
      };
    }
    case "not_in": {
      const options = predicate.value;
      return (args) => {
        const v = at(args);
        return v !== MISSING && !options.some((o) => jsonEqual(v, o));
      };
    }
    case "lt": {
      const bound = predicate.value;
      return (args) => {
        const v = at(args);
        return typeof v === "number" && v < bound;
      };
    }
    case "lte": {
      const bound = predicate.value;
      return (args) => {
        const v = at(args);
        return typeof v === "number" && v <= bound;
      };
    }
    case "gt": {
      const bound = predicate.value;
      return (args) => {
        const v = at(args);
        return typeof v === "number" && v > bound;
      };
    }
    case "gte": {
      const bound = predicate.value;
      return (args) => {
        const v = at(args);
        return typeof v === "number" && v >= bound;
      };
    }
    case "regex": {
      const pattern = compileRegex(predicate.value);
      return (args) => {
        const v = at(args);
        return typeof v === "string" && pattern.test(v);
      };
    }
    case "contains": {
      const needle = predicate.value;
      return (args) => {
        const v = at(args);
        if (typeof v === "string") return typeof needle === "string" && v.includes(needle);
        if (Array.isArray(v)) return v.some((item) => jsonEqual(item, needle));
        return false;
      };
    }
    case "exists": {
      const wanted = predicate.value ?? true;
      return (args) => {
        const v = at(args);
        const present = v !== MISSING && v !== null;
        return present === wanted;
      };
    }
  }
}

/** Deep equality of JSON values: same type, same numbers/strings/booleans, same keys and items. */
export function jsonEqual(a: unknown, b: unknown): boolean {
  if (a === b) return true;
  if (typeof a !== "object" || typeof b !== "object" || a === null || b === null) return false;
  if (Array.isArray(a)) {
    if (!Array.isArray(b) || a.length !== b.length) return false;
    for (let i = 0; i < a.length; i++) if (!jsonEqual(a[i], b[i])) return false;
    return true;
  }
  if (Array.isArray(b)) return false;
  const ak = Object.keys(a);
  if (ak.length !== Object.keys(b).length) return false;
  for (const k of ak) {
    if (!Object.hasOwn(b, k) || !jsonEqual((a as Record<string, unknown>)[k], (b as Record<string, unknown>)[k])) return false;
  }
  return true;
}

/** `args.amount gt 10000`: a predicate in words, for engine messages and explanations. */
export function describePredicate(p: FlatPredicate): string {
  if (p.op === "exists") return `${p.path} ${p.value === false ? "is absent" : "exists"}`;
  return `${p.path} ${p.op} ${JSON.stringify(p.value)}`;
}
