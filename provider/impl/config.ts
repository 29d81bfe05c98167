import { AdminClient, ToolgateError } from "../../sdk/index.ts";

/**
 * Where the gateway is: stack config `toolgate:endpoint` / `toolgate:token` (secret), else the environment
 * variables TOOLGATE_ENDPOINT / TOOLGATE_TOKEN. Resolved at run time in the provider process, never captured
 * into state. Missing values fail only operations that need the gateway, so `check`/`diff` (and so
 * `pulumi preview` without `--refresh`) work without credentials.
 */
interface ConfigSource {
  get(key: string): string | undefined;
}

let fromStack: { endpoint?: string; token?: string } = {};
let cached: { key: string; client: AdminClient } | undefined;

export function configure(config: ConfigSource): void {
  fromStack = { endpoint: config.get("toolgate:endpoint"), token: config.get("toolgate:token") };
}

export function adminClient(): AdminClient {
  const endpoint = fromStack.endpoint || process.env.TOOLGATE_ENDPOINT;
  const token = fromStack.token || process.env.TOOLGATE_TOKEN;
  if (!endpoint) {
    throw new ToolgateError("config", "no gateway endpoint: set `pulumi config set toolgate:endpoint http://<admin host>:<port>` or the TOOLGATE_ENDPOINT environment variable");
  }
  if (!token) {
    throw new ToolgateError("config", "no admin token: set `pulumi config set --secret toolgate:token <token>` or the TOOLGATE_TOKEN environment variable");
  }
  const key = `${endpoint}\u0000${token}`;
  if (cached?.key !== key) cached = { key, client: new AdminClient({ endpoint, token, userAgent: `toolgate-pulumi/${process.env.npm_package_version ?? "0"}` }) };
  return cached.client;
}
