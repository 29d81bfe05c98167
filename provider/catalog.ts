import * as pulumi from "@pulumi/pulumi";
import { AdminApiError, AdminClient, ToolgateError, type CatalogTool, type CatalogToolList } from "../sdk/index.ts";

export interface GetServerToolsArgs {
  /** The server's name in the gateway (or the McpServer resource's `name` output). */
  server: pulumi.Input<string>;
  /** Re-read the tools from the upstream first (default false: the catalog as the gateway has it). */
  refresh?: boolean;
}

/**
 * The tools of a server from the gateway's catalog, with their risk category, severity and review state, for
 * programs that build policies from them. Reads the gateway at TOOLGATE_ENDPOINT/TOOLGATE_TOKEN, else stack config
 * `toolgate:endpoint`/`toolgate:token`, like the resources. Runs during preview too (it only reads); when the
 * preview cannot reach the gateway (no endpoint or token, a network error, a server the `up` has yet to create),
 * the tools are unknown in that preview, with a warning saying why, and `up` reads them for real.
 *
 * @example
 * const tools = getServerTools({ server: files.name });
 * export const destructive = tools.apply((ts) => ts.filter((t) => t.category === "destructive").map((t) => t.name));
 */
export function getServerTools(args: GetServerToolsArgs): pulumi.Output<CatalogTool[]> {
  const config = new pulumi.Config("toolgate");
  const endpoint = process.env.TOOLGATE_ENDPOINT || config.get("endpoint");
  const token = process.env.TOOLGATE_TOKEN ? pulumi.secret(process.env.TOOLGATE_TOKEN) : (config.getSecret("token") ?? "");
  const preview = pulumi.runtime.isDryRun();
  // The token is secret, which would make the result secret too; the catalog itself is not.
  return pulumi.unsecret(
    pulumi.all([args.server, token]).apply(async ([server, adminToken]): Promise<CatalogTool[]> => {
      try {
        if (!endpoint) throw new ToolgateError("config", "getServerTools: no gateway endpoint: set toolgate:endpoint or TOOLGATE_ENDPOINT");
        if (!adminToken) throw new ToolgateError("config", "getServerTools: no admin token: set toolgate:token (secret) or TOOLGATE_TOKEN");
        // A preview waits for one try, not for the retries an update makes.
        const client = new AdminClient({ endpoint, token: adminToken, ...(preview ? { attempts: 1, timeoutMs: 10_000 } : {}) });
        const path = `/v1/servers/${encodeURIComponent(server)}/tools`;
        const list = args.refresh ? await client.postJson<CatalogToolList>(`${path}/refresh`, {}) : await client.getJson<CatalogToolList>(path);
        return list.items;
      } catch (error) {
        const why = preview ? unavailableInPreview(error) : undefined;
        if (why === undefined) throw error;
        await pulumi.log.warn(`getServerTools: the tools of server "${server}" are unknown in this preview: ${why}. \`pulumi up\` reads them from the gateway.`);
        return pulumi.unknown as unknown as CatalogTool[];
      }
    }),
  );
}

/** Why a preview may go on without the catalog; undefined for errors that would fail `up` too (a wrong token, a bad request). */
function unavailableInPreview(error: unknown): string | undefined {
  if (!(error instanceof ToolgateError)) return undefined;
  if (error.code === "config") return error.message.replace(/^getServerTools: /, "");
  if (!(error instanceof AdminApiError)) return undefined;
  if (error.status === 0 || error.status >= 500) return error.message;
  if (error.status === 404) return "the gateway does not have this server yet (this update may create it)";
  return undefined;
}
