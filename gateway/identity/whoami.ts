import type { Caller, RuntimeView } from "../contracts.ts";
import { authenticate, identityCheckFor, resourceUrls } from "../proxy/authenticate.ts";
import type { AccessTokenVerifier } from "./access-tokens.ts";
import { claimValue, identityConditions, mostSpecificFirst, specificity, type ConditionOutcome } from "./claims.ts";

/** What a bearer gets on a server and why (`POST /v1/identity/whoami`, `toolgate grants whoami`). Never holds the token. */
export interface WhoamiReport {
  server: string;
  /** The server's resource URL (RFC 8707): the audience an access token must carry, besides the provider's `audiences`. */
  resource: string;
  /** How the bearer was taken: null when it was refused before it was accepted. */
  token:
    | { kind: "grant-token"; grant: string }
    | { kind: "access-token"; via: "jwt" | "introspection"; identityProvider: string; issuer: string; audience: string; expiresAt: string | null; subject: string; clientId: string | null }
    | null;
  /** The claims the decision read: who (sub, client_id), when and for whom (iss, aud, exp), and every claim a grant's condition names. */
  claims: Record<string, unknown>;
  /** The server's grants by identity of the token's provider, most specific first, each with every condition's outcome. */
  grants: WhoamiGrant[];
  /** The answer a call with this bearer gets now: the grant and its policy, or the status and reason of the refusal. */
  result:
    | { ok: true; grant: string; policy: { name: string; version: number } | null; noPolicy: boolean }
    | { ok: false; status: 401 | 403 | 503; reason: "refused" | "unavailable" | "no-match" | "ambiguous" | "other-server"; message: string };
}

export interface WhoamiGrant {
  name: string;
  policy: string | null;
  specificity: { subject: boolean; conditions: number };
  expired: boolean;
  matches: boolean;
  conditions: ConditionOutcome[];
}

export interface WhoamiDeps {
  view: RuntimeView;
  /** The proxy's own verifier (the same key caches): the admin side never fetches keys of its own. */
  identity: { verifier: AccessTokenVerifier; active: () => boolean };
  publicUrl: () => string;
  clock?: () => number;
}

const ALWAYS_SHOWN = ["iss", "aud", "exp", "nbf", "sub", "client_id", "azp"];

/**
 * `whoami(token, server)`: runs the proxy's authenticate() on the bearer exactly as a call to /mcp/<server> would,
 * then explains it: which provider accepted the token, each grant's conditions, and the grant and policy it gets.
 */
export function createWhoami(deps: WhoamiDeps): (token: string, server: string) => Promise<WhoamiReport> {
  const clock = deps.clock ?? Date.now;
  return async function whoami(token, server) {
    const now = clock();
    const auth = await authenticate({ headers: { authorization: `Bearer ${token}` } }, deps.view, server, now, identityCheckFor(deps.identity, deps.publicUrl, server));
    const resource = resourceUrls(deps.publicUrl(), server).resource;
    const accepted = auth.accepted;
    const report: WhoamiReport = { server, resource, token: null, claims: {}, grants: [], result: resultOf(auth) };
    if (accepted) {
      const caller = accepted.caller;
      const provider = deps.view.identityProvider(caller.provider);
      report.token = {
        kind: "access-token",
        via: accepted.via,
        identityProvider: caller.provider,
        issuer: provider?.issuer ?? String(caller.claims.iss),
        audience: accepted.audience,
        expiresAt: accepted.expiresAt === null ? null : new Date(accepted.expiresAt).toISOString(),
        subject: caller.subject,
        clientId: caller.clientId ?? null,
      };
      report.grants = deps.view
        .identityGrants(server)
        .filter((g) => g.identity?.identityProvider === caller.provider)
        .sort(mostSpecificFirst)
        .map((g) => {
          const conditions = identityConditions(g.identity!, caller);
          const [subject, count] = specificity(g.identity!);
          const expired = g.expiresAt !== null && g.expiresAt <= now;
          return { name: g.name, policy: g.policy, specificity: { subject: subject === 1, conditions: count }, expired, matches: !expired && conditions.every((c) => c.holds), conditions };
        });
      report.claims = claimsThatMattered(caller, report.grants);
    } else if (auth.ok) {
      report.token = { kind: "grant-token", grant: auth.grant.name };
    }
    if (auth.ok) {
      const policy = auth.grant.policy === null ? undefined : deps.view.policy(auth.grant.policy);
      report.result = { ok: true, grant: auth.grant.name, policy: policy ? { name: policy.name, version: policy.version } : null, noPolicy: policy === undefined };
    }
    return report;
  };
}

function resultOf(auth: Awaited<ReturnType<typeof authenticate>>): WhoamiReport["result"] {
  if (auth.ok) return { ok: true, grant: auth.grant.name, policy: null, noPolicy: true };
  const reason = auth.status === 503 ? "unavailable" : auth.status === 401 ? "refused" : auth.unmatched === "ambiguous" ? "ambiguous" : auth.unmatched === "none" ? "no-match" : "other-server";
  return { ok: false, status: auth.status, reason, message: auth.message };
}

function claimsThatMattered(caller: Caller, grants: readonly WhoamiGrant[]): Record<string, unknown> {
  const names = new Set(ALWAYS_SHOWN);
  for (const g of grants) for (const c of g.conditions) for (const claim of c.claims) names.add(claim);
  const shown: Record<string, unknown> = {};
  for (const name of names) {
    const value = claimValue(caller.claims, name);
    if (value !== undefined) shown[name] = value;
  }
  return shown;
}
