/**
 * Who manages an object in the gateway (its `owner`): the URN of the Pulumi resource that wrote it,
 * `urn:pulumi:<stack>::<project>::<type>::<name>`, or, as earlier versions wrote it, only the stack,
 * `pulumi:<project>/<stack>`. Any other value was set by hand.
 */
export type Relation =
  /** No owner recorded. */
  | "none"
  /** Written by this very resource. */
  | "self"
  /** Written by this stack before owners named the resource: it cannot be told apart from this resource. */
  | "stack"
  /** Another resource of this stack: this resource was renamed (or moved to another parent) without an alias. */
  | "sibling"
  /** Another stack, or set by hand. */
  | "foreign";

export function relation(live: string | null | undefined, self: string): Relation {
  if (!live) return "none";
  if (live === self) return "self";
  const theirs = stackOf(live);
  if (theirs === undefined || theirs !== stackOf(self)) return "foreign";
  return isUrn(live) && isUrn(self) ? "sibling" : "stack";
}

/** Two owners of the same stack: a change between them (an upgrade from stack owners, an alias) is not a change. */
export function sameStack(a: unknown, b: unknown): boolean {
  return typeof a === "string" && typeof b === "string" && stackOf(a) !== undefined && stackOf(a) === stackOf(b);
}

/** `<project>/<stack>` of an owner written by Pulumi, undefined for anything else. */
function stackOf(owner: string): string | undefined {
  const urn = /^urn:pulumi:(.+?)::(.+?)::/.exec(owner);
  if (urn) return `${urn[2]}/${urn[1]}`;
  return /^pulumi:(.+\/.+)$/.exec(owner)?.[1];
}

function isUrn(owner: string): boolean {
  return owner.startsWith("urn:pulumi:");
}

/**
 * The `aliases` option that tells Pulumi a resource was renamed, for an error message: `{ name }` when only the
 * logical name changed, the full old URN otherwise (another parent or type).
 */
export function aliasSnippet(oldUrn: string, newUrn: string): string {
  const cut = (urn: string) => ({ prefix: urn.slice(0, urn.lastIndexOf("::")), name: urn.slice(urn.lastIndexOf("::") + 2) });
  const old = cut(oldUrn);
  return old.prefix === cut(newUrn).prefix ? `{ aliases: [{ name: ${JSON.stringify(old.name)} }] }` : `{ aliases: [${JSON.stringify(oldUrn)}] }`;
}

/** "by stack "shop/prod" (resource urn:…)", "outside Pulumi": who manages an object, for messages. */
export function describeOwner(owner: string | null | undefined): string {
  if (!owner) return "outside Pulumi";
  const stack = stackOf(owner);
  if (!stack) return `by ${JSON.stringify(owner)}`;
  return isUrn(owner) ? `by stack "${stack}" (resource ${owner})` : `by stack "${stack}"`;
}
