import { createHash } from "node:crypto";
import { request as undiciRequest, type Dispatcher } from "undici";
import type { TokenExchange } from "../../sdk/index.ts";
import { clientSecretBasic } from "./client-auth.ts";

/** RFC 8693 names. */
export const TOKEN_EXCHANGE_GRANT = "urn:ietf:params:oauth:grant-type:token-exchange";
export const ACCESS_TOKEN_TYPE = "urn:ietf:params:oauth:token-type:access_token";

/** Where and as whom the gateway exchanges tokens at one identity provider. */
export interface ExchangeClient {
  tokenEndpoint: string;
  clientId: string;
  clientSecret: string;
  /** How the client authenticates at the token endpoint (default client_secret_basic, as RFC 6749 says servers must support). */
  authMethod?: "client_secret_basic" | "client_secret_post";
}

/** One exchange: the caller's access token for a token meant for `server`'s upstream. */
export interface ExchangeRequest {
  server: string;
  /** The caller's identity provider and subject (the cache is per subject). */
  provider: string;
  subject: string;
  /** The caller's access token, the `subject_token`. Never logged, never part of an error. */
  token: string;
  /** When the caller's token expires (epoch ms), when known: an exchanged token is not reused past it. */
  tokenExpiresAt?: number;
  settings: TokenExchange;
}

export type ExchangeResult =
  | { ok: true; token: string }
  /**
   * 403: the identity provider refused (the caller's token cannot be exchanged for this upstream).
   * 502: it answered something that is not a token response. 503: it could not be asked (unreachable, 5xx, not
   * configured for exchanges); `retryAfter` in seconds.
   */
  | { ok: false; status: 403 | 502 | 503; reason: string; retryAfter?: number };

export interface TokenExchangerOptions {
  /** The gateway's client at an identity provider, or why there is none (no clientId/clientSecret, discovery failed). */
  client(provider: string): Promise<ExchangeClient | { error: string }>;
  dispatcher?: Dispatcher;
  clock?: () => number;
  /** Most exchanged tokens kept (default 10000); the least recently used go first. */
  maxEntries?: number;
  /** Time allowed for the identity provider's answer (default 10 s). */
  timeoutMs?: number;
}

export interface TokenExchanger {
  exchange(request: ExchangeRequest): Promise<ExchangeResult>;
  /** Exchanged tokens held now. */
  size(): number;
}

interface Entry {
  token: string;
  /** Epoch ms after which the entry is not used. */
  useUntil: number;
}

/** An exchanged token is reused until this long before it expires: a tenth of its life, between 5 s and 60 s. */
function renewalMargin(lifetimeMs: number): number {
  return Math.min(60_000, Math.max(5_000, lifetimeMs / 10));
}

/**
 * The gateway's RFC 8693 client. Each (server, settings, provider, subject, caller token) gets its own exchanged
 * token, reused until shortly before it (or the caller's token) expires; concurrent calls of one caller share one
 * exchange. The cache is bounded, least recently used first out, and keyed by a hash of the caller's token, so it
 * holds no caller token. Errors never carry a token.
 *
 * @example
 * const exchanger = createTokenExchanger({ client: async (name) => clientOf(name) });
 * const r = await exchanger.exchange({ server: "payments", provider: "corp", subject: "alice", token, settings });
 * if (r.ok) headers.authorization = `Bearer ${r.token}`;
 */
