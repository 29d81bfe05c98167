import { jsonEqual, ToolgateError, type GrantSpec, type ServerSpec, type Transport, type WebhookEvent, type WebhookSpec } from "../../sdk/index.ts";
import type { Approvers, GrantIdentityMatch, IdentityProviderSpec, TokenExchange } from "../../sdk/identity.ts";
import type { GrantRecord, IdentityProviderRecord, PolicyRecord, Preconditions, ServerRecord, WebhookRecord } from "./config-store.ts";
import { canonicalJson } from "./canonical-json.ts";
import type { Sealer } from "./seal.ts";

/**
 * Row ⇄ record mapping shared by the SQLite and PostgreSQL config stores: both keep the same columns
 * (JSON as text, times as ISO-8601 text), so a record reads the same from either.
 */
export type Row = Record<string, string | number | null>;

export function checkPreconditions(kind: string, name: string, existing: { version: number } | undefined, pre: Preconditions = {}): void {
  if (pre.ifNoneMatch && existing) throw new ToolgateError("precondition_failed", `${kind} "${name}" already exists (If-None-Match: *)`);
  if (pre.ifMatch !== undefined && existing?.version !== pre.ifMatch) {
    throw new ToolgateError("precondition_failed", existing ? `${kind} "${name}" is at version ${existing.version}, not ${pre.ifMatch}: it changed since you read it` : `${kind} "${name}" does not exist (If-Match: ${pre.ifMatch})`);
  }
}

/**
 * The answer to a write that repeats the object's last write (its Idempotency-Key is the one stored with the
 * object, `write_key`): that write was applied already, so the object is returned as it is, never written twice.
 * Not `created`, even when the repeated write created it: a grant's token is shown only in the first answer.
 */
export function replayOf<T>(existing: T | undefined, lastWriteKey: unknown, pre: Preconditions = {}): { record: T; created: false; changed: false; replayed: true } | undefined {
  if (existing === undefined || pre.idempotencyKey === undefined || lastWriteKey !== pre.idempotencyKey) return undefined;
  return { record: existing, created: false, changed: false, replayed: true };
}

/** What is sealed of a server: upstream credentials. */
interface ServerCredentials {
  headers?: Record<string, string>;
  env?: Record<string, string>;
  secretArgs?: string[];
}

/** What is stored in clear of a server (the `spec` column); rows written before a field existed lack it. */
interface StoredServerSpec {
  transport: Transport;
  timeoutMs: number;
  totalTimeoutMs?: number;
  maxInFlight?: number;
  roots?: { uri: string; name?: string }[];
  tokenExchange?: TokenExchange;
  approvers?: Approvers;
  description?: string;
  labels?: Record<string, string>;
}

export function serverFromRow(r: Row, sealer: Sealer): ServerRecord {
  const spec = JSON.parse(r.spec as string) as StoredServerSpec;
  const credentials = r.credentials ? (JSON.parse(sealer.open(r.credentials as string)) as ServerCredentials) : {};
  const transport = { ...spec.transport } as Transport;
  if ((transport.type === "streamable-http" || transport.type === "sse") && credentials.headers) transport.headers = credentials.headers;
  if (transport.type === "stdio" && credentials.env) transport.env = credentials.env;
  if (transport.type === "stdio" && credentials.secretArgs) transport.secretArgs = credentials.secretArgs;
  return {
    name: r.name as string,
    transport,
    timeoutMs: spec.timeoutMs,
    totalTimeoutMs: spec.totalTimeoutMs ?? null,
    maxInFlight: spec.maxInFlight ?? null,
    roots: spec.roots ?? null,
    tokenExchange: spec.tokenExchange ?? null,
    approvers: spec.approvers ?? null,
    description: spec.description ?? null,
    labels: spec.labels ?? {},
    owner: (r.owner as string | null) ?? null,
    credentialsDigest: r.credentials_digest as string,
    version: Number(r.version),
    createdAt: r.created_at as string,
    updatedAt: r.updated_at as string,
  };
}

/** A server spec split into what is stored in clear and the credentials that are sealed. */
function splitCredentials(spec: ServerSpec): { public: StoredServerSpec; credentials: ServerCredentials } {
  const { headers, env, secretArgs, ...transport } = spec.transport as Transport & ServerCredentials;
  const credentials = { ...(headers ? { headers } : {}), ...(env ? { env } : {}), ...(secretArgs ? { secretArgs } : {}) };
  const { totalTimeoutMs, maxInFlight, roots, tokenExchange, approvers, description, labels } = spec;
  return { public: { transport: transport as Transport, timeoutMs: spec.timeoutMs, totalTimeoutMs, maxInFlight, roots, tokenExchange, approvers, description, labels }, credentials };
}

