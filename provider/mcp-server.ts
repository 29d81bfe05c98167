import * as pulumi from "@pulumi/pulumi";
import { serializedProvider } from "./shim.ts";
import { resourceName, ownerOf } from "./naming.ts";

export type McpServerTransport =
  | {
      type: "streamable-http";
      /** The upstream MCP endpoint, e.g. `https://mcp.example.com/mcp`. */
      url: string;
      /** Headers sent upstream (API keys, tenant IDs). Secret: encrypted in state and in the gateway. */
      headers?: Record<string, string>;
    }
  | {
      type: "stdio";
      /** The command the gateway runs, one child process per MCP session. */
      command: string;
      args?: string[];
      /** Environment of the child process. Secret: encrypted in state and in the gateway. */
      env?: Record<string, string>;
      cwd?: string;
    };

export interface McpServerArgs {
  /** The server's name in the gateway and in its URL (`/mcp/<name>`). Default: the resource's logical name. Changing it replaces the server. */
  name?: pulumi.Input<string>;
  /** How the gateway reaches the upstream MCP server. */
  transport: pulumi.Input<McpServerTransport>;
  /** Upstream request timeout in ms (default 30000). */
  timeoutMs?: pulumi.Input<number>;
  description?: pulumi.Input<string>;
  labels?: pulumi.Input<Record<string, pulumi.Input<string>>>;
  /** Take over a server of this name that exists in the gateway but was not created by this stack. */
  adopt?: pulumi.Input<boolean>;
}

/**
 * An upstream MCP server registered with the gateway.
 *
 * @example
 * const stripe = new McpServer("stripe", {
 *   transport: { type: "streamable-http", url: "https://mcp.stripe.com", headers: { Authorization: pulumi.interpolate`Bearer ${key}` } },
 * });
 */
export class McpServer extends pulumi.dynamic.Resource {
  declare readonly name: pulumi.Output<string>;
  /** The transport without credentials (those are in `credentials`, a secret). */
  declare readonly transport: pulumi.Output<Record<string, unknown>>;
  declare readonly credentials: pulumi.Output<{ headers?: Record<string, string>; env?: Record<string, string> }>;
  declare readonly timeoutMs: pulumi.Output<number>;
  declare readonly description: pulumi.Output<string | undefined>;
  declare readonly labels: pulumi.Output<Record<string, string>>;
  /** The gateway's version of the object; changes on every update. */
  declare readonly version: pulumi.Output<number>;

  constructor(name: string, args: McpServerArgs, opts?: pulumi.CustomResourceOptions) {
    const transport = pulumi.output(args.transport);
    super(
      serializedProvider("server"),
      name,
      {
        name: resourceName(name, args.name),
        owner: ownerOf(),
        transport: transport.apply(withoutCredentials),
        credentials: pulumi.secret(transport.apply(credentialsOf)),
        timeoutMs: args.timeoutMs,
        description: args.description,
        labels: args.labels,
        adopt: args.adopt,
        version: undefined,
      },
      { ...opts, additionalSecretOutputs: [...(opts?.additionalSecretOutputs ?? []), "credentials"] },
      "toolgate",
      "McpServer",
    );
  }
}

function withoutCredentials(t: McpServerTransport): Record<string, unknown> {
  if (t.type === "stdio") {
    const { env: _env, ...rest } = t;
    return rest;
  }
  const { headers: _headers, ...rest } = t as { headers?: unknown } & Record<string, unknown>;
  return rest;
}

function credentialsOf(t: McpServerTransport): { headers?: Record<string, string>; env?: Record<string, string> } {
  if (t.type === "stdio") return t.env ? { env: t.env } : {};
  return t.type === "streamable-http" && t.headers ? { headers: t.headers } : {};
}
