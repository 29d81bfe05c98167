import { generateKeyPairSync, randomUUID } from "node:crypto";
import { createServer, type IncomingMessage, type Server, type ServerResponse } from "node:http";
import { createLocalJWKSet, jwtVerify, SignJWT, type JWK } from "jose";
import Provider, { errors, type ClientMetadata, type Configuration, type KoaContextWithOIDC } from "oidc-provider";

/**
 * A real OAuth 2.1 / OpenID Connect authorization server (`oidc-provider`) on 127.0.0.1 for the identity tests:
 * test users, a public PKCE client, the gateway's confidential client and a client-credentials workload, resource
 * indicators (RFC 8707: access tokens are JWTs for the requested resource), introspection (RFC 7662) and key
 * rotation. Sign-in uses oidc-provider's development interactions (a plain login form, then a consent form), which a
 * test drives with `signIn` (fetch) or with Chromium.
 */

export interface TestUser {
  /** The `sub`, also what is typed as login. */
  sub: string;
  /** What the development login form accepts (it does not check passwords; kept so tests read like a real sign-in). */
  password: string;
  /** Claims carried by this user's access tokens and ID tokens besides `sub` (email, groups, roles...). */
  claims: Record<string, unknown>;
}

export const TEST_USERS: TestUser[] = [
  { sub: "alice", password: "alice-pw", claims: { email: "alice@example.com", email_verified: true, name: "Alice", groups: ["payments", "payments-oncall"] } },
  { sub: "bob", password: "bob-pw", claims: { email: "bob@example.com", email_verified: true, name: "Bob", groups: ["payments"] } },
  { sub: "carol", password: "carol-pw", claims: { email: "carol@other.example", email_verified: false, name: "Carol", groups: ["support"] } },
];

/** The public client an MCP client (agent) signs users in with: authorization code + PKCE, no secret. */
export const AGENT_CLIENT = { clientId: "mcp-agent", redirectUris: ["http://127.0.0.1/callback", "http://localhost/callback"] };
/** The gateway's own confidential client: introspection, token exchange, approver sign-in to /ui/. */
export const GATEWAY_CLIENT = { clientId: "toolgate", clientSecret: "toolgate-client-secret-0123456789" };
/** RFC 8693 token exchange: the grant type and the one token type the test IdP takes and issues. */
export const TOKEN_EXCHANGE_GRANT = "urn:ietf:params:oauth:grant-type:token-exchange";
export const ACCESS_TOKEN_TYPE = "urn:ietf:params:oauth:token-type:access_token";
/** A workload that gets tokens with client credentials (its tokens' `sub` is its client_id). */
export const WORKLOAD_CLIENT = { clientId: "nightly-job", clientSecret: "nightly-job-secret-0123456789" };

/**
 * The gateway's IdentityProvider body for this IdP: its issuer, the gateway's own client (introspection and
 * token exchange), and no clock skew, so tests that mint short-lived tokens see them expire on time.
 */
export function gatewayIdentityProvider(idp: { issuer: string }): { issuer: string; clientId: string; clientSecret: string; clockSkewSeconds: number } {
  return { issuer: idp.issuer, clientId: GATEWAY_CLIENT.clientId, clientSecret: GATEWAY_CLIENT.clientSecret, clockSkewSeconds: 0 };
}

export interface IdpOptions {
  users?: TestUser[];
  /** Extra clients, e.g. the gateway client with the /ui/ callback O3 needs. */
  clients?: ClientMetadata[];
  /** Redirect URIs added to the gateway's client (approver sign-in to /ui/). */
  gatewayRedirectUris?: string[];
  /** Access token lifetime in seconds (default 300). */
  accessTokenTtlSeconds?: number;
  /** Resources (RFC 8707) whose access tokens are opaque (checked by introspection) instead of JWTs. */
  opaqueResources?: string[];
  /** Audiences the token exchange issues tokens for (others are `invalid_target`). Default: any. */
  exchangeAudiences?: string[];
  /** Lifetime of exchanged tokens in seconds (default: the access token lifetime). */
  exchangedTokenTtlSeconds?: number;
  /** Called on every Provider instance made (also after `rotateKeys`), e.g. to register a grant type. */
  setup?: (provider: Provider) => void;
}

