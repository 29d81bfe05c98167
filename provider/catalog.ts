import * as pulumi from "@pulumi/pulumi";
import { AdminClient, ToolgateError, type CatalogTool, type CatalogToolList } from "../sdk/index.ts";

export interface GetServerToolsArgs {
  /** The server's name in the gateway (or the McpServer resource's `name` output). */
  server: pulumi.Input<string>;
  /** Re-read the tools from the upstream first (default false: the catalog as the gateway has it). */
  refresh?: boolean;
}

/**
 * The tools of a server from the gateway's catalog, with their risk category, severity and review state, for
 * programs that build policies from them. Reads the gateway at `toolgate:endpoint`/`toolgate:token` (stack config),
 * else TOOLGATE_ENDPOINT/TOOLGATE_TOKEN, like the resources. Runs during preview too (it only reads).
 *
 * @example
 * const tools = getServerTools({ server: files.name });
 * export const destructive = tools.apply((ts) => ts.filter((t) => t.category === "destructive").map((t) => t.name));
 */
export function getServerTools(args: GetServerToolsArgs): pulumi.Output<CatalogTool[]> {
  const config = new pulumi.Config("toolgate");
  const endpoint = config.get("endpoint") ?? process.env.TOOLGATE_ENDPOINT;
  const token = config.getSecret("token") ?? pulumi.secret(process.env.TOOLGATE_TOKEN ?? "");
  // The token is secret, which would make the result secret too; the catalog itself is not.
  return pulumi.unsecret(pulumi.all([args.server, token]).apply(async ([server, adminToken]) => {
    if (!endpoint) throw new ToolgateError("config", "getServerTools: no gateway endpoint: set toolgate:endpoint or TOOLGATE_ENDPOINT");
    if (!adminToken) throw new ToolgateError("config", "getServerTools: no admin token: set toolgate:token (secret) or TOOLGATE_TOKEN");
    const client = new AdminClient({ endpoint, token: adminToken });
    const path = `/v1/servers/${encodeURIComponent(server)}/tools`;
    const list = args.refresh ? await client.postJson<CatalogToolList>(`${path}/refresh`, {}) : await client.getJson<CatalogToolList>(path);
    return list.items;
  }));
}
