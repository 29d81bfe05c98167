import * as pulumi from "@pulumi/pulumi";
import { unsetOutputs } from "./outputs.ts";
import type { JWT_ALGORITHMS } from "../../../sdk/index.ts";

export interface IdentityProviderArgs {
  /** The identity provider's name in the gateway. Default: the logical name. Changing it replaces the object. */
  name?: pulumi.Input<string>;
  /** The issuer identifier (https, or http on localhost): every token must carry exactly this `iss`. */
  issuer: pulumi.Input<string>;
  /** Accepted `aud` values besides each server's own resource URL (RFC 8707). */
  audiences?: pulumi.Input<pulumi.Input<string>[]>;
  /** Default: `jwks_uri` from the issuer's discovery metadata. */
  jwksUri?: pulumi.Input<string>;
  /** RFC 7662 endpoint for opaque access tokens. Default: from discovery when `clientId` is set. */
  introspectionEndpoint?: pulumi.Input<string>;
  /** Signature algorithms accepted (pinned). Default: RS256, PS256, ES256, EdDSA. */
  algorithms?: pulumi.Input<pulumi.Input<(typeof JWT_ALGORITHMS)[number]>[]>;
  /** Tolerance for `exp`/`nbf`/`iat`, 0-300 seconds. Default 30. */
  clockSkewSeconds?: pulumi.Input<number>;
  /** The gateway's own client at this IdP (introspection, token exchange, approver sign-in). */
  clientId?: pulumi.Input<string>;
  /** The client's secret. Secret. */
  clientSecret?: pulumi.Input<string>;
  description?: pulumi.Input<string>;
  /** Take over an identity provider of this name that exists in the gateway but is not this resource's. */
  adopt?: pulumi.Input<boolean>;
}

/**
 * An OAuth 2.1 / OpenID Connect authorization server whose access tokens the gateway accepts (native resource
 * `toolgate:index:IdentityProvider`); grants by identity, token exchange and approvers name it (docs/identity.md).
 *
 * @example
 * const corp = new IdentityProvider("corp", { issuer: "https://login.example.com", clientId: "toolgate", clientSecret: config.requireSecret("corpSecret") });
 */
export class IdentityProvider extends pulumi.CustomResource {
  declare readonly name: pulumi.Output<string>;
  declare readonly issuer: pulumi.Output<string>;
  declare readonly audiences: pulumi.Output<string[] | undefined>;
  declare readonly jwksUri: pulumi.Output<string | undefined>;
  declare readonly introspectionEndpoint: pulumi.Output<string | undefined>;
  declare readonly algorithms: pulumi.Output<string[] | undefined>;
  declare readonly clockSkewSeconds: pulumi.Output<number | undefined>;
  declare readonly clientId: pulumi.Output<string | undefined>;
  declare readonly clientSecret: pulumi.Output<string | undefined>;
  /** Changes when the client secret changes; reveals nothing. */
  declare readonly clientSecretDigest: pulumi.Output<string | undefined>;
  /** A revision that changes with the client secret: shows it changed without its value. */
  declare readonly clientSecretRevision: pulumi.Output<number | undefined>;
  /** Who manages the object in the gateway: this resource's URN, unless someone else took it over. */
  declare readonly owner: pulumi.Output<string>;
  declare readonly version: pulumi.Output<number>;

  constructor(name: string, args: IdentityProviderArgs, opts?: pulumi.CustomResourceOptions) {
    super(
      "toolgate:index:IdentityProvider",
      name,
      { ...unsetOutputs("toolgate:index:IdentityProvider"), ...args, clientSecret: args.clientSecret === undefined ? undefined : pulumi.secret(args.clientSecret) },
      { ...opts, additionalSecretOutputs: [...(opts?.additionalSecretOutputs ?? []), "clientSecret"] },
    );
  }
}