export interface MintOptions {
  /** A test user's sub; omit for a client-credentials token of `clientId`. */
  user?: string;
  clientId?: string;
  /** The resource (RFC 8707) the token is for: its `aud`. */
  resource: string;
  scope?: string;
  format?: "jwt" | "opaque";
  ttlSeconds?: number;
}

export interface TestIdp {
  /** The issuer, `http://127.0.0.1:<port>` (no trailing slash): what an IdentityProvider's `issuer` is set to. */
  issuer: string;
  jwksUri: string;
  tokenEndpoint: string;
  introspectionEndpoint: string;
  authorizationEndpoint: string;
  users: TestUser[];
  /** The Provider currently answering (a new one after `rotateKeys`). */
  provider(): Provider;
  /** The kid tokens are signed with now. */
  currentKid(): string;
  /**
   * A real access token issued by the provider (as its token endpoint would), for the user (or the client, with
   * client credentials) and the resource: a JWT signed with the current key, or opaque.
   */
  mintAccessToken(options: MintOptions): Promise<string>;
  /** A JWT signed with the IdP's current private key with exactly this header and payload: for expired, wrong-audience... tokens. */
  signJwt(payload: Record<string, unknown>, header?: { alg?: string; kid?: string; typ?: string }): Promise<string>;
  /** The current signing key's public JWK (for tests that try to misuse it, e.g. as an HMAC secret). */
  publicJwk(): JWK;
  /**
   * A new signing key: tokens are signed with it from now on and the JWKS lists it first. `keepOld` (default true)
   * keeps the previous keys in the JWKS, so tokens signed before stay valid.
   */
  rotateKeys(options?: { keepOld?: boolean }): Promise<string>;
  /** Client credentials grant at the token endpoint (RFC 6749 4.4) with a resource indicator. */
  clientCredentials(options: { clientId: string; clientSecret: string; resource: string; scope?: string }): Promise<{ access_token: string; expires_in: number; token_type: string }>;
  /**
   * Drives an authorization request through the development login and consent forms with fetch and returns the
   * URL the browser would be sent back to (the redirect URI with `code` and `state`).
   */
  signIn(authorizationUrl: string, user: string, password?: string): Promise<URL>;
  /** Every token exchange (RFC 8693) answered so far, in order, successful or refused. */
  exchanges(): TokenExchangeRecord[];
  /** Stops answering and closes the port (idempotent). */
  stop(): Promise<void>;
}

export interface TokenExchangeRecord {
  /** The acting client (the gateway). */
  clientId: string;
  /** The subject token's `sub`, when it was valid. */
  subject?: string;
  audience?: string;
  resource?: string;
  scope?: string;
  /** The OAuth error when the exchange was refused. */
  error?: string;
}

interface SigningKey {
  kid: string;
  privateJwk: JWK;
  publicJwk: JWK;
}

function newSigningKey(): SigningKey {
  const kid = randomUUID();
  const { privateKey, publicKey } = generateKeyPairSync("rsa", { modulusLength: 2048 });
  return {
    kid,
    privateJwk: { ...privateKey.export({ format: "jwk" }), kid, alg: "RS256", use: "sig" } as JWK,
    publicJwk: { ...publicKey.export({ format: "jwk" }), kid, alg: "RS256", use: "sig" } as JWK,
  };
}

