import * as pulumi from "@pulumi/pulumi";

export interface ProviderArgs {
  /** The gateway's admin API, e.g. `http://gateway.internal:8788`. Default: stack config `toolgate:endpoint`, then TOOLGATE_ENDPOINT. */
  endpoint?: pulumi.Input<string>;
  /** The admin token. Secret. Default: stack config `toolgate:token`, then TOOLGATE_TOKEN. */
  token?: pulumi.Input<string>;
  /** How long one admin API request waits for an answer, 100-600000 ms (default 30000). */
  timeoutMs?: pulumi.Input<number>;
}

/**
 * One gateway, for the native resources given it as `provider`: several gateways in one stack, each with its own
 * endpoint and token. Its own configuration wins over the TOOLGATE_* environment variables, which only fill in
 * what it leaves out.
 *
 * @example
 * const edge = new Provider("edge", { endpoint: "https://edge-admin.internal", token: config.requireSecret("edgeToken") });
 * new Policy("agent", { document }, { provider: edge });
 */
export class Provider extends pulumi.ProviderResource {
  constructor(name: string, args: ProviderArgs = {}, opts?: pulumi.ResourceOptions) {
    const token = args.token === undefined ? undefined : pulumi.secret(args.token);
    super("toolgate", name, { endpoint: args.endpoint, token, timeoutMs: args.timeoutMs }, opts);
  }
}