export function createTokenExchanger(options: TokenExchangerOptions): TokenExchanger {
  const clock = options.clock ?? Date.now;
  const maxEntries = options.maxEntries ?? 10_000;
  const timeoutMs = options.timeoutMs ?? 10_000;
  const cache = new Map<string, Entry>();
  const pending = new Map<string, Promise<ExchangeResult>>();

  function cached(key: string): string | undefined {
    const entry = cache.get(key);
    if (!entry) return undefined;
    cache.delete(key);
    if (entry.useUntil <= clock()) return undefined;
    cache.set(key, entry);
    return entry.token;
  }

  function remember(key: string, entry: Entry): void {
    if (entry.useUntil <= clock()) return;
    cache.delete(key);
    while (cache.size >= maxEntries) cache.delete(cache.keys().next().value!);
    cache.set(key, entry);
  }

  async function ask(request: ExchangeRequest, key: string): Promise<ExchangeResult> {
    const { server, settings } = request;
    const who = `identity provider "${settings.identityProvider}"`;
    const client = await options.client(settings.identityProvider);
    if ("error" in client) return { ok: false, status: 503, reason: `Cannot exchange the caller's token for server "${server}": ${client.error}` };
    const form = new URLSearchParams({ grant_type: TOKEN_EXCHANGE_GRANT, subject_token: request.token, subject_token_type: ACCESS_TOKEN_TYPE, requested_token_type: ACCESS_TOKEN_TYPE, audience: settings.audience });
    if (settings.resource) form.set("resource", settings.resource);
    if (settings.scope) form.set("scope", settings.scope);
    const headers: Record<string, string> = { "content-type": "application/x-www-form-urlencoded", accept: "application/json" };
    if (client.authMethod === "client_secret_post") {
      form.set("client_id", client.clientId);
      form.set("client_secret", client.clientSecret);
    } else {
      headers.authorization = clientSecretBasic(client.clientId, client.clientSecret);
    }
    const started = clock();
    let status: number;
    let text: string;
    try {
      const response = await undiciRequest(client.tokenEndpoint, {
        ...(options.dispatcher ? { dispatcher: options.dispatcher } : {}),
        method: "POST",
        headers,
        body: form.toString(),
        headersTimeout: timeoutMs,
        bodyTimeout: timeoutMs,
      });
      status = response.statusCode;
      text = await response.body.text();
    } catch (error) {
      const code = (error as { code?: string }).code;
      return { ok: false, status: 503, retryAfter: 5, reason: `Cannot exchange the caller's token for server "${server}": ${who} is unreachable${code ? ` (${code})` : ""}` };
    }
    if (status >= 500) return { ok: false, status: 503, retryAfter: 5, reason: `Cannot exchange the caller's token for server "${server}": ${who} answered HTTP ${status}` };
    const body = parseJson(text);
    if (status >= 400) {
      const error = typeof body?.error === "string" ? body.error : `HTTP ${status}`;
      const description = typeof body?.error_description === "string" ? `: ${clean(body.error_description, request.token)}` : "";
      // invalid_client / unauthorized_client are the gateway's own configuration, not the caller's doing.
      if (error === "invalid_client" || error === "unauthorized_client") {
        return { ok: false, status: 503, reason: `Cannot exchange the caller's token for server "${server}": ${who} refused the gateway's client (${error}${description}); check the identity provider's clientId and clientSecret` };
      }
      return { ok: false, status: 403, reason: `The ${who} refused to exchange the caller's token for server "${server}" (${error}${description})` };
    }
    const token = body?.access_token;
    if (typeof token !== "string" || token === "" || (typeof body?.token_type === "string" && body.token_type.toLowerCase() !== "bearer" && body.token_type.toLowerCase() !== "n_a")) {
      return { ok: false, status: 502, reason: `Cannot exchange the caller's token for server "${server}": ${who} answered without a bearer access_token` };
    }
    const expiresAt = lifetimeEnd(body!, token, started);
    if (expiresAt !== undefined) {
      const until = Math.min(expiresAt - renewalMargin(expiresAt - started), request.tokenExpiresAt ?? Infinity);
      remember(key, { token, useUntil: until });
    }
    return { ok: true, token };
  }

  return {
    async exchange(request) {
      const key = cacheKey(request);
      const hit = cached(key);
      if (hit !== undefined) return { ok: true, token: hit };
      let flight = pending.get(key);
      if (!flight) {
        flight = ask(request, key).finally(() => pending.delete(key));
        pending.set(key, flight);
      }
      return flight;
    },
    size: () => cache.size,
  };
}

function cacheKey(r: ExchangeRequest): string {
  const { identityProvider, audience, resource, scope } = r.settings;
  const hash = createHash("sha256").update(r.token).digest("base64url");
  return JSON.stringify([r.server, identityProvider, audience, resource ?? null, scope ?? null, r.provider, r.subject, hash]);
}

/** When the exchanged token expires (epoch ms): `expires_in`, else a JWT's `exp`; undefined when unknown (then it is not reused). */
function lifetimeEnd(body: Record<string, unknown>, token: string, started: number): number | undefined {
  if (typeof body.expires_in === "number" && Number.isFinite(body.expires_in) && body.expires_in > 0) return started + body.expires_in * 1000;
  const parts = token.split(".");
  if (parts.length !== 3) return undefined;
  const exp = (parseJson(Buffer.from(parts[1]!, "base64url").toString("utf8")) as { exp?: unknown } | undefined)?.exp;
  return typeof exp === "number" && Number.isFinite(exp) ? exp * 1000 : undefined;
}

function parseJson(text: string): Record<string, unknown> | undefined {
  try {
    const v = JSON.parse(text) as unknown;
    return v !== null && typeof v === "object" && !Array.isArray(v) ? (v as Record<string, unknown>) : undefined;
  } catch {
    return undefined;
  }
}

/** An identity provider's error_description, bounded, printable, and never holding the caller's token. */
function clean(description: string, token: string): string {
  const printable = description.split(token).join("[token]").replace(/[^\x20-\x7e]/g, "?");
  return printable.length > 200 ? `${printable.slice(0, 200)}...` : printable;
}
