import type { ClaimCondition, GrantIdentityMatch } from "../../sdk/identity.ts";
import type { Caller, GrantIdentity } from "../contracts.ts";

/** A claim by name, or by dotted path (`realm_access.roles`) when no top-level claim has the whole name. */
export function claimValue(claims: Record<string, unknown>, name: string): unknown {
  if (Object.hasOwn(claims, name)) return claims[name];
  let value: unknown = claims;
  for (const part of name.split(".")) {
    if (value === null || typeof value !== "object" || Array.isArray(value) || !Object.hasOwn(value, part)) return undefined;
    value = (value as Record<string, unknown>)[part];
  }
  return value;
}

/** `equals`: the claim is exactly that string; `contains`: a list holding it, or a space-separated string (like `scope`) with it as a word. */
export function conditionHolds(claims: Record<string, unknown>, condition: ClaimCondition): boolean {
  const value = claimValue(claims, condition.claim);
  if (condition.equals !== undefined) return value === condition.equals;
  const wanted = condition.contains!;
  if (Array.isArray(value)) return value.includes(wanted);
  return typeof value === "string" && value.split(" ").includes(wanted);
}

/** Every condition of a grant's `identity` holds for the caller (the provider too). */
export function identityMatches(match: GrantIdentityMatch, caller: Pick<Caller, "provider" | "subject" | "clientId" | "claims">): boolean {
  if (match.identityProvider !== caller.provider) return false;
  if (match.subject !== undefined && match.subject !== caller.subject) return false;
  if (match.clientId !== undefined && match.clientId !== caller.clientId) return false;
  if (match.emailDomain !== undefined) {
    const email = caller.claims.email;
    const domain = typeof email === "string" ? email.slice(email.lastIndexOf("@") + 1).toLowerCase() : undefined;
    if (caller.claims.email_verified !== true || domain !== match.emailDomain.toLowerCase()) return false;
  }
  return (match.claims ?? []).every((c) => conditionHolds(caller.claims, c));
}

/**
 * How specific a grant's identity is (docs/identity.md): a `subject` beats everything, then more conditions beat
 * fewer. Compared as [subject, conditions].
 */
export function specificity(match: GrantIdentityMatch): [subject: number, conditions: number] {
  const conditions = (match.clientId !== undefined ? 1 : 0) + (match.emailDomain !== undefined ? 1 : 0) + (match.claims?.length ?? 0);
  return [match.subject !== undefined ? 1 : 0, conditions];
}

export type GrantSelection =
  | { ok: true; grant: GrantIdentity; matched: GrantIdentity[] }
  | { ok: false; reason: "none"; message: string }
  | { ok: false; reason: "ambiguous"; message: string; grants: GrantIdentity[] };

/**
 * The grant a caller gets on a server: among the server's grants by identity whose every condition holds (expired
 * ones left out), the most specific. Two equally specific matches are refused, so adding a grant never silently
 * changes who gets what.
 */
export function selectGrant(grants: readonly GrantIdentity[], caller: Pick<Caller, "provider" | "subject" | "clientId" | "claims">, server: string, now: number): GrantSelection {
  const matched = grants.filter((g) => g.identity && (g.expiresAt === null || g.expiresAt > now) && identityMatches(g.identity, caller));
  if (matched.length === 0) return { ok: false, reason: "none", message: `no grant for ${caller.subject} on server ${server}` };
  const rank = (g: GrantIdentity) => specificity(g.identity!);
  const better = (a: [number, number], b: [number, number]) => a[0] - b[0] || a[1] - b[1];
  const sorted = [...matched].sort((a, b) => better(rank(b), rank(a)) || (a.name < b.name ? -1 : 1));
  const top = sorted.filter((g) => better(rank(g), rank(sorted[0]!)) === 0);
  if (top.length > 1) {
    const names = top.map((g) => `"${g.name}"`).join(" and ");
    return { ok: false, reason: "ambiguous", grants: top, message: `grants ${names} both match ${caller.subject} on server ${server} and are equally specific; make one more specific (docs/identity.md)` };
  }
  return { ok: true, grant: sorted[0]!, matched: sorted };
}
