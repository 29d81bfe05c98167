import { createHmac } from "node:crypto";
import { AdminClient, ToolgateError } from "../../sdk/index.ts";

/**
 * Where the gateway is: the environment variables TOOLGATE_ENDPOINT / TOOLGATE_TOKEN / TOOLGATE_TIMEOUT_MS first,
 * then stack config `toolgate:endpoint` / `toolgate:token` (secret) / `toolgate:timeoutMs` as Pulumi passes it to
 * `configure`. The environment comes first because Pulumi passes the current stack config only to `up` and
 * `preview`: `refresh`, `destroy` and the refresh step of `--refresh` get the copy saved in the state by the last
 * `up` (unless run with `--run-program`), so after a token rotation the environment is what reaches them.
 * Missing values fail only operations that need the gateway, so `check`/`diff` (and so `pulumi preview` without
 * `--refresh`) work without credentials.
 */
interface ConfigSource {
  get(key: string): string | undefined;
}

interface Setting {
  value: string;
  /** Said in errors: which variable or config key the value came from. */
  source: string;
  /** True when it came from stack config, which may be the copy saved in the state (see above). */
  fromStack: boolean;
}

let fromStack: Record<string, string | undefined> = {};
let cached: { key: string; client: AdminClient } | undefined;
/** Set by the native provider (`configureProvider`): its own config wins over the environment. */
let providerConfigWins = false;

export function configure(config: ConfigSource): void {
  fromStack = Object.fromEntries(["toolgate:endpoint", "toolgate:token", "toolgate:timeoutMs"].map((k) => [k, config.get(k)]));
}

/**
 * The native provider's configuration (an explicit `toolgate.Provider`'s, or stack config `toolgate:*` for the
 * default provider). It wins over TOOLGATE_ENDPOINT / TOOLGATE_TOKEN / TOOLGATE_TIMEOUT_MS, which only fill in what
 * it leaves out: two providers of one stack must never be sent to one gateway by an environment variable. Each
 * provider instance is a process of its own, so this module-level state is per provider.
 */
export function configureProvider(config: { endpoint?: string; token?: string; timeoutMs?: string }): void {
  fromStack = { "toolgate:endpoint": config.endpoint, "toolgate:token": config.token, "toolgate:timeoutMs": config.timeoutMs };
  providerConfigWins = true;
}

function setting(variable: string, key: string): Setting | undefined {
  const env = process.env[variable];
  const fromEnv = env ? { value: env, source: `the ${variable} environment variable`, fromStack: false } : undefined;
  const stack = fromStack[key];
  const configured = stack ? { value: stack, source: providerConfigWins ? `the provider's ${key.slice("toolgate:".length)} (${key} or the Provider resource's argument)` : `stack config ${key}`, fromStack: true } : undefined;
  return providerConfigWins ? (configured ?? fromEnv) : (fromEnv ?? configured);
}

/** Where a setting came from, for an error about its value; for stack config, why it may be an old value. */
function explained(s: Setting, variable: string, change: string): string {
  if (!s.fromStack) return s.source;
  if (providerConfigWins) {
    return `${s.source}; refresh and destroy get the provider's configuration saved in the state by the last \`pulumi up\`, not the current one: after ${change}, run them with --run-program`;
  }
  return `${s.source} as Pulumi passed it to the provider; refresh, destroy and the refresh of --refresh get the value saved in the state by the last \`pulumi up\`, not the current config: after ${change}, set ${variable} (it takes precedence) or run with --run-program`;
}

function resolve(): { endpoint: Setting; token: Setting; timeoutMs: number | undefined } {
  const endpoint = setting("TOOLGATE_ENDPOINT", "toolgate:endpoint");
  const token = setting("TOOLGATE_TOKEN", "toolgate:token");
  if (!endpoint) {
    throw new ToolgateError("config", "no gateway endpoint: set `pulumi config set toolgate:endpoint http://<admin host>:<port>` or the TOOLGATE_ENDPOINT environment variable");
  }
  if (!token) {
    throw new ToolgateError("config", "no admin token: set `pulumi config set --secret toolgate:token <token>` or the TOOLGATE_TOKEN environment variable");
  }
  const timeout = setting("TOOLGATE_TIMEOUT_MS", "toolgate:timeoutMs");
  if (timeout && !(/^\d+$/.test(timeout.value) && Number(timeout.value) >= 100 && Number(timeout.value) <= 600_000)) {
    throw new ToolgateError("config", `the request timeout from ${timeout.source} must be a whole number of milliseconds from 100 to 600000, got ${JSON.stringify(timeout.value)}`);
  }
  return { endpoint, token, timeoutMs: timeout ? Number(timeout.value) : undefined };
}

export function adminClient(): AdminClient {
  const { endpoint, token, timeoutMs } = resolve();
  const key = `${endpoint.value}\u0000${token.value}\u0000${token.source}\u0000${endpoint.source}\u0000${timeoutMs}`;
  if (cached?.key !== key) {
    cached = {
      key,
      client: new AdminClient({
        endpoint: endpoint.value,
        token: token.value,
        timeoutMs,
        tokenSource: explained(token, "TOOLGATE_TOKEN", "rotating the token"),
        endpointSource: explained(endpoint, "TOOLGATE_ENDPOINT", "moving the gateway"),
        userAgent: `toolgate-pulumi/${process.env.npm_package_version ?? "0"}`,
      }),
    };
  }
  return cached.client;
}

/**
 * The Idempotency-Key of one write: the same resource, operation and body always give the same key, so a retry
 * (by the client, or by the next `pulumi up` after a lost answer) is recognized by the gateway. Keyed with the
 * admin token, so the key stored in the gateway reveals nothing of the credentials in the body.
 */
export function idempotencyKey(owner: string, operation: string, body: unknown): string {
  const { token } = resolve();
  return "tg1-" + createHmac("sha256", token.value).update(`${owner}\u0000${operation}\u0000${canonicalJson(body)}`).digest("base64url");
}

function canonicalJson(value: unknown): string {
  return JSON.stringify(value, (_key, v: unknown) =>
    v !== null && typeof v === "object" && !Array.isArray(v) ? Object.fromEntries(Object.entries(v).sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0))) : v,
  );
}
