import { createHash } from "node:crypto";
import { createLocalJWKSet, decodeJwt, decodeProtectedHeader, errors, jwtVerify, type JSONWebKeySet, type JWTPayload } from "jose";
import type { Caller, RuntimeView, TrustedIdentityProvider } from "../contracts.ts";
import { clientSecretBasic } from "./client-auth.ts";
import { createDiscovery, type Discovery } from "./discovery.ts";

/**
 * An accepted access token: who calls, until when, how it was checked and which accepted audience it carries; or why
 * it was not accepted: 401 (the token), or 503 (the identity provider could not be asked: the token may be fine).
 */
export type TokenCheck = AcceptedToken | { ok: false; status: 401 | 503; reason: string };
export interface AcceptedToken {
  ok: true;
  caller: Caller;
  expiresAt: number | null;
  via: "jwt" | "introspection";
  /** The `aud` value that was accepted: the server's resource URL or one of the provider's `audiences`. */
  audience: string;
}

export interface AccessTokenVerifierOptions {
  view: Pick<RuntimeView, "identityProviderByIssuer">;
  /** Every identity provider (for opaque tokens, which name no issuer). */
  providers: () => TrustedIdentityProvider[];
  /** How long fetched keys are used without a fresh fetch; past it, an unreachable IdP fails calls closed (default 10 min). */
  jwksCacheMs?: number;
  /** An unknown `kid` refetches the keys at most once per this (default 30 s). */
  unknownKidCooldownMs?: number;
  /** Longest an introspection answer is reused (default 5 min; never past the token's exp). */
  introspectionCacheMs?: number;
  /** Most verified JWTs remembered (default 10 000; 0 turns the cache off). */
  verifiedCacheSize?: number;
  /** Issuers' metadata, shared with the rest of the gateway (default: a cache of its own). */
  discovery?: Discovery;
  fetch?: typeof fetch;
  clock?: () => number;
}

export interface AccessTokenVerifier {
  /**
   * `introspectWith` names the identity providers an opaque token may be sent to (those the server's grants use):
   * introspection hands the token itself to the provider, so a provider that has nothing to do with this server
   * never sees it. Omitted: every provider with client credentials.
   */
  verify(token: string, resource: string, introspectWith?: () => ReadonlySet<string>): Promise<TokenCheck>;
}

const JWT_SHAPE = /^[A-Za-z0-9_-]+\.[A-Za-z0-9_-]+\.[A-Za-z0-9_-]*$/;
const FETCH_TIMEOUT_MS = 5_000;
const MAX_INTROSPECTED = 10_000;
/** How long "not active" is remembered for a token: a revoked or made-up token does not turn active, and asking again would let junk hammer the IdP. */
const INACTIVE_CACHE_MS = 60_000;
/** With no usable keys, a failed JWKS fetch is tried again after this: callers flooding the gateway do not flood the IdP. */
const FAILED_FETCH_RETRY_MS = 5_000;

/**
 * A JWT that passed every check, remembered under the SHA-256 of the token and the resource it was checked for. It
 * is reused only while the token has not expired (exp + clock skew), the provider is still the same version, and the
 * key set that verified it is still the provider's current, unexpired one: a refetched JWKS (rotation, a removed
 * key) or a changed provider verifies the token again from scratch.
 */
interface VerifiedJwt {
  check: AcceptedToken;
  provider: string;
  version: number;
  keys: NonNullable<KeyCache["keys"]>;
  until: number;
}

interface KeyCache {
  /** Keys as last fetched; used until `expiresAt`. */
  keys?: { set: ReturnType<typeof createLocalJWKSet>; kids: Set<string>; fetchedAt: number; expiresAt: number };
  /** A fetch under way (concurrent calls share it). */
  pending?: Promise<void>;
  lastUnknownKidFetch: number;
  /** The last failed fetch with no usable keys: calls until `until` fail with its reason without asking the IdP again. */
  failed?: { until: number; reason: string };
  /** The provider version the cache belongs to: a changed jwksUri/issuer starts over. */
  version: number;
}

/**
 * Checks access tokens (docs/identity.md): a JWT against the JWKS of the identity provider whose issuer equals its
 * `iss` exactly (algorithms pinned, `aud` holds the server's resource URL or one of the provider's audiences,
 * exp/nbf with the provider's clock skew); anything else by introspection (RFC 7662). Keys are cached; an IdP that
 * cannot be reached keeps its cached keys working until they expire, then calls fail closed with 503.
 */
