import * as pulumi from "@pulumi/pulumi";
import { serializedProvider } from "./shim.ts";
import { resourceName, ownerOf, declareName } from "./naming.ts";
import { byProviderName, type ApproversArgs, type IdentityProviderRef, type TokenExchangeArgs } from "./identity-provider.ts";

export type McpServerTransport =
  | {
      type: "streamable-http";
      /** The upstream MCP endpoint, e.g. `https://mcp.example.com/mcp`. */
      url: pulumi.Input<string>;
      /** Headers sent upstream (API keys, tenant IDs). Secret: encrypted in state and in the gateway. */
      headers?: pulumi.Input<Record<string, pulumi.Input<string>>>;
    }
  | {
      /** Legacy HTTP+SSE (MCP 2024-11-05), deprecated by the spec: for servers that do not speak Streamable HTTP yet. */
      type: "sse";
      /** The server's event stream, e.g. `https://mcp.example.com/sse`. */
      url: pulumi.Input<string>;
      /** Headers sent upstream (API keys, tenant IDs). Secret: encrypted in state and in the gateway. */
      headers?: pulumi.Input<Record<string, pulumi.Input<string>>>;
    }
  | {
      type: "stdio";
      /** The command the gateway runs, one child process per MCP session. */
      command: pulumi.Input<string>;
      args?: pulumi.Input<pulumi.Input<string>[]>;
      /** Arguments appended after `args` (keys, connection strings). Secret: encrypted in state and in the gateway. */
      secretArgs?: pulumi.Input<pulumi.Input<string>[]>;
      /** Environment of the child process. Secret: encrypted in state and in the gateway. */
      env?: pulumi.Input<Record<string, pulumi.Input<string>>>;
      cwd?: pulumi.Input<string>;
      /** Run the child as this user / group (name or numeric id); applies when the gateway runs as root. */
      user?: pulumi.Input<string | number>;
      group?: pulumi.Input<string | number>;
      /** The server keeps state between requests of one client, so each grant gets processes of its own (default false: shared by grants). */
      stateful?: pulumi.Input<boolean>;
    };

/** A root the gateway gives the server in answer to `roots/list`. */
export interface McpServerRoot {
  /** An absolute URI, e.g. `file:///srv/data`. */
  uri: pulumi.Input<string>;
  name?: pulumi.Input<string>;
}

/** Credentials as they are kept in state (secret) and sent to the gateway inside the transport. */
export interface McpServerCredentials {
  headers?: Record<string, string>;
  env?: Record<string, string>;
  secretArgs?: string[];
}

/** `Ref` is how an identity provider may be named (the native resources take its gateway name). */
export interface McpServerArgs<Ref = IdentityProviderRef> {
  /** The server's name in the gateway and in its URL (`/mcp/<name>`). Default: the resource's logical name. Changing it replaces the server. */
  name?: pulumi.Input<string>;
  /** How the gateway reaches the upstream MCP server; `headers`, `env` and `secretArgs` are secret. */
  transport: pulumi.Input<McpServerTransport>;
  /** Idle timeout in ms (default 30000): a call fails when the upstream sends nothing, not even progress, for this long. */
  timeoutMs?: pulumi.Input<number>;
  /** Bound on a whole call in ms (at least `timeoutMs`, at most one hour). Default: none. */
  totalTimeoutMs?: pulumi.Input<number>;
  /** Most calls in flight to this upstream at once, 1-1024 (default 256); beyond it calls fail at once as busy. */
  maxInFlight?: pulumi.Input<number>;
  /** Pinned roots (at most 100): the gateway answers the server's `roots/list` with these and ignores the agent's. */
  roots?: pulumi.Input<pulumi.Input<McpServerRoot>[]>;
  /**
   * Exchange each caller's access token at the identity provider (RFC 8693) for one meant for this upstream, sent
   * as `Authorization: Bearer` instead of any configured one; the caller's own token never goes upstream. Only
   * for callers with a grant by identity, and only for a `streamable-http` transport.
   */
  tokenExchange?: TokenExchangeArgs<Ref>;
  /** Who may decide this server's approvals: users signed in to /ui/ with the identity provider whose claims hold. */
  approvers?: ApproversArgs<Ref>;
  description?: pulumi.Input<string>;
  labels?: pulumi.Input<Record<string, pulumi.Input<string>>>;
  /** Take over a server of this name that exists in the gateway but is another stack's or resource's. */
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
  /** `headers`, `env` and `secretArgs`: secret. */
  declare readonly credentials: pulumi.Output<McpServerCredentials>;
  declare readonly timeoutMs: pulumi.Output<number>;
  declare readonly totalTimeoutMs: pulumi.Output<number | undefined>;
  declare readonly maxInFlight: pulumi.Output<number | undefined>;
  declare readonly roots: pulumi.Output<{ uri: string; name?: string }[] | undefined>;
  declare readonly tokenExchange: pulumi.Output<{ identityProvider: string; audience: string; resource?: string; scope?: string } | undefined>;
  declare readonly approvers: pulumi.Output<{ identityProvider: string; claims: { claim: string; equals?: string; contains?: string }[] } | undefined>;
  declare readonly description: pulumi.Output<string | undefined>;
  declare readonly labels: pulumi.Output<Record<string, string>>;
  /** The gateway's version of the object; changes on every update. */
  declare readonly version: pulumi.Output<number>;

