import * as pulumi from "@pulumi/pulumi";
import type { JWT_ALGORITHMS } from "../sdk/index.ts";
import { serializedProvider } from "./shim.ts";
import { resourceName, ownerOf } from "./naming.ts";

/** A JWS algorithm an access token may be signed with (never `none` or HMAC). */
export type JwtAlgorithm = (typeof JWT_ALGORITHMS)[number];

export interface IdentityProviderArgs {
  /** The identity provider's name in the gateway. Default: the logical name. Changing it replaces the object. */
  name?: pulumi.Input<string>;
  /** The issuer identifier (https, or http on localhost): every token must carry exactly this `iss`; discovery is read from it. */
  issuer: pulumi.Input<string>;
  /** Accepted `aud` values besides each server's own resource URL (`<public URL>/mcp/<server>`, RFC 8707). */
  audiences?: pulumi.Input<pulumi.Input<string>[]>;
  /** The JSON Web Key Set URL. Default: `jwks_uri` from the issuer's discovery metadata. */
  jwksUri?: pulumi.Input<string>;
  /** RFC 7662 introspection endpoint for opaque access tokens. Default: from discovery when `clientId` is set. */
  introspectionEndpoint?: pulumi.Input<string>;
  /** Signature algorithms accepted (pinned). Default: RS256, PS256, ES256, EdDSA. */
  algorithms?: pulumi.Input<pulumi.Input<JwtAlgorithm>[]>;
  /** Tolerance for `exp`/`nbf`/`iat`, 0-300 seconds. Default 30. */
  clockSkewSeconds?: pulumi.Input<number>;
  /** The gateway's own client at this IdP: introspection, token exchange, approver sign-in to /ui/. */
  clientId?: pulumi.Input<string>;
  /** The client's secret. Secret: encrypted in state and in the gateway, never returned by it. */
  clientSecret?: pulumi.Input<string>;
  description?: pulumi.Input<string>;
  /** Take over an identity provider of this name that exists in the gateway but is another stack's or resource's. */
  adopt?: pulumi.Input<boolean>;
}

/**
 * An OAuth 2.1 / OpenID Connect authorization server whose access tokens the gateway accepts. Grants with
 * `identity` match its tokens' claims; servers with `tokenExchange` get tokens exchanged at it; `approvers` sign in
 * to /ui/ with it (docs/identity.md).
 *
 * @example
 * const okta = new IdentityProvider("okta", {
 *   issuer: "https://example.okta.com/oauth2/default",
 *   clientId: "toolgate",
 *   clientSecret: config.requireSecret("oktaClientSecret"),
 * });
 */
export class IdentityProvider extends pulumi.dynamic.Resource {
  declare readonly name: pulumi.Output<string>;
  declare readonly issuer: pulumi.Output<string>;
  declare readonly audiences: pulumi.Output<string[] | undefined>;
  declare readonly jwksUri: pulumi.Output<string | undefined>;
  declare readonly introspectionEndpoint: pulumi.Output<string | undefined>;
  declare readonly algorithms: pulumi.Output<JwtAlgorithm[] | undefined>;
  declare readonly clockSkewSeconds: pulumi.Output<number | undefined>;
  declare readonly clientId: pulumi.Output<string | undefined>;
  /** Secret. */
  declare readonly clientSecret: pulumi.Output<string | undefined>;
  /** Changes when the client secret changes (a digest under a gateway-held key); reveals nothing. */
  declare readonly clientSecretDigest: pulumi.Output<string | undefined>;
  declare readonly version: pulumi.Output<number>;

  constructor(name: string, args: IdentityProviderArgs, opts?: pulumi.CustomResourceOptions) {
    super(
      serializedProvider("identityProvider"),
      name,
      {
        name: resourceName(name, args.name),
        owner: ownerOf(name, "IdentityProvider", opts),
        issuer: args.issuer,
        audiences: args.audiences,
        jwksUri: args.jwksUri,
        introspectionEndpoint: args.introspectionEndpoint,
        algorithms: args.algorithms,
        clockSkewSeconds: args.clockSkewSeconds,
        clientId: args.clientId,
        clientSecret: args.clientSecret === undefined ? undefined : pulumi.secret(args.clientSecret),
        description: args.description,
        adopt: args.adopt,
        clientSecretDigest: undefined,
        version: undefined,
      },
      { ...opts, additionalSecretOutputs: [...(opts?.additionalSecretOutputs ?? []), "clientSecret"] },
      "toolgate",
      "IdentityProvider",
    );
  }
}

/** An identity provider named by the IdentityProvider resource (Pulumi then creates it first) or by its name. */
export type IdentityProviderRef = pulumi.Input<string> | IdentityProvider;

/** The name an identity provider reference stands for. */
export function identityProviderName(ref: IdentityProviderRef): pulumi.Input<string> {
  return ref instanceof IdentityProvider ? ref.name : ref;
}

/** A claim condition: the claim (a name or a dotted path) equals a value, or is a list/space-separated string containing it. */
export interface ClaimConditionArgs {
  /** e.g. `groups`, `roles`, `realm_access.roles`. */
  claim: pulumi.Input<string>;
  /** Exactly one of `equals` and `contains`. */
  equals?: pulumi.Input<string>;
  contains?: pulumi.Input<string>;
}

/**
 * Who a grant by identity is for: callers whose access token from `identityProvider` satisfies every condition given.
 * `Ref` is how the identity provider may be named (the native resources take its gateway name).
 */
export interface GrantIdentityArgs<Ref = IdentityProviderRef> {
  identityProvider: Ref;
  /** The token's `sub` is exactly this (one person or workload; beats every other match). */
  subject?: pulumi.Input<string>;
  /** The token's `client_id` (or `azp`) is exactly this: a workload using the client credentials flow. */
  clientId?: pulumi.Input<string>;
  /** The token's `email` is at this domain and `email_verified` is true. */
  emailDomain?: pulumi.Input<string>;
  /** Further conditions, all of which must hold (at most 16). */
  claims?: pulumi.Input<pulumi.Input<ClaimConditionArgs>[]>;
}

/** RFC 8693: the gateway exchanges the caller's access token at the identity provider for one meant for the upstream. */
export interface TokenExchangeArgs<Ref = IdentityProviderRef> {
  identityProvider: Ref;
  /** The `audience` asked of the identity provider: the upstream's identifier. */
  audience: pulumi.Input<string>;
  /** The `resource` (RFC 8707) asked of the identity provider, when it wants one (https, or http on localhost). */
  resource?: pulumi.Input<string>;
  /** Space-separated scopes asked for the exchanged token. */
  scope?: pulumi.Input<string>;
}

/** Who may decide this server's approvals: users signed in to /ui/ with `identityProvider` whose token satisfies every condition. */
export interface ApproversArgs<Ref = IdentityProviderRef> {
  identityProvider: Ref;
  /** At least one condition, e.g. `[{ claim: "groups", contains: "payments-oncall" }]`. */
  claims: pulumi.Input<pulumi.Input<ClaimConditionArgs>[]>;
}

/** The object as the gateway takes it: the identity provider by name (an IdentityProvider resource also orders the creation). */
export function byProviderName<T extends { identityProvider: IdentityProviderRef }>(value: T | undefined): (Omit<T, "identityProvider"> & { identityProvider: pulumi.Input<string> }) | undefined {
  return value === undefined ? undefined : { ...value, identityProvider: identityProviderName(value.identityProvider) };
}
