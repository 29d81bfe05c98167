import type { Dispatcher } from "undici";
import type { Caller, RuntimeView, ServerTarget } from "../contracts.ts";
import { createDiscovery, type Discovery } from "./discovery.ts";
import { createTokenExchanger, type ExchangeClient, type TokenExchanger } from "./token-exchange.ts";

/** What the upstream gets as `Authorization` for one call, or why the call cannot go there. */
export type UpstreamAuthorization =
  /** `authorization` replaces any configured Authorization header; undefined keeps the server's own headers. */
  | { ok: true; authorization?: string }
  | { ok: false; status: 403 | 502 | 503; message: string; headers: Record<string, string> };

export interface UpstreamAuthorizationOptions {
  view: Pick<RuntimeView, "identityProvider">;
  /** Issuers' metadata, shared with the rest of the gateway (default: a cache of its own). */
  discovery?: Discovery;
  dispatcher?: Dispatcher;
  clock?: () => number;
  /** Most exchanged tokens kept (default 10000). */
  maxEntries?: number;
}

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
  const discovery = options.discovery ?? createDiscovery({ clock, ...(options.dispatcher ? { dispatcher: options.dispatcher } : {}) });

  async function client(name: string): Promise<ExchangeClient | { error: string }> {
    const provider = options.view.identityProvider(name);
    if (!provider) return { error: `identity provider "${name}" does not exist` };
    if (!provider.clientId || !provider.clientSecret) return { error: `identity provider "${name}" has no clientId and clientSecret for the gateway to exchange tokens with` };
    try {
      const tokenEndpoint = await discovery.endpoint(provider, "token_endpoint");
      return { tokenEndpoint, clientId: provider.clientId, clientSecret: provider.clientSecret };
    } catch (error) {
      return { error: `identity provider "${name}": ${(error as Error).message}` };
    }
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