export function createAccessTokenVerifier(options: AccessTokenVerifierOptions): AccessTokenVerifier {
  const clock = options.clock ?? Date.now;
  const doFetch = options.fetch ?? fetch;
  const jwksCacheMs = options.jwksCacheMs ?? 600_000;
  const cooldownMs = options.unknownKidCooldownMs ?? 30_000;
  const introspectionCacheMs = options.introspectionCacheMs ?? 300_000;
  const caches = new Map<string, KeyCache>();
  const discovery = options.discovery ?? createDiscovery({ clock });
  const introspected = new Map<string, { until: number; check: TokenCheck }>();
  const verifiedCacheSize = options.verifiedCacheSize ?? 10_000;
  const verified = new Map<string, VerifiedJwt>();

  async function getJson(url: string, init?: RequestInit): Promise<Record<string, unknown>> {
    const res = await doFetch(url, { ...init, redirect: "error", signal: AbortSignal.timeout(FETCH_TIMEOUT_MS) });
    if (!res.ok) throw new Error(`${url} answered ${res.status}`);
    const body = (await res.json()) as unknown;
    if (body === null || typeof body !== "object" || Array.isArray(body)) throw new Error(`${url} did not answer a JSON object`);
    return body as Record<string, unknown>;
  }

  async function jwksUriOf(p: TrustedIdentityProvider): Promise<string> {
    return p.jwksUri ?? discovery.endpoint(p, "jwks_uri");
  }

  function cacheOf(p: TrustedIdentityProvider): KeyCache {
    let cache = caches.get(p.name);
    if (!cache || cache.version !== p.version) caches.set(p.name, (cache = { lastUnknownKidFetch: 0, version: p.version }));
    return cache;
  }

  function refresh(p: TrustedIdentityProvider, cache: KeyCache): Promise<void> {
    cache.pending ??= (async () => {
      try {
        const jwks = (await getJson(await jwksUriOf(p))) as unknown as JSONWebKeySet;
        if (!Array.isArray(jwks.keys)) throw new Error("the JWKS has no keys list");
        const now = clock();
        cache.keys = { set: createLocalJWKSet(jwks), kids: new Set(jwks.keys.map((k) => k.kid).filter((k): k is string => typeof k === "string")), fetchedAt: now, expiresAt: now + jwksCacheMs };
        cache.failed = undefined;
      } finally {
        cache.pending = undefined;
      }
    })();
    return cache.pending;
  }

  /** Keys that may verify a token with this kid, fetching when needed; a string says why none can be had (503). */
  async function keysFor(p: TrustedIdentityProvider, kid: string | undefined): Promise<NonNullable<KeyCache["keys"]> | string> {
    const cache = cacheOf(p);
    const now = clock();
    const unreachable = (error: unknown) => `the identity provider's keys could not be fetched (${p.name}: ${(error as Error).message})`;
    if (!cache.keys || cache.keys.expiresAt <= now) {
      if (cache.failed && now < cache.failed.until) return cache.failed.reason;
      try {
        await refresh(p, cache);
      } catch (error) {
        // Keys past their lifetime are not used: an IdP gone for longer than the cache fails closed.
        cache.failed = { until: clock() + FAILED_FETCH_RETRY_MS, reason: unreachable(error) };
        return cache.failed.reason;
      }
    } else if (kid !== undefined && !cache.keys.kids.has(kid) && now - cache.lastUnknownKidFetch >= cooldownMs) {
      // A new kid: the IdP may have rotated its keys. Once per cooldown, so junk kids cannot make us hammer it.
      cache.lastUnknownKidFetch = now;
      try {
        await refresh(p, cache);
      } catch (error) {
        return unreachable(error);
      }
    } else if (now - cache.keys.fetchedAt > jwksCacheMs / 2) {
      // Half-way through their lifetime, keys are refreshed in the background; failures leave the cached ones.
      refresh(p, cache).catch(() => {});
    }
    return cache.keys!;
  }

  function callerOf(p: TrustedIdentityProvider, payload: JWTPayload | Record<string, unknown>, token: string): Caller | undefined {
    const clientId = typeof payload.client_id === "string" ? payload.client_id : typeof payload.azp === "string" ? payload.azp : undefined;
    const subject = typeof payload.sub === "string" && payload.sub !== "" ? payload.sub : clientId;
    if (subject === undefined) return undefined;
    // The gateway accepts the token until exp plus the clock skew: what the caller holds open ends then too.
    const expiresAt = typeof payload.exp === "number" ? payload.exp * 1000 + p.clockSkewSeconds * 1000 : undefined;
    return { provider: p.name, subject, ...(clientId !== undefined ? { clientId } : {}), claims: payload as Record<string, unknown>, token, ...(expiresAt !== undefined ? { expiresAt } : {}) };
  }

  /** A remembered verification of this token for this resource, if it still stands (see VerifiedJwt). */
  function rememberedJwt(key: string): AcceptedToken | undefined {
    const hit = verified.get(key);
    if (!hit) return undefined;
    const now = clock();
    const p = options.view.identityProviderByIssuer(hit.check.caller.claims.iss as string);
    const cache = p?.name === hit.provider && p.version === hit.version ? caches.get(p.name) : undefined;
    if (!cache || cache.keys !== hit.keys || hit.until <= now || hit.keys.expiresAt <= now) {
      verified.delete(key);
      return undefined;
    }
    // As on the full path: half-way through the keys' lifetime they are refreshed in the background (which retires this entry).
    if (now - hit.keys.fetchedAt > jwksCacheMs / 2) refresh(p!, cache).catch(() => {});
    return hit.check;
  }

  function remember(key: string, p: TrustedIdentityProvider, keys: NonNullable<KeyCache["keys"]>, check: AcceptedToken): void {
    if (verifiedCacheSize === 0 || check.caller.expiresAt === undefined) return;
    if (verified.size >= verifiedCacheSize) verified.delete(verified.keys().next().value!);
    verified.set(key, { check, provider: p.name, version: p.version, keys, until: check.caller.expiresAt });
  }

  async function verifyJwt(token: string, resource: string): Promise<TokenCheck> {
    const key = verifiedCacheSize === 0 ? "" : createHash("sha256").update(token).update("\n").update(resource).digest("base64url");
    const known = verifiedCacheSize === 0 ? undefined : rememberedJwt(key);
    if (known) return known;
    let iss: unknown;
    let kid: string | undefined;
    try {
      const header = decodeProtectedHeader(token);
      kid = typeof header.kid === "string" ? header.kid : undefined;
      iss = decodeJwt(token).iss;
    } catch {
      return { ok: false, status: 401, reason: "the access token is not a well-formed JWT" };
    }
    if (typeof iss !== "string") return { ok: false, status: 401, reason: "the access token has no issuer (iss)" };
    const p = options.view.identityProviderByIssuer(iss);
    if (!p) return { ok: false, status: 401, reason: `the access token's issuer ${JSON.stringify(iss)} is not a trusted identity provider` };
    const keys = await keysFor(p, kid);
    if (typeof keys === "string") return { ok: false, status: 503, reason: keys };
    try {
      const { payload } = await jwtVerify(token, keys.set, {
        issuer: p.issuer,
        audience: [resource, ...p.audiences],
        algorithms: p.algorithms,
        clockTolerance: p.clockSkewSeconds,
        requiredClaims: ["exp"],
        currentDate: new Date(clock()),
      });
      const caller = callerOf(p, payload, token);
      if (!caller) return { ok: false, status: 401, reason: "the access token names no subject (sub) or client (client_id)" };
      const check: AcceptedToken = { ok: true, caller, expiresAt: typeof payload.exp === "number" ? payload.exp * 1000 : null, via: "jwt", audience: acceptedAudience(payload.aud, resource, p)! };
      remember(key, p, keys, check);
      return check;
    } catch (error) {
      return { ok: false, status: 401, reason: jwtFailure(error, resource) };
    }
  }

  function rememberIntrospection(key: string, until: number, check: TokenCheck): void {
    if (introspected.size >= MAX_INTROSPECTED) introspected.delete(introspected.keys().next().value!);
    introspected.set(key, { until, check });
  }

  async function introspect(token: string, resource: string, introspectWith?: () => ReadonlySet<string>): Promise<TokenCheck> {
    const key = createHash("sha256").update(token).digest("hex") + "\n" + resource;
    const now = clock();
    const cached = introspected.get(key);
    if (cached && cached.until > now) return cached.check;
    introspected.delete(key);
    const allowed = introspectWith?.();
    const candidates = options.providers().filter((p) => p.clientId && p.clientSecret && (!allowed || allowed.has(p.name)));
    if (candidates.length === 0) return { ok: false, status: 401, reason: "the access token is not a JWT, and no identity provider is set up to introspect opaque tokens (clientId and clientSecret)" };
    let unreachable: string | undefined;
    for (const p of candidates) {
      let answer: Record<string, unknown>;
      try {
        const endpoint = p.introspectionEndpoint ?? (await discovery.metadata(p)).introspection_endpoint;
        if (typeof endpoint !== "string") continue;
        answer = await getJson(endpoint, { method: "POST", headers: { authorization: clientSecretBasic(p.clientId!, p.clientSecret!), "content-type": "application/x-www-form-urlencoded", accept: "application/json" }, body: new URLSearchParams({ token, token_type_hint: "access_token" }) });
      } catch (error) {
        unreachable = `the identity provider could not introspect the token (${p.name}: ${(error as Error).message})`;
        continue;
      }
      if (answer.active !== true) continue;
      if (answer.iss !== undefined && answer.iss !== p.issuer) continue;
      const check = introspectionCheck(p, answer, token, resource, now);
      if (check.ok) rememberIntrospection(key, Math.min(now + introspectionCacheMs, check.expiresAt ?? Infinity), check);
      return check;
    }
    if (unreachable) return { ok: false, status: 503, reason: unreachable };
    const inactive: TokenCheck = { ok: false, status: 401, reason: "the access token is not active (introspection)" };
    rememberIntrospection(key, now + Math.min(INACTIVE_CACHE_MS, introspectionCacheMs), inactive);
    return inactive;
  }

  function introspectionCheck(p: TrustedIdentityProvider, answer: Record<string, unknown>, token: string, resource: string, now: number): TokenCheck {
    const skew = p.clockSkewSeconds * 1000;
    if (typeof answer.exp === "number" && answer.exp * 1000 + skew <= now) return { ok: false, status: 401, reason: "the access token expired" };
    if (typeof answer.nbf === "number" && answer.nbf * 1000 - skew > now) return { ok: false, status: 401, reason: "the access token is not valid yet (nbf)" };
    const audience = acceptedAudience(answer.aud, resource, p);
    if (audience === undefined) return { ok: false, status: 401, reason: `the access token's audience is not this server's resource ${resource}` };
    const caller = callerOf(p, answer, token);
    if (!caller) return { ok: false, status: 401, reason: "the access token names no subject (sub) or client (client_id)" };
    return { ok: true, caller, expiresAt: typeof answer.exp === "number" ? answer.exp * 1000 : null, via: "introspection", audience };
  }

  return {
    verify: (token, resource, introspectWith) => (JWT_SHAPE.test(token) ? verifyJwt(token, resource) : introspect(token, resource, introspectWith)),
  };
}

