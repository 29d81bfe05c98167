import type { GrantObject, PolicyObject, ServerObject } from "../../sdk/index.ts";
import type { GrantRecord, PolicyRecord, ServerRecord } from "../store/config-store.ts";

/** What the admin API shows of stored objects. Credentials become "[redacted]"; token hashes never leave. */
export function serverView(r: ServerRecord): ServerObject {
  const t = r.transport;
  const redact = (m: Record<string, string> | undefined) => (m ? Object.fromEntries(Object.keys(m).map((k) => [k, "[redacted]" as const])) : undefined);
  const transport =
    t.type === "streamable-http"
      ? { type: t.type, url: t.url, ...(t.headers ? { headers: redact(t.headers) } : {}) }
      : { type: t.type, command: t.command, ...(t.args ? { args: t.args } : {}), ...(t.env ? { env: redact(t.env) } : {}), ...(t.cwd ? { cwd: t.cwd } : {}) };
  return {
    name: r.name,
    transport: transport as ServerObject["transport"],
    timeoutMs: r.timeoutMs,
    description: r.description,
    labels: r.labels,
    owner: r.owner,
    credentialsDigest: r.credentialsDigest,
    version: r.version,
    createdAt: r.createdAt,
    updatedAt: r.updatedAt,
  };
}

export function policyView(r: PolicyRecord): PolicyObject {
  return { name: r.name, document: r.document, owner: r.owner, version: r.version, createdAt: r.createdAt, updatedAt: r.updatedAt };
}

export function grantView(r: GrantRecord, proxyUrl: string, token?: string): GrantObject {
  return {
    name: r.name,
    server: r.server,
    policy: r.policy,
    expiresAt: r.expiresAt,
    description: r.description,
    owner: r.owner,
    url: `${proxyUrl}/mcp/${encodeURIComponent(r.server)}`,
    ...(token ? { token } : {}),
    version: r.version,
    createdAt: r.createdAt,
    updatedAt: r.updatedAt,
  };
}
