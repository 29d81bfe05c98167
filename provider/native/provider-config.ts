import { jsonEqual } from "../../sdk/index.ts";
import { isUnknown, type CheckFailure } from "../impl/common.ts";
import { configureProvider } from "../impl/config.ts";
import { concealed, reveal, type Props } from "./secrets.ts";

/**
 * The provider's own configuration: `endpoint`, `token` (secret) and `timeoutMs`, from an explicit
 * `toolgate.Provider` or, for the default provider, stack config `toolgate:endpoint` / `toolgate:token` /
 * `toolgate:timeoutMs`. Nothing is required here: a value left out falls back to TOOLGATE_ENDPOINT /
 * TOOLGATE_TOKEN / TOOLGATE_TIMEOUT_MS, and a preview needs no gateway at all.
 */
const KEYS = ["endpoint", "token", "timeoutMs"] as const;

/** CheckConfig: values checked with messages naming the key; `token` always comes back secret. */
export function checkConfig(news: Props): { inputs: Props; failures: CheckFailure[] } {
  const plain = reveal(news);
  const failures: CheckFailure[] = [];
  const endpoint = plain.endpoint;
  if (endpoint !== undefined && !isUnknown(endpoint)) {
    if (typeof endpoint !== "string" || !URL.canParse(endpoint) || !["http:", "https:"].includes(new URL(endpoint).protocol)) {
      failures.push({ property: "endpoint", reason: `endpoint must be the gateway's admin API as an http(s) URL like http://127.0.0.1:8788, got ${describe(endpoint)}` });
    } else if (new URL(endpoint).username || new URL(endpoint).password) {
      failures.push({ property: "endpoint", reason: "endpoint must not contain credentials; set the admin token as `token`" });
    }
  }
  if (plain.token !== undefined && !isUnknown(plain.token) && typeof plain.token !== "string") {
    failures.push({ property: "token", reason: `token must be a string (the gateway's admin token), got ${plain.token === null ? "null" : typeof plain.token}` });
  }
  if (plain.timeoutMs !== undefined && !isUnknown(plain.timeoutMs) && timeoutOf(plain.timeoutMs) === undefined) {
    failures.push({ property: "timeoutMs", reason: `timeoutMs must be a whole number of milliseconds from 100 to 600000, got ${describe(plain.timeoutMs)}` });
  }
  return { inputs: concealed(news, ["token"]), failures };
}

/** DiffConfig: a new endpoint, token or timeout is an update of the provider, never a replacement of its resources. */
export function diffConfig(olds: Props, news: Props): { changes: boolean; changed: string[] } {
  const before = reveal(olds);
  const after = reveal(news);
  const changed = KEYS.filter((k) => !jsonEqual(normal(before[k]), normal(after[k])));
  return { changes: changed.length > 0, changed };
}

/**
 * Configure: from the args struct, or from the legacy `variables` (`toolgate:config:endpoint`), which older engines
 * send alone.
 */
export function configure(args: Props | undefined, variables: Map<string, string>): void {
  const from = (key: (typeof KEYS)[number]): string | undefined => {
    const value = args ? reveal(args[key]) : variables.get(`toolgate:config:${key}`);
    if (value === undefined || value === null || value === "") return undefined;
    return typeof value === "string" ? value : JSON.stringify(value);
  };
  configureProvider({ endpoint: from("endpoint"), token: from("token"), timeoutMs: from("timeoutMs") });
}

function timeoutOf(value: unknown): number | undefined {
  const n = typeof value === "number" ? value : typeof value === "string" && /^\d+$/.test(value) ? Number(value) : NaN;
  return Number.isInteger(n) && n >= 100 && n <= 600_000 ? n : undefined;
}

/** Config from stack config arrives as text, from a Provider resource as typed values: "5000" and 5000 are equal. */
function normal(value: unknown): unknown {
  return typeof value === "number" ? String(value) : (value ?? null);
}

/** A value for a message: an endpoint may carry credentials, so only its type or scheme is named. */
function describe(value: unknown): string {
  if (typeof value === "number") return String(value);
  if (typeof value !== "string") return value === null ? "null" : typeof value;
  return URL.canParse(value) ? `scheme ${JSON.stringify(new URL(value).protocol)}` : /^\d+$/.test(value) || value.length <= 20 ? JSON.stringify(value) : "text that is not a URL";
}
