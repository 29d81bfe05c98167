import * as pulumi from "@pulumi/pulumi";
import { unsetOutputs } from "./outputs.ts";
import type { IdentityProviderArgs } from "../../identity-provider.ts";

export type { IdentityProviderArgs };

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