  constructor(name: string, args: McpServerArgs, opts?: pulumi.CustomResourceOptions) {
    const { transport, credentials } = splitTransport(args.transport);
    super(
      serializedProvider("server"),
      name,
      {
        name: resourceName(name, args.name),
        owner: ownerOf(name, "McpServer", opts),
        transport,
        credentials: pulumi.secret(credentials),
        timeoutMs: args.timeoutMs,
        totalTimeoutMs: args.totalTimeoutMs,
        maxInFlight: args.maxInFlight,
        roots: args.roots,
        tokenExchange: byProviderName(args.tokenExchange),
        approvers: byProviderName(args.approvers),
        description: args.description,
        labels: args.labels,
        adopt: args.adopt,
        version: undefined,
      },
      { ...opts, additionalSecretOutputs: [...(opts?.additionalSecretOutputs ?? []), "credentials"] },
      "toolgate",
      "McpServer",
    );
    declareName("server", resourceName(name, args.name), this);
  }
}

type Transport = pulumi.Unwrap<McpServerTransport>;

/**
 * The transport without its credentials, and the credentials. A transport given as an object keeps each field's
 * own secrecy, so `url`, `command` and `args` stay readable in previews and refresh diffs while `headers`, `env`
 * and `secretArgs` are secret. A transport that is one output as a whole (`pulumi.all(...).apply(...)`) is
 * secret as a whole when any part of it is: which part was cannot be known.
 */
function splitTransport(t: pulumi.Input<McpServerTransport>): { transport: pulumi.Input<Record<string, unknown>>; credentials: pulumi.Input<McpServerCredentials> } {
  if (!isPlainObject(t)) {
    const whole = pulumi.output(t);
    return { transport: whole.apply(withoutCredentials), credentials: whole.apply(credentialsOf) };
  }
  if (t.type === "stdio") {
    const { env, secretArgs, ...rest } = t;
    return { transport: rest, credentials: { ...(env !== undefined ? { env } : {}), ...(secretArgs !== undefined ? { secretArgs } : {}) } as pulumi.Input<McpServerCredentials> };
  }
  const { headers, ...rest } = t;
  return { transport: rest, credentials: (headers !== undefined ? { headers } : {}) as pulumi.Input<McpServerCredentials> };
}

function isPlainObject(t: pulumi.Input<McpServerTransport>): t is McpServerTransport {
  return typeof t === "object" && t !== null && !pulumi.Output.isInstance(t) && !(t instanceof Promise);
}

function withoutCredentials(t: Transport): Record<string, unknown> {
  if (t.type === "stdio") {
    const { env: _env, secretArgs: _secretArgs, ...rest } = t;
    return rest;
  }
  const { headers: _headers, ...rest } = t;
  return rest;
}

function credentialsOf(t: Transport): McpServerCredentials {
  if (t.type === "stdio") return { ...(t.env ? { env: t.env } : {}), ...(t.secretArgs ? { secretArgs: t.secretArgs } : {}) };
  return t.headers ? { headers: t.headers } : {};
}