export async function startIdp(options: IdpOptions = {}): Promise<TestIdp> {
  const users = options.users ?? TEST_USERS;
  const ttl = options.accessTokenTtlSeconds ?? 300;
  const opaque = new Set(options.opaqueResources ?? []);
  let keys: SigningKey[] = [newSigningKey()];
  let current: Provider | undefined;
  let handler: ((req: IncomingMessage, res: ServerResponse) => void) | undefined;

  const server: Server = createServer((req, res) => {
    if (!handler) {
      res.writeHead(503).end();
      return;
    }
    handler(req, res);
  });
  await new Promise<void>((resolve, reject) => {
    server.once("error", reject);
    server.listen(0, "127.0.0.1", () => resolve());
  });
  const issuer = `http://127.0.0.1:${(server.address() as { port: number }).port}`;

  const claimsOf = (sub: string) => users.find((u) => u.sub === sub)?.claims;
  const resourceServerInfo = (resource: string, format?: "jwt" | "opaque") => ({
    scope: "openid profile email mcp tools:read tools:call",
    audience: resource,
    accessTokenTTL: ttl,
    accessTokenFormat: format ?? (opaque.has(resource) ? "opaque" : "jwt"),
    jwt: { sign: { alg: "RS256", kid: keys[0]!.kid } },
  });

  const makeProvider = (): Provider => {
    const configuration: Configuration = {
      clients: [
        { client_id: AGENT_CLIENT.clientId, token_endpoint_auth_method: "none", redirect_uris: AGENT_CLIENT.redirectUris, grant_types: ["authorization_code", "refresh_token"], response_types: ["code"] },
        {
          client_id: GATEWAY_CLIENT.clientId,
          client_secret: GATEWAY_CLIENT.clientSecret,
          token_endpoint_auth_method: "client_secret_basic",
          redirect_uris: options.gatewayRedirectUris?.length ? options.gatewayRedirectUris : ["http://127.0.0.1/ui/callback"],
          grant_types: ["authorization_code", "client_credentials", TOKEN_EXCHANGE_GRANT],
          response_types: ["code"],
        },
        { client_id: WORKLOAD_CLIENT.clientId, client_secret: WORKLOAD_CLIENT.clientSecret, token_endpoint_auth_method: "client_secret_basic", redirect_uris: [], grant_types: ["client_credentials"], response_types: [] },
        ...(options.clients ?? []),
      ],
      jwks: { keys: keys.map((k) => k.privateJwk) as never },
      async findAccount(_ctx, sub) {
        const claims = claimsOf(sub);
        return claims ? { accountId: sub, claims: async () => ({ sub, ...claims }) } : undefined;
      },
      claims: { openid: ["sub"], email: ["email", "email_verified"], profile: ["name", "groups"] },
      scopes: ["openid", "offline_access", "profile", "email", "mcp", "tools:read", "tools:call"],
      async extraTokenClaims(_ctx, token) {
        const accountId = (token as { accountId?: string }).accountId;
        return accountId ? claimsOf(accountId) : undefined;
      },
      features: {
        devInteractions: { enabled: true },
        // Only the gateway's client may introspect (as a real IdP would allow its resource server).
        introspection: { enabled: true, allowedPolicy: (_ctx, client) => client.clientId === GATEWAY_CLIENT.clientId },
        revocation: { enabled: true },
        clientCredentials: { enabled: true },
        resourceIndicators: {
          enabled: true,
          defaultResource: (_ctx, _client, oneOf) => (oneOf ? (Array.isArray(oneOf) ? oneOf[0]! : oneOf) : undefined) as string,
          useGrantedResource: () => true,
          getResourceServerInfo: (_ctx: KoaContextWithOIDC, resource: string) => resourceServerInfo(resource) as never,
        },
      },
      pkce: { required: () => true },
      ttl: { AccessToken: ttl, ClientCredentials: ttl, Grant: 3600, Interaction: 600, Session: 3600, IdToken: 3600, AuthorizationCode: 60, RefreshToken: 3600 },
      clientBasedCORS: () => true,
    };
    const provider = new Provider(issuer, configuration);
    provider.registerGrantType(TOKEN_EXCHANGE_GRANT, exchangeToken, ["subject_token", "subject_token_type", "audience", "resource", "scope", "requested_token_type", "actor_token", "actor_token_type"]);
    options.setup?.(provider);
    return provider;
  };

  const exchanged: TokenExchangeRecord[] = [];
  const exchangedTtl = options.exchangedTokenTtlSeconds ?? ttl;

  /**
   * RFC 8693 for access tokens this IdP issued (oidc-provider has no token exchange of its own): the client is
   * authenticated by oidc-provider's token endpoint; the subject token must be one of this issuer's valid access
   * tokens (a JWT under its keys, or an opaque token it holds); the answer is a JWT for `audience` whose `sub` and
   * claims are the subject's and whose `act` names the client (delegation, RFC 8693 section 4.1).
   */
  async function exchangeToken(ctx: KoaContextWithOIDC): Promise<void> {
    const params = ctx.oidc.params as Record<string, string | undefined>;
    const clientId = ctx.oidc.client!.clientId;
    const record: TokenExchangeRecord = { clientId, ...(params.audience ? { audience: params.audience } : {}), ...(params.resource ? { resource: params.resource } : {}), ...(params.scope ? { scope: params.scope } : {}) };
    exchanged.push(record);
    const refuse = (error: Error & { error?: string }) => {
      record.error = error.error ?? error.message;
      throw error;
    };
    if (!params.subject_token) refuse(new errors.InvalidRequest("subject_token is required"));
    if (params.subject_token_type !== ACCESS_TOKEN_TYPE) refuse(new errors.InvalidRequest(`subject_token_type must be ${ACCESS_TOKEN_TYPE}`));
    if (params.requested_token_type && params.requested_token_type !== ACCESS_TOKEN_TYPE) refuse(new errors.InvalidRequest(`requested_token_type must be ${ACCESS_TOKEN_TYPE}`));
    if (params.actor_token) refuse(new errors.InvalidRequest("actor_token is not supported"));
    const audience = params.audience ?? params.resource;
    if (!audience) refuse(new errors.InvalidTarget("audience or resource is required"));
    if (options.exchangeAudiences && !options.exchangeAudiences.includes(audience!)) refuse(new errors.InvalidTarget(`this IdP issues no tokens for audience ${audience}`));
    const subject = await subjectOf(params.subject_token!);
    if (!subject) return refuse(new errors.InvalidGrant("subject_token is not a valid access token of this issuer"));
    record.subject = subject.sub;
    const now = Math.floor(Date.now() / 1000);
    const { sub, claims } = subject;
    const token = await signJwt({
      ...claims,
      iss: issuer,
      sub,
      aud: audience,
      client_id: clientId,
      act: { sub: clientId },
      ...(params.scope ? { scope: params.scope } : {}),
      iat: now,
      exp: now + exchangedTtl,
      jti: randomUUID(),
    });
    ctx.body = { access_token: token, issued_token_type: ACCESS_TOKEN_TYPE, token_type: "Bearer", expires_in: exchangedTtl, ...(params.scope ? { scope: params.scope } : {}) };
  }

  /** The subject of one of this IdP's valid access tokens, with the claims to carry over; undefined for anything else. */
  async function subjectOf(token: string): Promise<{ sub: string; claims: Record<string, unknown> } | undefined> {
    if (token.split(".").length === 3) {
      try {
        const { payload } = await jwtVerify(token, createLocalJWKSet({ keys: keys.map((k) => k.publicJwk) }), { issuer, algorithms: ["RS256"] });
        const { iss: _iss, aud: _aud, exp: _exp, iat: _iat, nbf: _nbf, jti: _jti, client_id: _client, scope: _scope, act: _act, sub, ...claims } = payload;
        return typeof sub === "string" ? { sub, claims } : undefined;
      } catch {
        return undefined;
      }
    }
    const p = provider();
    const found = (await p.AccessToken.find(token)) ?? (await p.ClientCredentials.find(token));
    if (!found || found.isExpired) return undefined;
    const accountId = (found as { accountId?: string }).accountId;
    if (accountId) return { sub: accountId, claims: claimsOf(accountId) ?? {} };
    return { sub: found.clientId!, claims: {} };
  }

  const install = () => {
    current = makeProvider();
    handler = current.callback() as (req: IncomingMessage, res: ServerResponse) => void;
  };
  install();
  const provider = () => current!;

  const mintAccessToken = async (mint: MintOptions): Promise<string> => {
    const p = provider();
    const clientId = mint.clientId ?? (mint.user ? AGENT_CLIENT.clientId : WORKLOAD_CLIENT.clientId);
    const client = await p.Client.find(clientId);
    if (!client) throw new Error(`test IdP: no client ${clientId}`);
    const scope = mint.scope ?? "mcp";
    const resourceServer = new p.ResourceServer(mint.resource, resourceServerInfo(mint.resource, mint.format) as never);
    if (mint.user === undefined) {
      const token = new p.ClientCredentials({ client, scope, resourceServer, ...(mint.ttlSeconds ? { expiresIn: mint.ttlSeconds } : {}) } as never);
      return token.save();
    }
    if (!claimsOf(mint.user)) throw new Error(`test IdP: no user ${mint.user}`);
    const grant = new p.Grant({ accountId: mint.user, clientId });
    grant.addResourceScope(mint.resource, scope);
    const grantId = await grant.save();
    const token = new p.AccessToken({ accountId: mint.user, client, grantId, scope, resourceServer, gty: "authorization_code", ...(mint.ttlSeconds ? { expiresIn: mint.ttlSeconds } : {}) } as never);
    return token.save();
  };

  const signJwt = async (payload: Record<string, unknown>, header: { alg?: string; kid?: string; typ?: string } = {}) =>
    new SignJWT(payload).setProtectedHeader({ alg: header.alg ?? "RS256", kid: header.kid ?? keys[0]!.kid, typ: header.typ ?? "at+jwt" }).sign(keys[0]!.privateJwk as never);

  const form = async (url: string, body: Record<string, string>, basic?: { id: string; secret: string }) => {
    const headers: Record<string, string> = { "content-type": "application/x-www-form-urlencoded" };
    if (basic) headers.authorization = `Basic ${Buffer.from(`${encodeURIComponent(basic.id)}:${encodeURIComponent(basic.secret)}`).toString("base64")}`;
    return fetch(url, { method: "POST", headers, body: new URLSearchParams(body) });
  };

  const signIn = async (authorizationUrl: string, user: string, password = users.find((u) => u.sub === user)?.password ?? ""): Promise<URL> => {
    const cookies = new Map<string, string>();
    const send = async (url: string, init: RequestInit = {}) => {
      const res = await fetch(url, { ...init, redirect: "manual", headers: { ...(init.headers as Record<string, string>), cookie: [...cookies].map(([k, v]) => `${k}=${v}`).join("; ") } });
      for (const line of res.headers.getSetCookie()) {
        const [pair] = line.split(";");
        const eq = pair!.indexOf("=");
        cookies.set(pair!.slice(0, eq), pair!.slice(eq + 1));
      }
      return res;
    };
    let url = new URL(authorizationUrl);
    for (let step = 0; step < 12; step++) {
      if (url.origin !== issuer) return url;
      const res = await send(url.href);
      const location = res.headers.get("location");
      if (location) {
        url = new URL(location, url);
        continue;
      }
      const html = await res.text();
      if (res.status !== 200) throw new Error(`test IdP sign-in: ${res.status} at ${url.pathname}: ${html.slice(0, 300)}`);
      const action = /action="([^"]+)"/.exec(html)?.[1];
      const prompt = /name="prompt" value="([^"]+)"/.exec(html)?.[1];
      if (!action || !prompt) throw new Error(`test IdP sign-in: no form at ${url.pathname}`);
      const body: Record<string, string> = prompt === "login" ? { prompt, login: user, password } : { prompt };
      const posted = await send(new URL(action.replaceAll("&amp;", "&"), url).href, { method: "POST", headers: { "content-type": "application/x-www-form-urlencoded" }, body: new URLSearchParams(body).toString() });
      const next = posted.headers.get("location");
      if (!next) throw new Error(`test IdP sign-in: ${posted.status} after the ${prompt} form: ${(await posted.text()).slice(0, 300)}`);
      url = new URL(next, url);
    }
    throw new Error("test IdP sign-in: too many redirects");
  };

  let stopped = false;
  return {
    issuer,
    jwksUri: `${issuer}/jwks`,
    tokenEndpoint: `${issuer}/token`,
    introspectionEndpoint: `${issuer}/token/introspection`,
    authorizationEndpoint: `${issuer}/auth`,
    users,
    provider,
    currentKid: () => keys[0]!.kid,
    mintAccessToken,
    signJwt,
    publicJwk: () => keys[0]!.publicJwk,
    async rotateKeys({ keepOld = true } = {}) {
      const key = newSigningKey();
      keys = keepOld ? [key, ...keys] : [key];
      install();
      return key.kid;
    },
    async clientCredentials({ clientId, clientSecret, resource, scope }) {
      const res = await form(`${issuer}/token`, { grant_type: "client_credentials", resource, ...(scope ? { scope } : {}) }, { id: clientId, secret: clientSecret });
      const body = (await res.json()) as { access_token: string; expires_in: number; token_type: string; error?: string; error_description?: string };
      if (!res.ok) throw new Error(`test IdP client credentials: ${res.status} ${body.error}: ${body.error_description}`);
      return body;
    },
    signIn,
    exchanges: () => [...exchanged],
    async stop() {
      if (stopped) return;
      stopped = true;
      handler = undefined;
      server.closeAllConnections();
      await new Promise<void>((resolve) => server.close(() => resolve()));
    },
  };
}
