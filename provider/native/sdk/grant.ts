import * as pulumi from "@pulumi/pulumi";
import { unsetOutputs } from "./outputs.ts";
import { McpServer } from "./mcp-server.ts";
import { Policy } from "./policy.ts";
import type { GrantArgs as SharedGrantArgs } from "../../grant.ts";
import type { GrantIdentityArgs } from "../../identity-provider.ts";

/** A grant by identity: callers of an identity provider (by gateway name) whose access token satisfies every condition. */
export type GrantIdentity = GrantIdentityArgs<pulumi.Input<string>>;

/** The server and policy as names or native resources; the identity provider by its gateway name. */
export type GrantArgs = SharedGrantArgs<McpServer, Policy, pulumi.Input<string>>;

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
  declare readonly description: pulumi.Output<string | undefined>;
  /** The claims this grant matches instead of holding a token, when set. */
  declare readonly identity: pulumi.Output<pulumi.Unwrap<GrantIdentityArgs<string>> | undefined>;
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
