import type { z } from "zod";

/** One problem found in an input: where (an RFC 6901 JSON pointer) and what, in plain words. */
export interface Issue {
  path: string;
  message: string;
}

/** Turns a path of keys and indexes into a JSON pointer: `["tools","a/b",0]` → `/tools/a~1b/0`. */
export function toPointer(path: readonly PropertyKey[]): string {
  return path.map((segment) => "/" + String(segment).replaceAll("~", "~0").replaceAll("/", "~1")).join("");
}

/** Joins two JSON pointers: `joinPointer("/document", "/tools/x")` → `/document/tools/x`. */
export function joinPointer(prefix: string, pointer: string): string {
  return prefix === "" ? pointer : prefix + pointer;
}

export interface FormatOptions {
  /** The raw input, used to pick the union option that matches what the user wrote. */
  input: unknown;
  /**
   * For a union: the index of the option whose errors to report, given the raw value at the union's path.
   * Without it every option's errors would be reported and the author would read noise. Default: 0.
   */
  pickUnionBranch?: (value: unknown, path: readonly PropertyKey[]) => number;
  /** The keys allowed at a path, for "did you mean" suggestions on unknown keys. */
  knownKeys?: (path: readonly PropertyKey[]) => readonly string[];
}

/**
 * Converts zod issues into `{path, message}` issues with messages a policy author understands.
 * Unknown keys become one issue per key (with a "did you mean" when a known key is close), and
 * unions report only the option that matches what was written.
 */
export function zodIssues(error: z.ZodError, options: FormatOptions): Issue[] {
  const out: Issue[] = [];
  collect(error.issues, [], options, out);
  return dedupe(out);
}

function collect(
  issues: readonly z.core.$ZodIssue[],
  base: readonly PropertyKey[],
  options: FormatOptions,
  out: Issue[],
): void {
  for (const issue of issues) {
    const path = [...base, ...issue.path];
    switch (issue.code) {
      case "unrecognized_keys":
        for (const key of issue.keys) {
          out.push({ path: toPointer([...path, key]), message: unknownKeyMessage(key, options.knownKeys?.(path) ?? []) });
        }
        break;
      case "invalid_union": {
        if (issue.errors.length === 0) {
          out.push({ path: toPointer(path), message: issue.message });
          break;
        }
        const at = valueAt(options.input, path);
        const pick = options.pickUnionBranch?.(at, path) ?? 0;
        collect(issue.errors[pick] ?? issue.errors[0] ?? [], path, options, out);
        break;
      }
      default:
        out.push({ path: toPointer(path), message: issue.message });
    }
  }
}

function dedupe(issues: Issue[]): Issue[] {
  const seen = new Set<string>();
  return issues.filter((i) => {
    const key = i.path + "\u0000" + i.message;
    if (seen.has(key)) return false;
    seen.add(key);
    return true;
  });
}

/** Reads the raw value at a zod path, for choosing among union branches. */
export function valueAt(input: unknown, path: readonly PropertyKey[]): unknown {
  let current: unknown = input;
  for (const segment of path) {
    if (current === null || typeof current !== "object") return undefined;
    current = (current as Record<PropertyKey, unknown>)[segment];
  }
  return current;
}

/** `unknown key "deny-if"; did you mean "deny_if"?` */
export function unknownKeyMessage(key: string, known: readonly string[]): string {
  const suggestion = closest(key, known);
  return suggestion === undefined
    ? `unknown key "${key}"`
    : `unknown key "${key}"; did you mean "${suggestion}"?`;
}

/** The candidate within edit distance 2 of `word` (or differing only by case, `-` vs `_`), if any. */
export function closest(word: string, candidates: readonly string[]): string | undefined {
  const normal = (s: string) => s.toLowerCase().replaceAll("-", "_");
  let best: string | undefined;
  let bestDistance = 3;
  for (const candidate of candidates) {
    const d = normal(candidate) === normal(word) ? 0 : editDistance(word, candidate);
    if (d < bestDistance) {
      best = candidate;
      bestDistance = d;
    }
  }
  return best;
}

function editDistance(a: string, b: string): number {
  const row = Array.from({ length: b.length + 1 }, (_, i) => i);
  for (let i = 1; i <= a.length; i++) {
    let previous = row[0]!;
    row[0] = i;
    for (let j = 1; j <= b.length; j++) {
      const saved = row[j]!;
      row[j] = Math.min(row[j]! + 1, row[j - 1]! + 1, previous + (a[i - 1] === b[j - 1] ? 0 : 1));
      previous = saved;
    }
  }
  return row[b.length]!;
}