/**
 * The stored columns a server spec asks for (spec, sealed credentials, credentials digest, owner), given the
 * row stored now, and whether they equal it (then nothing is written). Unchanged credentials keep their
 * sealed value rather than being sealed again.
 */
export function serverFields(spec: ServerSpec, stored: Row | undefined, sealer: Sealer): { existing: ServerRecord | undefined; fields: [spec: string, credentials: string | null, credentialsDigest: string, owner: string | null]; same: boolean } {
  const existing = stored ? serverFromRow(stored, sealer) : undefined;
  const parts = splitCredentials(spec);
  const credentialsJson = canonicalJson(parts.credentials);
  const digest = sealer.digest(credentialsJson);
  const owner = spec.owner === undefined ? (existing?.owner ?? null) : spec.owner;
  const sameCredentials = existing?.credentialsDigest === digest;
  const same = existing !== undefined && sameCredentials && owner === existing.owner && jsonEqual(JSON.parse(stored!.spec as string), JSON.parse(JSON.stringify(parts.public)));
  const credentials = sameCredentials ? ((stored!.credentials as string | null) ?? null) : sealer.seal(credentialsJson);
  return { existing, fields: [JSON.stringify(parts.public), credentials, digest, owner], same };
}

export function policyFromRow(r: Row): PolicyRecord {
  return { name: r.name as string, document: JSON.parse(r.document as string), owner: (r.owner as string | null) ?? null, version: Number(r.version), createdAt: r.created_at as string, updatedAt: r.updated_at as string };
}

export function grantFromRow(r: Row): GrantRecord {
  return {
    name: r.name as string,
    server: r.server as string,
    policy: (r.policy as string | null) ?? null,
    expiresAt: (r.expires_at as string | null) ?? null,
    identity: r.identity ? (JSON.parse(r.identity as string) as GrantIdentityMatch) : null,
    description: (r.description as string | null) ?? null,
    owner: (r.owner as string | null) ?? null,
    tokenHash: r.token_hash as string,
    version: Number(r.version),
    createdAt: r.created_at as string,
    updatedAt: r.updated_at as string,
  };
}

export function webhookFromRow(r: Row, sealer: Sealer): WebhookRecord {
  return {
    name: r.name as string,
    url: r.url as string,
    events: JSON.parse(r.events as string) as WebhookEvent[],
    secret: sealer.open(r.secret as string),
    secretDigest: r.secret_digest as string,
    description: (r.description as string | null) ?? null,
    owner: (r.owner as string | null) ?? null,
    version: Number(r.version),
    createdAt: r.created_at as string,
    updatedAt: r.updated_at as string,
  };
}

export function missingReference(kind: "server" | "policy", name: string): ToolgateError {
  return new ToolgateError("invalid_input", `${kind} "${name}" does not exist; create it first`, { issues: [{ path: `/${kind}`, message: `${kind} "${name}" does not exist` }] });
}

/** A grant or server naming an identity provider that does not exist (`path`: the field that names it). */
export function missingIdentityProvider(path: string, name: string): ToolgateError {
  return new ToolgateError("invalid_input", `identity provider "${name}" does not exist; create it first`, { issues: [{ path, message: `identity provider "${name}" does not exist` }] });
}

/** The identity providers a server spec names, each with the field that names it. */
export function serverIdentityProviders(spec: ServerSpec): { path: string; name: string }[] {
  return [
    ...(spec.tokenExchange ? [{ path: "/tokenExchange/identityProvider", name: spec.tokenExchange.identityProvider }] : []),
    ...(spec.approvers ? [{ path: "/approvers/identityProvider", name: spec.approvers.identityProvider }] : []),
  ];
}

/** What is stored in clear of an identity provider (the `spec` column): everything but the client secret. */
type StoredIdentityProvider = Omit<IdentityProviderSpec, "name" | "clientSecret" | "owner">;

