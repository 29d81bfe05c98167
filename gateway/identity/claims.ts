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

type Who = Pick<Caller, "provider" | "subject" | "clientId" | "claims">;

/**
 * ASCII letters in lower case, nothing else changed. Unicode case mapping folds some other characters into ASCII
 * (the Kelvin sign U+212A lower-cases to "k", U+0130 to "i" plus a dot), so a domain someone else registered would
 * compare equal to ours: identifiers are only ever folded this way.
 */
export const asciiLowerCase = (text: string) => text.replace(/[A-Z]/g, (c) => String.fromCharCode(c.charCodeAt(0) + 32));

/** `emailDomain`: the caller's `email` is at that domain (ASCII letters in any case) and `email_verified` is true. */
function emailDomainHolds(domain: string, claims: Record<string, unknown>): boolean {
  const email = claims.email;
  const at = typeof email === "string" ? asciiLowerCase(email.slice(email.lastIndexOf("@") + 1)) : undefined;
  return claims.email_verified === true && at === asciiLowerCase(domain);
}

/** Every condition of a grant's `identity` holds for the caller (the provider too). */
export function identityMatches(match: GrantIdentityMatch, caller: Who): boolean {
  if (match.identityProvider !== caller.provider) return false;
  if (match.subject !== undefined && match.subject !== caller.subject) return false;
  if (match.clientId !== undefined && match.clientId !== caller.clientId) return false;
  if (match.emailDomain !== undefined && !emailDomainHolds(match.emailDomain, caller.claims)) return false;
  return (match.claims ?? []).every((c) => conditionHolds(caller.claims, c));
}

/** One condition of a grant's identity, said in words, and whether it holds; `claims` are the claims it reads. */
export interface ConditionOutcome {
  condition: string;
  holds: boolean;
  claims: string[];
}

/**
 * Each condition of a grant's `identity` and whether it holds for the caller, with the same tests as
 * identityMatches (which holds exactly when every outcome here holds). For `toolgate grants whoami`: off the hot path.
 */
export function identityConditions(match: GrantIdentityMatch, caller: Who): ConditionOutcome[] {
  const outcomes: ConditionOutcome[] = [{ condition: `identity provider is ${match.identityProvider}`, holds: match.identityProvider === caller.provider, claims: ["iss"] }];
  if (match.subject !== undefined) outcomes.push({ condition: `subject is ${JSON.stringify(match.subject)}`, holds: match.subject === caller.subject, claims: ["sub"] });
  if (match.clientId !== undefined) outcomes.push({ condition: `client is ${JSON.stringify(match.clientId)}`, holds: match.clientId === caller.clientId, claims: ["client_id", "azp"] });
  if (match.emailDomain !== undefined) {
    outcomes.push({ condition: `verified email at ${match.emailDomain}`, holds: emailDomainHolds(match.emailDomain, caller.claims), claims: ["email", "email_verified"] });
  }
  for (const c of match.claims ?? []) {
    const wanted = c.equals !== undefined ? `equals ${JSON.stringify(c.equals)}` : `contains ${JSON.stringify(c.contains)}`;
    outcomes.push({ condition: `${c.claim} ${wanted}`, holds: conditionHolds(caller.claims, c), claims: [c.claim] });
  }
  return outcomes;
}

/**
 * How specific a grant's identity is (docs/identity.md): a `subject` beats everything, then more conditions beat
 * fewer. Compared as [subject, conditions].
 */
export function specificity(match: GrantIdentityMatch): [subject: number, conditions: number] {
  const conditions = (match.clientId !== undefined ? 1 : 0) + (match.emailDomain !== undefined ? 1 : 0) + (match.claims?.length ?? 0);
  return [match.subject !== undefined ? 1 : 0, conditions];
}

/** Positive when grant `a` is more specific than `b`, 0 when equally specific (grants by identity only). */
export function compareSpecificity(a: GrantIdentity, b: GrantIdentity): number {
  const [ra, rb] = [specificity(a.identity!), specificity(b.identity!)];
  return ra[0] - rb[0] || ra[1] - rb[1];
}

/** Sort order: the most specific grant first, then by name. */
export function mostSpecificFirst(a: GrantIdentity, b: GrantIdentity): number {
  return compareSpecificity(b, a) || (a.name < b.name ? -1 : a.name > b.name ? 1 : 0);
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
export function selectGrant(grants: readonly GrantIdentity[], caller: Who, server: string, now: number): GrantSelection {
  const matched = grants.filter((g) => g.identity && (g.expiresAt === null || g.expiresAt > now) && identityMatches(g.identity, caller));
  if (matched.length === 0) return { ok: false, reason: "none", message: `no grant for ${caller.subject} on server ${server}` };
  const sorted = [...matched].sort(mostSpecificFirst);
  const top = sorted.filter((g) => compareSpecificity(g, sorted[0]!) === 0);
  if (top.length > 1) {
    const names = top.map((g) => `"${g.name}"`).join(" and ");
    return { ok: false, reason: "ambiguous", grants: top, message: `grants ${names} both match ${caller.subject} on server ${server} and are equally specific; make one more specific (docs/identity.md)` };
  }
  return { ok: true, grant: sorted[0]!, matched: sorted };
}
