import { request, type Dispatcher } from "undici";
import type { Caller, RuntimeView, ServerTarget } from "../contracts.ts";
import { createTokenExchanger, type ExchangeClient, type TokenExchanger } from "./token-exchange.ts";

/** What the upstream gets as `Authorization` for one call, or why the call cannot go there. */
export type UpstreamAuthorization =
  /** `authorization` replaces any configured Authorization header; undefined keeps the server's own headers. */
  | { ok: true; authorization?: string }
  | { ok: false; status: 403 | 502 | 503; message: string; headers: Record<string, string> };

export interface UpstreamAuthorizationOptions {
  view: Pick<RuntimeView, "identityProvider">;
  dispatcher?: Dispatcher;
  clock?: () => number;
  /** Most exchanged tokens kept (default 10000). */
  maxEntries?: number;
}

/** How long a token endpoint found by discovery is used before it is looked up again; a failed lookup is retried sooner. */
const DISCOVERY_TTL_MS = 3_600_000;
const DISCOVERY_RETRY_MS = 10_000;

/**
 * The upstream credential of a call (docs/identity.md): a server with `tokenExchange` gets a token the identity
 * provider exchanged for the caller (RFC 8693), never the caller's own token; a grant-token call to such a server
 * is refused, having no subject to exchange. Servers without `tokenExchange` keep their configured headers.
 *
 * @example
 * const upstreamAuthorization = createUpstreamAuthorization({ view });
 * const r = await upstreamAuthorization(target, caller);
 * if (!r.ok) reject(res, r.status, r.message, r.headers);
 */
export function createUpstreamAuthorization(options: UpstreamAuthorizationOptions): (target: ServerTarget, caller: Caller | undefined) => Promise<UpstreamAuthorization> {
  const clock = options.clock ?? Date.now;
  const endpoints = new Map<string, { until: number; endpoint: Promise<string | { error: string }> }>();

  /** The token endpoint of an issuer from its metadata (OpenID discovery, then RFC 8414), remembered for an hour. */
  function tokenEndpoint(issuer: string): Promise<string | { error: string }> {
    const known = endpoints.get(issuer);
    if (known && known.until > clock()) return known.endpoint;
    const endpoint = discoverTokenEndpoint(issuer, options.dispatcher);
    const entry = { until: clock() + DISCOVERY_TTL_MS, endpoint };
    endpoints.set(issuer, entry);
    void endpoint.then((e) => {
      if (typeof e !== "string") entry.until = clock() + DISCOVERY_RETRY_MS;
    });
    return endpoint;
  }

  async function client(name: string): Promise<ExchangeClient | { error: string }> {
    const provider = options.view.identityProvider(name);
    if (!provider) return { error: `identity provider "${name}" does not exist` };
    if (!provider.clientId || !provider.clientSecret) return { error: `identity provider "${name}" has no clientId and clientSecret for the gateway to exchange tokens with` };
    const endpoint = await tokenEndpoint(provider.issuer);
    if (typeof endpoint !== "string") return { error: `identity provider "${name}": ${endpoint.error}` };
    return { tokenEndpoint: endpoint, clientId: provider.clientId, clientSecret: provider.clientSecret };
  }

  const exchanger: TokenExchanger = createTokenExchanger({ client, clock, ...(options.dispatcher ? { dispatcher: options.dispatcher } : {}), ...(options.maxEntries ? { maxEntries: options.maxEntries } : {}) });

  return async function upstreamAuthorization(target, caller): Promise<UpstreamAuthorization> {
    const settings = target.tokenExchange;
    if (!settings) return { ok: true };
    if (!caller) {
      return {
        ok: false,
        status: 403,
        headers: {},
        message: `Server "${target.name}" is called on behalf of a signed-in user or workload: its upstream gets a token exchanged for the caller at identity provider "${settings.identityProvider}" (tokenExchange), and a grant token has no subject to exchange. Sign in with that identity provider instead.`,
      };
    }
    if (caller.provider !== settings.identityProvider) {
      return {
        ok: false,
        status: 403,
        headers: {},
        message: `Server "${target.name}" exchanges tokens of identity provider "${settings.identityProvider}"; this caller signed in with "${caller.provider}"`,
      };
    }
    const r = await exchanger.exchange({
      server: target.name,
      provider: caller.provider,
      subject: caller.subject,
      token: caller.token,
      ...(caller.expiresAt !== undefined ? { tokenExpiresAt: caller.expiresAt } : {}),
      settings,
    });
    if (r.ok) return { ok: true, authorization: `Bearer ${r.token}` };
    return { ok: false, status: r.status, message: r.reason, headers: r.retryAfter ? { "retry-after": String(r.retryAfter) } : {} };
  };
}

/** RFC 8414 section 3.1 and OpenID Connect Discovery: both well-known locations of an issuer's metadata, in order. */
function metadataUrls(issuer: string): string[] {
  const url = new URL(issuer);
  const path = url.pathname.replace(/\/$/, "");
  return [`${url.origin}${path}/.well-known/openid-configuration`, `${url.origin}/.well-known/oauth-authorization-server${path}`];
}

async function discoverTokenEndpoint(issuer: string, dispatcher: Dispatcher | undefined): Promise<string | { error: string }> {
  let why = "";
  for (const url of metadataUrls(issuer)) {
    try {
      const response = await request(url, { ...(dispatcher ? { dispatcher } : {}), headersTimeout: 10_000, bodyTimeout: 10_000, headers: { accept: "application/json" } });
      if (response.statusCode !== 200) {
        await response.body.dump();
        why = `its metadata at ${url} answered HTTP ${response.statusCode}`;
        continue;
      }
      const metadata = (await response.body.json()) as { issuer?: unknown; token_endpoint?: unknown };
      // RFC 8414 section 3.3: metadata naming another issuer is not this issuer's.
      if (metadata.issuer !== issuer) return { error: `its metadata at ${url} names issuer ${JSON.stringify(metadata.issuer)}, not ${JSON.stringify(issuer)}` };
      if (typeof metadata.token_endpoint !== "string" || !URL.canParse(metadata.token_endpoint)) return { error: `its metadata at ${url} has no token_endpoint` };
      return metadata.token_endpoint;
    } catch (error) {
      const code = (error as { code?: string }).code;
      why = `its metadata at ${url} could not be read${code ? ` (${code})` : ""}`;
    }
  }
  return { error: why };
}
