import * as pulumi from "@pulumi/pulumi";
import { serializedProvider } from "./shim.ts";
import { resourceName, ownerOf, referenceTo } from "./naming.ts";
import { McpServer } from "./mcp-server.ts";
import { Policy } from "./policy.ts";
import { byProviderName, type GrantIdentityArgs, type IdentityProviderRef } from "./identity-provider.ts";

/**
 * `Server`, `PolicyResource` and `Ref`: the resources that may stand for the server, the policy and the identity
 * provider besides their names (the native Grant takes native resources, and identity providers by name).
 */
export interface GrantArgs<Server = McpServer, PolicyResource = Policy, Ref = IdentityProviderRef> {
  /** The grant's name in the gateway (appears in audit rows). Default: the logical name. Changing it replaces the grant. */
  name?: pulumi.Input<string>;
  /** The server this grant may use: its gateway name or the McpServer resource (then Pulumi creates it first). */
  server: pulumi.Input<string> | Server;
  /** The policy deciding this grant's calls: its name or the Policy resource. Without one every call is denied. */
  policy?: pulumi.Input<string> | PolicyResource;
  /** When the grant stops working (ISO 8601 with a zone, e.g. `2027-01-31T00:00:00Z`). */
  expiresAt?: pulumi.Input<string>;
  description?: pulumi.Input<string>;
  /** Any string; changing it issues a new token and the old one stops working. Not for a grant with `identity`, which holds no token. */
  rotation?: pulumi.Input<string>;
  /**
   * A grant by identity: callers signed in with this identity provider whose access token satisfies every condition
   * use the server under `policy`; the grant holds no token. Among a server's grants that match, the most specific
   * wins (docs/identity.md).
   */
  identity?: GrantIdentityArgs<Ref>;
  /** Take over a grant of this name that exists in the gateway but is another stack's or resource's (its token stays; set `rotation` to issue one here). */
  adopt?: pulumi.Input<boolean>;
}

/**
 * A bearer credential that lets one agent use one server under one policy.
 * `token` is a secret output, issued on create and kept across updates. A grant with `identity` holds no token:
 * it matches the access tokens of an identity provider instead.
 *
 * @example
 * const agent = new Grant("support-agent", { server: stripe, policy: readOnly });
 * export const mcpUrl = agent.url;
 * export const token = agent.token; // secret
 */
export class Grant extends pulumi.dynamic.Resource {
  declare readonly name: pulumi.Output<string>;
  declare readonly server: pulumi.Output<string>;
  declare readonly policy: pulumi.Output<string | undefined>;
  declare readonly expiresAt: pulumi.Output<string | undefined>;
  /** Who the grant is for, when it is a grant by identity (the identity provider by name). */
  declare readonly identity: pulumi.Output<Record<string, unknown> | undefined>;
  /** The bearer token for `Authorization: Bearer <token>`, none for a grant by identity. Secret. */
  declare readonly token: pulumi.Output<string | undefined>;
  /** The MCP URL agents connect to: `<gateway proxy>/mcp/<server>`. */
  declare readonly url: pulumi.Output<string>;
  declare readonly version: pulumi.Output<number>;

  constructor(name: string, args: GrantArgs, opts?: pulumi.CustomResourceOptions) {
    const server = args.server instanceof McpServer ? args.server.name : referenceTo("server", args.server, name);
    const policy = args.policy instanceof Policy ? args.policy.name : referenceTo("policy", args.policy, name);
    super(
      serializedProvider("grant"),
      name,
      {
        name: resourceName(name, args.name),
        owner: ownerOf(name, "Grant", opts),
        server,
        policy,
        expiresAt: args.expiresAt,
        description: args.description,
        rotation: args.rotation,
        identity: byProviderName(args.identity),
        adopt: args.adopt,
        token: undefined,
        url: undefined,
        version: undefined,
      },
      { ...opts, additionalSecretOutputs: [...(opts?.additionalSecretOutputs ?? []), "token"] },
      "toolgate",
      "Grant",
    );
  }
}
