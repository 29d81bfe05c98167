import * as pulumi from "@pulumi/pulumi";
import { unsetOutputs } from "./outputs.ts";
import { McpServer } from "./mcp-server.ts";
import { Policy } from "./policy.ts";

/** A grant by identity: callers of an identity provider (by gateway name) whose access token satisfies every condition. */
export interface GrantIdentity {
  identityProvider: pulumi.Input<string>;
  [condition: string]: unknown;
}

export interface GrantArgs {
  /** The grant's name in the gateway (appears in audit rows). Default: the logical name. Changing it replaces the grant. */
  name?: pulumi.Input<string>;
  /** The server this grant may use: its gateway name or the McpServer resource (then Pulumi creates it first). */
  server: pulumi.Input<string> | McpServer;
  /** The policy deciding this grant's calls: its name or the Policy resource. Without one every call is denied. */
  policy?: pulumi.Input<string> | Policy;
  /** When the grant stops working (ISO 8601 with a zone, e.g. `2027-01-31T00:00:00Z`). */
  expiresAt?: pulumi.Input<string>;
  description?: pulumi.Input<string>;
  /** Any string; changing it issues a new token and the old one stops working. */
  rotation?: pulumi.Input<string>;
  /** A grant by identity instead of a token (docs/identity.md). */
  identity?: pulumi.Input<GrantIdentity>;
  /** Take over a grant of this name that exists in the gateway but is not this resource's (its token stays; set `rotation` for one). */
  adopt?: pulumi.Input<boolean>;
}

/**
 * A bearer credential that lets one agent use one server under one policy (native resource `toolgate:index:Grant`).
 * `token` is a secret output, issued on create and kept across updates.
 *
 * @example
 * const agent = new Grant("support-agent", { server: stripe, policy: readOnly });
 * export const token = agent.token; // secret
 */
export class Grant extends pulumi.CustomResource {
  declare readonly name: pulumi.Output<string>;
  declare readonly server: pulumi.Output<string>;
  declare readonly policy: pulumi.Output<string | undefined>;
  declare readonly expiresAt: pulumi.Output<string | undefined>;
  /** The bearer token for `Authorization: Bearer <token>`. Secret. */
  declare readonly token: pulumi.Output<string | undefined>;
  /** The MCP URL agents connect to: `<gateway proxy>/mcp/<server>`. */
  declare readonly url: pulumi.Output<string>;
  /** Who manages the object in the gateway: this resource's URN, unless someone else took it over. */
  declare readonly owner: pulumi.Output<string>;
  declare readonly version: pulumi.Output<number>;

  constructor(name: string, args: GrantArgs, opts?: pulumi.CustomResourceOptions) {
    const server = args.server instanceof McpServer ? args.server.name : args.server;
    const policy = args.policy instanceof Policy ? args.policy.name : args.policy;
    super(
      "toolgate:index:Grant",
      name,
      { ...unsetOutputs("toolgate:index:Grant"), ...args, server, policy },
      { ...opts, additionalSecretOutputs: [...(opts?.additionalSecretOutputs ?? []), "token"] },
    );
  }
}
