import * as oidc from "openid-client";
import { ToolgateError } from "../../../sdk/index.ts";
import { createDiscovery, type Discovery, type IssuerMetadata } from "../../identity/discovery.ts";

/** What sign-in needs of an IdentityProvider object (the client secret decrypted). */
export interface SignInProvider {
  name: string;
  issuer: string;
  clientId: string;
  clientSecret?: string;
  clockSkewSeconds?: number;
  /** Changes whenever the object does: its metadata is fetched again. */
  version: number;
}

/** A sign-in between the redirect to the IdP and its callback: kept in a sealed cookie, checked at the callback. */
export interface PendingSignIn {
  provider: string;
  state: string;
  nonce: string;
  codeVerifier: string;
  /** Where /ui/ goes after signing in (a fragment such as `#apr_…`, never another site). */
  returnTo: string;
}

export interface SignedIn {
  subject: string;
  /** The ID token's claims, with the userinfo endpoint's (when the IdP has one) for those the ID token lacks. */
  claims: Record<string, unknown>;
}

export interface OidcSignIn {
  start(provider: SignInProvider, redirectUri: string, returnTo: string): Promise<{ url: URL; pending: PendingSignIn }>;
  /** Verifies the callback (`iss`, state, PKCE, nonce, ID token signature and claims) and returns who signed in. */
  finish(provider: SignInProvider, pending: PendingSignIn, callbackUrl: URL): Promise<SignedIn>;
}

const TIMEOUT_SECONDS = 10;
/** Claims that say how the token was made, not who the person is. */
const TOKEN_MECHANICS = ["aud", "exp", "iat", "nbf", "nonce", "at_hash", "c_hash", "s_hash", "auth_time", "jti", "sid", "iss", "azp", "acr", "amr"];

/**
 * OIDC sign-in of approvers (authorization code + PKCE, openid-client): the IdP's metadata comes from the gateway's
 * discovery (gateway/identity/discovery.ts, shared with token checks and token exchange); a loopback `http` issuer
 * (a development IdP, which the schema allows only on localhost) is accepted, nothing else without TLS.
 */
export function createOidcSignIn(discovery: Discovery = createDiscovery()): OidcSignIn {
  /** Per provider, while its metadata document and version stay the same (the configuration caches the IdP's keys). */
  const configs = new Map<string, { metadata: IssuerMetadata; version: number; config: oidc.Configuration }>();

  async function configuration(p: SignInProvider): Promise<oidc.Configuration> {
    let metadata: IssuerMetadata;
    try {
      metadata = await discovery.metadata(p);
    } catch (error) {
      throw new ToolgateError("unavailable", `Could not read the metadata of identity provider "${p.name}" (${p.issuer}): ${reasonOf(error)}`);
    }
    const cached = configs.get(p.name);
    if (cached && cached.metadata === metadata && cached.version === p.version) return cached.config;
    const auth = p.clientSecret ? oidc.ClientSecretBasic(p.clientSecret) : oidc.None();
    const config = new oidc.Configuration(metadata as oidc.ServerMetadata, p.clientId, { [oidc.clockTolerance]: p.clockSkewSeconds ?? 30 }, auth);
    if (new URL(p.issuer).protocol === "http:") oidc.allowInsecureRequests(config);
    config.timeout = TIMEOUT_SECONDS;
    configs.set(p.name, { metadata, version: p.version, config });
    return config;
  }

  return {
    async start(p, redirectUri, returnTo) {
      const config = await configuration(p);
      const pending: PendingSignIn = { provider: p.name, state: oidc.randomState(), nonce: oidc.randomNonce(), codeVerifier: oidc.randomPKCECodeVerifier(), returnTo };
      const url = oidc.buildAuthorizationUrl(config, {
        redirect_uri: redirectUri,
        response_type: "code",
        scope: "openid profile email",
        state: pending.state,
        nonce: pending.nonce,
        code_challenge: await oidc.calculatePKCECodeChallenge(pending.codeVerifier),
        code_challenge_method: "S256",
      });
      return { url, pending };
    },

    async finish(p, pending, callbackUrl) {
      const config = await configuration(p);
      let tokens: Awaited<ReturnType<typeof oidc.authorizationCodeGrant>>;
      try {
        tokens = await oidc.authorizationCodeGrant(config, callbackUrl, { pkceCodeVerifier: pending.codeVerifier, expectedState: pending.state, expectedNonce: pending.nonce, idTokenExpected: true });
      } catch (error) {
        throw new ToolgateError("unauthorized", `Sign-in with identity provider "${p.name}" failed: ${reasonOf(error)}`);
      }
      const idClaims = tokens.claims()!;
      let userinfo: Record<string, unknown> = {};
      if (config.serverMetadata().userinfo_endpoint && tokens.access_token) {
        try {
          userinfo = { ...(await oidc.fetchUserInfo(config, tokens.access_token, idClaims.sub)) };
        } catch (error) {
          // Groups and roles often come only from userinfo: without them the person would be refused for no clear reason.
          throw new ToolgateError("unavailable", `Identity provider "${p.name}" did not answer the userinfo request: ${reasonOf(error)}`);
        }
      }
      const claims: Record<string, unknown> = { ...userinfo, ...idClaims };
      for (const name of TOKEN_MECHANICS) delete claims[name];
      return { subject: idClaims.sub, claims };
    },
  };
}

/** The library's own message (it names the check that failed: state, nonce, iss, PKCE...); an IdP error carries its code and description. */
function reasonOf(error: unknown): string {
  if (error instanceof oidc.AuthorizationResponseError || error instanceof oidc.ResponseBodyError) {
    return `${error.error}${error.error_description ? `: ${error.error_description}` : ""}`;
  }
  const cause = (error as { cause?: unknown })?.cause;
  const message = error instanceof Error ? error.message : String(error);
  return cause instanceof Error && cause.message && !message.includes(cause.message) ? `${message} (${cause.message})` : message;
}
