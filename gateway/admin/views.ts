import type { ApprovalObject, CatalogTool, WebhookObject, GrantObject, IdentityProviderObject, PolicyObject, ServerObject } from "../../sdk/index.ts";
import type { CatalogEntry } from "../catalog/catalog-store.ts";
import type { ApprovalRecord } from "../approvals/approval-store.ts";
import type { GrantRecord, IdentityProviderRecord, PolicyRecord, ServerRecord, WebhookRecord } from "../store/config-store.ts";

/** What the admin API shows of stored objects. Credentials become "[redacted]"; token hashes never leave. */
export function serverView(r: ServerRecord): ServerObject {
  const t = r.transport;
  const redact = (m: Record<string, string> | undefined) => (m ? Object.fromEntries(Object.keys(m).map((k) => [k, "[redacted]" as const])) : undefined);
  const transport =
    t.type === "streamable-http" || t.type === "sse"
      ? { type: t.type, url: t.url, ...(t.headers ? { headers: redact(t.headers) } : {}) }
      : {
          type: t.type,
          command: t.command,
          ...(t.args ? { args: t.args } : {}),
          // Secret arguments show only how many there are.
          ...(t.secretArgs ? { secretArgs: t.secretArgs.map(() => "[redacted]" as const) } : {}),
          ...(t.env ? { env: redact(t.env) } : {}),
          ...(t.cwd ? { cwd: t.cwd } : {}),
          ...(t.user !== undefined ? { user: t.user } : {}),
          ...(t.group !== undefined ? { group: t.group } : {}),
          ...(t.stateful !== undefined ? { stateful: t.stateful } : {}),
        };
  return {
    name: r.name,
    transport: transport as ServerObject["transport"],
    timeoutMs: r.timeoutMs,
    ...(r.totalTimeoutMs !== null ? { totalTimeoutMs: r.totalTimeoutMs } : {}),
    ...(r.maxInFlight !== null ? { maxInFlight: r.maxInFlight } : {}),
    ...(r.roots !== null ? { roots: r.roots } : {}),
    ...(r.tokenExchange ? { tokenExchange: r.tokenExchange } : {}),
    ...(r.approvers ? { approvers: r.approvers } : {}),
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
    ...(r.identity ? { identity: r.identity } : {}),
    description: r.description,
    owner: r.owner,
    url: `${proxyUrl}/mcp/${encodeURIComponent(r.server)}`,
    ...(token ? { token } : {}),
    version: r.version,
    createdAt: r.createdAt,
    updatedAt: r.updatedAt,
  };
}

export function catalogToolView(e: CatalogEntry): CatalogTool {
  const d = e.definition as CatalogEntry["definition"] & { title?: string };
  return {
    name: e.name,
    ...(d.title !== undefined ? { title: d.title } : {}),
    ...(d.description !== undefined ? { description: d.description } : {}),
    ...(d.inputSchema !== undefined ? { inputSchema: d.inputSchema } : {}),
    ...(d.annotations !== undefined ? { annotations: d.annotations as Record<string, unknown> } : {}),
    category: e.category,
    severity: e.severity,
    evidence: e.evidence,
    hash: e.hash,
    reviewedHash: e.reviewedHash,
    changed: e.hash !== e.reviewedHash,
    firstSeen: e.firstSeen,
    updatedAt: e.updatedAt,
    changedAt: e.changedAt,
  };
}

export function approvalView(a: ApprovalRecord): ApprovalObject {
  const { digest: _digest, ...shown } = a;
  return shown;
}

export function webhookView(r: WebhookRecord): WebhookObject {
  return { name: r.name, url: r.url, events: r.events, secretDigest: r.secretDigest, description: r.description, owner: r.owner, version: r.version, createdAt: r.createdAt, updatedAt: r.updatedAt };
}

/** The client secret never leaves: only its digest. */
export function identityProviderView(r: IdentityProviderRecord): IdentityProviderObject {
  const { clientSecret: _secret, ...shown } = r;
  return shown;
}
