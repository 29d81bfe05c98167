import { createHash } from "node:crypto";
import type { IncomingHttpHeaders } from "node:http";
import type { Caller, GrantIdentity, RuntimeView } from "../contracts.ts";
import type { AcceptedToken, AccessTokenVerifier } from "../identity/access-tokens.ts";
import { selectGrant, type GrantSelection } from "../identity/claims.ts";

/**
 * Who is calling and with which grant, or why not. `accepted` is set once an access token passed its checks (also
 * when no grant is found for it, with `unmatched` saying whether none matched or two tied).
 */
export type Authentication =
  | { ok: true; grant: GrantIdentity; tokenHash: string; caller?: Caller; accepted?: AcceptedToken }
  | { ok: false; status: 401 | 403 | 503; message: string; headers: Record<string, string>; accepted?: AcceptedToken; unmatched?: Extract<GrantSelection, { ok: false }>["reason"] };

/** What authenticate needs to check access tokens for a server: the verifier and the server's resource URLs. */
export interface IdentityCheck {
  verifier: AccessTokenVerifier;
  urls: ResourceUrls;
}

const BEARER = /^Bearer[ \t]+([A-Za-z0-9._~+/=-]+)[ \t]*$/i;
/** Grant tokens start with this; any other bearer is an access token from an identity provider. */
const GRANT_TOKEN_PREFIX = "tg_";
/** Keys of calls made with access tokens start with this (grant token hashes are plain hex). */
const CALLER_KEY_PREFIX = "id:";

export function tokenHash(token: string): string {
  return createHash("sha256").update(token).digest("hex");
}

/** Where a server's resource metadata is, and its resource URL (RFC 8707, RFC 9728). */
export interface ResourceUrls {
  resource: string;
  metadata: string;
}

export function resourceUrls(publicUrl: string, serverName: string): ResourceUrls {
  const path = `/mcp/${encodeURIComponent(serverName)}`;
  return { resource: `${publicUrl}${path}`, metadata: `${publicUrl}/.well-known/oauth-protected-resource${path}` };
}

/**
 * How bearers to a server are checked: access tokens only while some identity provider is configured (until then
 * every bearer is a grant token). The proxy and `toolgate grants whoami` both ask this.
 */
export function identityCheckFor(identity: { verifier: AccessTokenVerifier; active: () => boolean } | undefined, publicUrl: (() => string) | undefined, serverName: string): IdentityCheck | undefined {
  return identity?.active() && publicUrl ? { verifier: identity.verifier, urls: resourceUrls(publicUrl(), serverName) } : undefined;
}

/** The key a caller's calls are bound by (sessions, stdio pools, watches): per identity provider and subject. */
export function callerKey(caller: Pick<Caller, "provider" | "subject">): string {
  return CALLER_KEY_PREFIX + createHash("sha256").update(`${caller.provider}\n${caller.subject}`).digest("hex");
}

/** A value for a quoted WWW-Authenticate parameter: printable ASCII without quotes or backslashes. */
const quoted = (text: string) => text.replace(/["\\]/g, "'").replace(/[^\x20-\x7e]/g, "?");

/**
 * Who is calling: the grant behind a grant token, or, for an access token, the grant its identity selects (checked
 * by `identity`). Never throws; says nothing about whether the server exists (that is only told to a caller with a
 * grant for it). 401s point at the server's Protected Resource Metadata.
 */
export async function authenticate(
  req: { headers: Pick<IncomingHttpHeaders, "authorization"> },
  view: RuntimeView,
  serverName: string,
  now: number,
  identity?: IdentityCheck,
): Promise<Authentication> {
  const challenge = (error?: { code: string; description: string }) => ({
    "www-authenticate": [
      identity ? `Bearer resource_metadata="${identity.urls.metadata}"` : 'Bearer realm="toolgate"',
      ...(error ? [`error="${error.code}"`, `error_description="${quoted(error.description)}"`] : []),
    ].join(", "),
  });
  const header = req.headers.authorization;
  const match = typeof header === "string" ? BEARER.exec(header) : null;
  if (!match) {
    return { ok: false, status: 401, message: "Missing grant token: send Authorization: Bearer <token>", headers: challenge() };
  }
  const token = match[1]!;
  if (!identity || token.startsWith(GRANT_TOKEN_PREFIX)) return grantToken(token, view, serverName, now, challenge);

  const checked = await identity.verifier.verify(token, identity.urls.resource, () => providersOf(view, serverName));
  if (!checked.ok) {
    if (checked.status === 503) return { ok: false, status: 503, message: `Cannot check the access token right now: ${checked.reason} (fail closed)`, headers: { "retry-after": "5" } };
    return { ok: false, status: 401, message: `Access token refused: ${checked.reason}`, headers: challenge({ code: "invalid_token", description: checked.reason }) };
  }
  const { caller } = checked;
  const selected = selectGrant(view.identityGrants(serverName), caller, serverName, now);
  if (!selected.ok) return { ok: false, status: 403, message: selected.message.charAt(0).toUpperCase() + selected.message.slice(1), headers: {}, accepted: checked, unmatched: selected.reason };
  return { ok: true, grant: selected.grant, tokenHash: callerKey(caller), caller, accepted: checked };
}

/** The identity providers the server's grants by identity use: the only ones a caller of it can have a token of. */
function providersOf(view: RuntimeView, serverName: string): ReadonlySet<string> {
  return new Set(view.identityGrants(serverName).flatMap((g) => (g.identity ? [g.identity.identityProvider] : [])));
}

function grantToken(token: string, view: RuntimeView, serverName: string, now: number, challenge: (error?: { code: string; description: string }) => Record<string, string>): Authentication {
  const hash = tokenHash(token);
  const grant = view.grantByTokenHash(hash);
  if (!grant) {
    return { ok: false, status: 401, message: "Unknown or revoked grant token", headers: challenge({ code: "invalid_token", description: "unknown or revoked grant token" }) };
  }
  const expiry = stillValid(grant, now);
  if (expiry) return { ok: false, status: 401, message: expiry, headers: challenge({ code: "invalid_token", description: "expired" }) };
  if (grant.server !== serverName) {
    return { ok: false, status: 403, message: `This grant is for server "${grant.server}", not "${serverName}"`, headers: {} };
  }
  return { ok: true, grant, tokenHash: hash };
}

/** Why a grant can no longer be used, or undefined while it can. */
export function stillValid(grant: GrantIdentity, now: number): string | undefined {
  return grant.expiresAt !== null && grant.expiresAt <= now ? `Grant "${grant.name}" expired at ${new Date(grant.expiresAt).toISOString()}` : undefined;
}

/**
 * The grant a call's key names now, if it is still the same grant and still valid (revoked, rotated and expired
 * grants are not). A call made with an access token is keyed by its caller: its grant by identity is current while
 * it exists and is valid (each request selects its grant again).
 */
export function currentGrant(view: RuntimeView, hash: string, name: string, now: number): GrantIdentity | undefined {
  const grant = hash.startsWith(CALLER_KEY_PREFIX) ? view.grant(name) : view.grantByTokenHash(hash);
  if (!grant || grant.name !== name || stillValid(grant, now) !== undefined) return undefined;
  return hash.startsWith(CALLER_KEY_PREFIX) === (grant.identity !== undefined) ? grant : undefined;
}
