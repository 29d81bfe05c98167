import { AdminClient, ToolgateError } from "../../sdk/index.ts";

/**
 * The admin client for CLI commands that talk to a running gateway: `--endpoint`/`--token`, else
 * TOOLGATE_ENDPOINT/TOOLGATE_TOKEN (the names the Pulumi provider uses).
 */
export function adminConnection(flags: { endpoint?: string; token?: string }, env: NodeJS.ProcessEnv = process.env): AdminClient {
  const endpoint = flags.endpoint ?? env.TOOLGATE_ENDPOINT;
  const token = flags.token ?? env.TOOLGATE_TOKEN;
  if (!endpoint) throw new ToolgateError("config", "no gateway endpoint: pass --endpoint http://<admin host>:<port> or set TOOLGATE_ENDPOINT");
  if (!token) throw new ToolgateError("config", "no admin token: pass --token or set TOOLGATE_TOKEN");
  return new AdminClient({ endpoint, token, attempts: 2 });
}

export const CONNECTION_OPTIONS = { endpoint: { type: "string" }, token: { type: "string" } } as const;
