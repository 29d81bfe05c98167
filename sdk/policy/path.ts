import { foldKey } from "./fold-key.ts";
import { printable } from "../display.ts";

/**
 * Argument paths: `args.` followed by dot-separated segments. Objects are walked by own property; a segment
 * of digits indexes an array (`args.items.0.sku`). A segment that does not exist, a walk through a scalar,
 * or a non-index segment on an array means "missing": every operator except `exists` is then false.
 * Keys that themselves contain a dot cannot be addressed.
 *
 * An object key that differs from the segment only in letter case (by `foldKey`) makes the path a
 * `CaseVariantKey`: an upstream decoding JSON like Go's encoding/json reads that key as the argument, whether or
 * not the exact key is also there, so the policy cannot know the value the upstream will use.
 */
export const MISSING: unique symbol = Symbol("missing");

export class CaseVariantKey {
  readonly key: string;
  readonly wanted: string;
  readonly exactAlsoPresent: boolean;

  constructor(key: string, wanted: string, exactAlsoPresent: boolean) {
    this.key = key;
    this.wanted = wanted;
    this.exactAlsoPresent = exactAlsoPresent;
  }

  get reason(): string {
    const key = `"${printable(this.key)}"`;
    const wanted = `"${printable(this.wanted)}"`;
    return this.exactAlsoPresent ? `argument keys ${wanted} and ${key} differ only in letter case` : `argument key ${key} differs from ${wanted} only in letter case`;
  }
}

export type Resolved = unknown | typeof MISSING | CaseVariantKey;

const INDEX = /^(0|[1-9][0-9]*)$/;

/** Compiles `args.a.b` into a function that resolves it in call arguments. */
export function compilePath(path: string): (args: unknown) => Resolved {
  const segments = path.split(".").slice(1);
  const folded = segments.map(foldKey);
  return (args) => {
    let current: unknown = args;
    for (let i = 0; i < segments.length; i++) {
      const segment = segments[i]!;
      if (Array.isArray(current)) {
        if (!INDEX.test(segment)) return MISSING;
        const index = Number(segment);
        if (index >= current.length) return MISSING;
        current = current[index];
      } else if (current !== null && typeof current === "object") {
        const variant = caseVariant(current, segment, folded[i]!);
        const present = Object.hasOwn(current, segment);
        if (variant !== undefined) return new CaseVariantKey(variant, segment, present);
        if (!present) return MISSING;
        current = (current as Record<string, unknown>)[segment];
      } else {
        return MISSING;
      }
    }
    return current;
  };
}

/** Another own key of `object` that folds like `segment`. */
function caseVariant(object: object, segment: string, folded: string): string | undefined {
  for (const key in object) {
    if (key !== segment && foldsAlike(key, segment, folded) && Object.hasOwn(object, key)) return key;
  }
  return undefined;
}

/**
 * `foldKey(key) === folded` (the fold of `segment`), without folding in the common case. `foldKey` maps every code
 * point to one of the same UTF-16 length, so the folds can only be equal at equal lengths, and while both strings
 * are ASCII they fold alike position by position exactly when they differ only in the case of letters.
 */
function foldsAlike(key: string, segment: string, folded: string): boolean {
  if (key.length !== segment.length) return false;
  for (let i = 0; i < key.length; i++) {
    const a = key.charCodeAt(i);
    const b = segment.charCodeAt(i);
    if (a === b) continue;
    if (a >= 0x80 || b >= 0x80) return foldKey(key) === folded;
    const lower = a | 0x20;
    if (lower !== (b | 0x20) || lower < 0x61 || lower > 0x7a) return false;
  }
  return true;
}