export function identityProviderFromRow(r: Row, sealer: Sealer): IdentityProviderRecord {
  const spec = JSON.parse(r.spec as string) as StoredIdentityProvider;
  return {
    name: r.name as string,
    issuer: spec.issuer,
    audiences: spec.audiences ?? [],
    jwksUri: spec.jwksUri ?? null,
    introspectionEndpoint: spec.introspectionEndpoint ?? null,
    algorithms: spec.algorithms ?? null,
    clockSkewSeconds: spec.clockSkewSeconds ?? null,
    clientId: spec.clientId ?? null,
    clientSecret: r.client_secret ? sealer.open(r.client_secret as string) : null,
    clientSecretDigest: (r.client_secret_digest as string | null) ?? null,
    description: spec.description ?? null,
    owner: (r.owner as string | null) ?? null,
    version: Number(r.version),
    createdAt: r.created_at as string,
    updatedAt: r.updated_at as string,
  };
}

/** The stored columns an identity provider spec asks for (secret sealed), and whether they equal the stored row. */
export function identityProviderFields(spec: IdentityProviderSpec, stored: Row | undefined, sealer: Sealer): { existing: IdentityProviderRecord | undefined; fields: [spec: string, clientSecret: string | null, clientSecretDigest: string | null, owner: string | null]; same: boolean } {
  const existing = stored ? identityProviderFromRow(stored, sealer) : undefined;
  const { name: _name, clientSecret, owner: specOwner, ...clear } = spec;
  const digest = clientSecret === undefined ? null : sealer.digest(clientSecret);
  const owner = specOwner === undefined ? (existing?.owner ?? null) : specOwner;
  const sameSecret = (existing?.clientSecretDigest ?? null) === digest;
  const same = existing !== undefined && sameSecret && owner === existing.owner && jsonEqual(JSON.parse(stored!.spec as string), JSON.parse(JSON.stringify(clear)));
  const sealed = clientSecret === undefined ? null : sameSecret ? ((stored!.client_secret as string | null) ?? null) : sealer.seal(clientSecret);
  return { existing, fields: [JSON.stringify(clear), sealed, digest, owner], same };
}

/** Why an identity provider cannot be deleted now (grants or servers name it), or undefined. */
export function identityProviderInUse(name: string, grants: GrantRecord[], servers: ServerRecord[]): ToolgateError | undefined {
  const users = [
    ...grants.filter((g) => g.identity?.identityProvider === name).map((g) => `grant "${g.name}"`),
    ...servers.filter((s) => s.tokenExchange?.identityProvider === name || s.approvers?.identityProvider === name).map((s) => `server "${s.name}"`),
  ];
  if (users.length === 0) return undefined;
  return new ToolgateError("invalid_input", `identity provider "${name}" is used by ${users.slice(0, 5).join(", ")}${users.length > 5 ? ` and ${users.length - 5} more` : ""}; change or delete them first`);
}

/** The stored fields a grant spec asks for, and whether they equal what `existing` has (then nothing is written). */
export function grantFields(spec: GrantSpec, existing: GrantRecord | undefined): { fields: [server: string, policy: string | null, expiresAt: string | null, description: string | null, owner: string | null, identity: string | null]; same: boolean } {
  const fields: [string, string | null, string | null, string | null, string | null, string | null] = [
    spec.server,
    spec.policy ?? null,
    spec.expiresAt ? new Date(spec.expiresAt).toISOString() : null,
    spec.description ?? null,
    spec.owner === undefined ? (existing?.owner ?? null) : spec.owner,
    spec.identity ? canonicalJson(spec.identity) : null,
  ];
  const stored = existing && [existing.server, existing.policy, existing.expiresAt, existing.description, existing.owner, existing.identity ? canonicalJson(existing.identity) : null];
  const same = stored !== undefined && fields.every((v, i) => v === stored[i]);
  return { fields, same };
}

/** The stored fields a webhook spec asks for (secret sealed), and whether they equal what `existing` has. */
export function webhookFields(spec: WebhookSpec, existing: WebhookRecord | undefined, sealer: Sealer): { fields: [url: string, events: string, secret: string, secretDigest: string, description: string | null, owner: string | null]; same: boolean } {
  const digest = sealer.digest(spec.secret);
  const description = spec.description ?? null;
  const owner = spec.owner === undefined ? (existing?.owner ?? null) : spec.owner;
  const same = existing !== undefined && existing.url === spec.url && jsonEqual(existing.events, spec.events) && existing.secretDigest === digest && existing.description === description && existing.owner === owner;
  return { fields: [spec.url, JSON.stringify(spec.events), sealer.seal(spec.secret), digest, description, owner], same };
}
