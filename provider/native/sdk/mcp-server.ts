import * as pulumi from "@pulumi/pulumi";
import { unsetOutputs } from "./outputs.ts";
import type { McpServerArgs as SharedMcpServerArgs, McpServerCredentials, McpServerRoot, McpServerTransport } from "../../mcp-server.ts";
import type { ApproversArgs, TokenExchangeArgs } from "../../identity-provider.ts";

export type { McpServerCredentials, McpServerRoot, McpServerTransport };

/** Token exchange (RFC 8693) for this upstream at an identity provider, given by its gateway name (docs/identity.md). */
export type McpServerTokenExchange = TokenExchangeArgs<pulumi.Input<string>>;

/** Who may decide this server's approvals: users signed in with the identity provider (by gateway name) whose claims hold. */
export type McpServerApprovers = ApproversArgs<pulumi.Input<string>>;

/** The dynamic McpServer's arguments, with identity providers given by their gateway names. */
export type McpServerArgs = SharedMcpServerArgs<pulumi.Input<string>>;

/**
 * An upstream MCP server registered with the gateway (native resource `toolgate:index:McpServer`).
 *
 * @example
 * const stripe = new McpServer("stripe", {
 *   transport: { type: "streamable-http", url: "https://mcp.stripe.com", headers: { Authorization: pulumi.interpolate`Bearer ${key}` } },
 * });
 */
export class McpServer extends pulumi.CustomResource {
  declare readonly name: pulumi.Output<string>;
  /** The transport without credentials (those are in `credentials`, a secret). */
  declare readonly transport: pulumi.Output<Record<string, unknown>>;
  /** `headers`, `env` and `secretArgs`: secret. */
  declare readonly credentials: pulumi.Output<McpServerCredentials>;
  /** A revision per credential, which changes when its value does: shows a changed secret without its value. */
  declare readonly credentialRevisions: pulumi.Output<Record<string, number>>;
  declare readonly timeoutMs: pulumi.Output<number>;
  declare readonly totalTimeoutMs: pulumi.Output<number | undefined>;
  declare readonly maxInFlight: pulumi.Output<number | undefined>;
  declare readonly roots: pulumi.Output<{ uri: string; name?: string }[] | undefined>;
  declare readonly description: pulumi.Output<string | undefined>;
  declare readonly labels: pulumi.Output<Record<string, string>>;
  /** RFC 8693 token exchange for the upstream, when set. */
  declare readonly tokenExchange: pulumi.Output<pulumi.Unwrap<TokenExchangeArgs<string>> | undefined>;
  /** Who may decide this server's approvals, when set. */
  declare readonly approvers: pulumi.Output<pulumi.Unwrap<ApproversArgs<string>> | undefined>;
  /** Who manages the object in the gateway: this resource's URN, unless someone else took it over. */
  declare readonly owner: pulumi.Output<string>;
  /** The gateway's version of the object; changes on every update. */
  declare readonly version: pulumi.Output<number>;

  constructor(name: string, args: McpServerArgs, opts?: pulumi.CustomResourceOptions) {
    super(
      "toolgate:index:McpServer",
      name,
      { ...unsetOutputs("toolgate:index:McpServer"), ...args, transport: withSecretCredentials(args.transport) },
      { ...opts, additionalSecretOutputs: [...(opts?.additionalSecretOutputs ?? []), "credentials"] },
    );
  }
}

/**
 * The transport with its credentials marked secret, field by field, so `url`, `command` and `args` stay readable
 * in previews. A transport that is one output as a whole keeps the secrecy it has (the provider keeps its
 * credentials secret in the state either way).
 */
function withSecretCredentials(t: pulumi.Input<McpServerTransport>): pulumi.Input<McpServerTransport> {
  if (typeof t !== "object" || t === null || pulumi.Output.isInstance(t) || t instanceof Promise) return t;
  const secret = <T>(v: T | undefined) => (v === undefined ? undefined : pulumi.secret(v));
  if (t.type === "stdio") return { ...t, env: secret(t.env), secretArgs: secret(t.secretArgs) } as McpServerTransport;
  return { ...t, headers: secret(t.headers) } as McpServerTransport;
}
