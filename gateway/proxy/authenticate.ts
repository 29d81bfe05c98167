import { createHash } from "node:crypto";
import type { IncomingMessage } from "node:http";
import type { GrantIdentity, RuntimeView } from "../contracts.ts";

export type Authentication =
  | { ok: true; grant: GrantIdentity; tokenHash: string }
  | { ok: false; status: 401 | 403; message: string; headers: Record<string, string> };

const BEARER = /^Bearer[ \t]+([A-Za-z0-9._~+/=-]+)[ \t]*$/i;

export function tokenHash(token: string): string {
  return createHash("sha256").update(token).digest("hex");
}

/**
 * Who is calling: the grant behind the bearer token, checked against the server in the URL. Never throws;
 * says nothing about whether the server exists (that is only told to a caller with a grant for it).
 */
export function authenticate(req: IncomingMessage, view: RuntimeView, serverName: string, now: number): Authentication {
  const header = req.headers.authorization;
  const match = typeof header === "string" ? BEARER.exec(header) : null;
  if (!match) {
    return { ok: false, status: 401, message: "Missing grant token: send Authorization: Bearer <token>", headers: { "www-authenticate": 'Bearer realm="toolgate"' } };
  }
  const hash = tokenHash(match[1]!);
  const grant = view.grantByTokenHash(hash);
  if (!grant) {
    return { ok: false, status: 401, message: "Unknown or revoked grant token", headers: { "www-authenticate": 'Bearer realm="toolgate", error="invalid_token"' } };
  }
  const expiry = stillValid(grant, now);
  if (expiry) return { ok: false, status: 401, message: expiry, headers: { "www-authenticate": 'Bearer realm="toolgate", error="invalid_token", error_description="expired"' } };
  if (grant.server !== serverName) {
    return { ok: false, status: 403, message: `This grant is for server "${grant.server}", not "${serverName}"`, headers: {} };
  }
  return { ok: true, grant, tokenHash: hash };
}

/** Why a grant can no longer be used, or undefined while it can. */
export function stillValid(grant: GrantIdentity, now: number): string | undefined {
  return grant.expiresAt !== null && grant.expiresAt <= now ? `Grant "${grant.name}" expired at ${new Date(grant.expiresAt).toISOString()}` : undefined;
}

/** The grant a token hash names now, if it is still the same grant and still valid (revoked, rotated and expired grants are not). */
export function currentGrant(view: RuntimeView, hash: string, name: string, now: number): GrantIdentity | undefined {
  const grant = view.grantByTokenHash(hash);
  return grant && grant.name === name && stillValid(grant, now) === undefined ? grant : undefined;
}
