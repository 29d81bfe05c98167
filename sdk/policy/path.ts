/**
 * Argument paths: `args.` followed by dot-separated segments. Objects are walked by own property; a segment
 * of digits indexes an array (`args.items.0.sku`). A segment that does not exist, a walk through a scalar,
 * or a non-index segment on an array means "missing": every operator except `exists` is then false.
 * Keys that themselves contain a dot cannot be addressed.
 */
export const MISSING: unique symbol = Symbol("missing");
export type Resolved = unknown | typeof MISSING;

const INDEX = /^(0|[1-9][0-9]*)$/;

export function pathSegments(path: string): readonly string[] {
  return path.split(".").slice(1);
}

export function resolvePath(args: unknown, segments: readonly string[]): Resolved {
  let current: unknown = args;
  for (const segment of segments) {
    if (Array.isArray(current)) {
      if (!INDEX.test(segment)) return MISSING;
      const index = Number(segment);
      if (index >= current.length) return MISSING;
      current = current[index];
    } else if (current !== null && typeof current === "object") {
      if (!Object.hasOwn(current, segment)) return MISSING;
      current = (current as Record<string, unknown>)[segment];
    } else {
      return MISSING;
    }
  }
  return current;
}
