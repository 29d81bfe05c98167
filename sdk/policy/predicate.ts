import type { FlatPredicate } from "./schema.ts";
import { CaseVariantKey, MISSING, compilePath } from "./path.ts";
import { compileRegex } from "./regex.ts";
import { printable } from "../display.ts";

/**
 * What a condition says about one call's arguments: `true` it holds, `false` it does not, or a string: the
 * argument is there but the condition cannot be decided on it, and why. Undecided fails closed: `deny_if` (and an
 * approval's `when`) counts it as holding, `require` as failing.
 */
export type Outcome = boolean | string;
export type Test = (args: unknown) => Outcome;

/**
 * Operator semantics:
 * - A missing argument makes every operator false except `exists`; an argument key that differs from the path's
 *   only in letter case makes every operator undecided (see `path.ts`).
 * - `eq`/`neq`: deep JSON equality; a number `value` also equals a numeric string of the same value
 *   (`10000` equals `"10000"` and `"1e4"`; a string `value` `"5"` does not equal `5`).
 * - `in`/`not_in`: membership by `eq`.
 * - `lt`/`lte`/`gt`/`gte`: a number or a numeric string compares numerically; any other value is undecided.
 * - `regex`: a string matches or not; any other value is undecided.
 * - `contains`: substring when the argument is a string (value must be a string), element `eq` when it is an array.
 * - `exists`: true → present and not null; false → missing or null.
 */
export function compilePredicate(predicate: FlatPredicate): Test {
  const at = compilePath(predicate.path);
  const whenMissing = predicate.op === "exists" && predicate.value === false;
  const test = presentTest(predicate);
  return (args) => {
    const v = at(args);
    if (v === MISSING) return whenMissing;
    if (v instanceof CaseVariantKey) return v.reason;
    return test(v);
  };
}

/** The test of an argument that is present. */
function presentTest(predicate: FlatPredicate): (v: unknown) => Outcome {
  const path = predicate.path;
  switch (predicate.op) {
    case "eq": {
      const expected = predicate.value;
      return (v) => argumentEquals(v, expected);
    }
    case "neq": {
      const expected = predicate.value;
      return (v) => !argumentEquals(v, expected);
    }
    case "in": {
      const options = predicate.value;
      return (v) => options.some((o) => argumentEquals(v, o));
    }
    case "not_in": {
      const options = predicate.value;
      return (v) => !options.some((o) => argumentEquals(v, o));
    }
    case "lt": {
      const bound = predicate.value;
      return (v) => {
        const n = numberOf(v);
        return n === undefined ? notA("number", path, v) : n < bound;
      };
    }
    case "lte": {
      const bound = predicate.value;
      return (v) => {
        const n = numberOf(v);
        return n === undefined ? notA("number", path, v) : n <= bound;
      };
    }
    case "gt": {
      const bound = predicate.value;
      return (v) => {
        const n = numberOf(v);
        return n === undefined ? notA("number", path, v) : n > bound;
      };
    }
    case "gte": {
      const bound = predicate.value;
      return (v) => {
        const n = numberOf(v);
        return n === undefined ? notA("number", path, v) : n >= bound;
      };
    }
    case "regex": {
      const pattern = compileRegex(predicate.value);
      return (v) => (typeof v === "string" ? pattern.test(v) : notA("string", path, v));
    }
    case "contains": {
      const needle = predicate.value;
      return (v) => {
        if (typeof v === "string") return typeof needle === "string" && v.includes(needle);
        if (Array.isArray(v)) return v.some((item) => jsonEqual(item, needle));
        return false;
      };
    }
    case "exists": {
      const wanted = predicate.value ?? true;
      return (v) => (v !== null) === wanted;
    }
  }
}

/** All of a group's conditions: false if one is false, else undecided if one is, else true. */
export function allOf(tests: readonly Test[]): Test {
  if (tests.length === 1) return tests[0]!;
  return (args) => {
    let undecided: string | undefined;
    for (const test of tests) {
      const outcome = test(args);
      if (outcome === false) return false;
      if (outcome !== true) undecided ??= outcome;
    }
    return undecided ?? true;
  };
}

/** The text of a JSON number: no sign `+`, no spaces, no hex, no `Infinity`/`NaN`, no empty string. */
const JSON_NUMBER = /^-?(?:0|[1-9][0-9]*)(?:\.[0-9]+)?(?:[eE][+-]?[0-9]+)?$/;

/** The numeric value of a number or of a string that is a JSON number; undefined for anything else. */
function numberOf(v: unknown): number | undefined {
  if (typeof v === "number") return v;
  if (typeof v === "string" && JSON_NUMBER.test(v)) return Number(v);
  return undefined;
}

/** `eq` of an argument and a policy value: JSON equality, and a number value also equals a numeric string of its value. */
export function argumentEquals(v: unknown, expected: unknown): boolean {
  if (typeof expected === "number" && typeof v === "string") return numberOf(v) === expected;
  return jsonEqual(v, expected);
}

function notA(wanted: "number" | "string", rawPath: string, v: unknown): string {
  const path = printable(rawPath);
  const type = v === null ? "null" : Array.isArray(v) ? "an array" : typeof v === "string" ? "a string" : typeof v === "number" ? "a number" : typeof v === "boolean" ? "a boolean" : "an object";
  return wanted === "number" && typeof v === "string" ? `${path} is a string that is not a number` : `${path} is ${type}, not a ${wanted}`;
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

/** `args.amount gt 10000`: a predicate in words, for engine messages and explanations (the path shown with `printable`). */
export function describePredicate(p: FlatPredicate): string {
  if (p.op === "exists") return `${printable(p.path)} ${p.value === false ? "is absent" : "exists"}`;
  return `${printable(p.path)} ${p.op} ${JSON.stringify(p.value)}`;
}