/** The first accepted audience the token's `aud` holds: the server's resource URL before the provider's audiences. */
function acceptedAudience(aud: unknown, resource: string, p: TrustedIdentityProvider): string | undefined {
  const held = aud === undefined ? [] : Array.isArray(aud) ? aud : [aud];
  return [resource, ...p.audiences].find((a) => held.includes(a));
}

/** A reason for a refused JWT that names what failed, never the token. */
function jwtFailure(error: unknown, resource: string): string {
  if (error instanceof errors.JWTExpired) return "the access token expired";
  if (error instanceof errors.JWTClaimValidationFailed) {
    if (error.claim === "aud") return `the access token's audience is not this server's resource ${resource}`;
    if (error.claim === "nbf") return "the access token is not valid yet (nbf)";
    if (error.claim === "iss") return "the access token's issuer does not match its identity provider";
    return `the access token's ${error.claim} claim is not valid (${error.reason})`;
  }
  if (error instanceof errors.JOSEAlgNotAllowed) return "the access token is signed with an algorithm this identity provider is not allowed to use";
  if (error instanceof errors.JWSSignatureVerificationFailed) return "the access token's signature is not valid";
  if (error instanceof errors.JWKSNoMatchingKey || error instanceof errors.JWKSMultipleMatchingKeys) return "no signing key of the identity provider matches the access token (kid)";
  if (error instanceof errors.JOSEError) return `the access token is not valid (${error.code})`;
  return "the access token is not valid";
}
