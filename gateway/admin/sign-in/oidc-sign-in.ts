import * as oidc from "openid-client";
import { ToolgateError } from "../../../sdk/index.ts";

/** What sign-in needs of an IdentityProvider object (the client secret decrypted). */
export interface SignInProvider {
  name: string;
  issuer: string;
  clientId: string;
  clientSecret?: string;
  clockSkewSeconds?: number;
  /** Changes whenever the object does: cached discovery is dropped. */
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

const DISCOVERY_TTL_MS = 10 * 60_000;
const TIMEOUT_SECONDS = 10;
/** Claims that say how the token was made, not who the person is. */
const TOKEN_MECHANICS = ["aud", "exp", "iat", "nbf", "nonce", "at_hash", "c_hash", "s_hash", "auth_time", "jti", "sid", "iss", "azp", "acr", "amr"];

/**
 * OIDC sign-in of approvers (authorization code + PKCE, openid-client): the IdP's metadata is discovered from its
 * issuer and cached per object version; a loopback `http` issuer (a development IdP, which the schema allows only on
 * localhost) is accepted, nothing else without TLS.
 */
export function createOidcSignIn(): OidcSignIn {
  const configs = new Map<string, { version: number; at: number; config: Promise<oidc.Configuration> }>();

  function configuration(p: SignInProvider): Promise<oidc.Configuration> {
    const cached = configs.get(p.name);
    if (cached && cached.version === p.version && Date.now() - cached.at < DISCOVERY_TTL_MS) return cached.config;
    const auth = p.clientSecret ? oidc.ClientSecretBasic(p.clientSecret) : oidc.None();
    const metadata = { [oidc.clockTolerance]: p.clockSkewSeconds ?? 30 };
    const config = oidc
      .discovery(new URL(p.issuer), p.clientId, metadata, auth, { timeout: TIMEOUT_SECONDS, ...(new URL(p.issuer).protocol === "http:" ? { execute: [oidc.allowInsecureRequests] } : {}) })
      .then((c) => {
        c.timeout = TIMEOUT_SECONDS;
        return c;
      });
    configs.set(p.name, { version: p.version, at: Date.now(), config });
    // A failed discovery is not remembered: the next sign-in tries again.
    config.catch(() => configs.get(p.name)?.config === config && configs.delete(p.name));
    return config.catch((error: unknown) => {
      throw new ToolgateError("unavailable", `Could not read the metadata of identity provider "${p.name}" (${p.issuer}): ${reasonOf(error)}`);
    });
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
