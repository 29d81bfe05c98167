import type { GrantSpec, PolicySpec, ServerSpec, Transport, WebhookEvent, WebhookSpec } from "../../sdk/index.ts";
import type { Approvers, GrantIdentityMatch, IdentityProviderSpec, TokenExchange } from "../../sdk/identity.ts";

/**
 * Servers, policies and grants, versioned. Every backend (SQLite now; PostgreSQL for replicas) passes the
 * same contract suite (tests/unit/config-store-contract.ts). Credentials are returned decrypted here and
 * must be redacted by whoever shows a record to a person.
 */
export interface ServerRecord {
  name: string;
  transport: Transport;
  timeoutMs: number;
  totalTimeoutMs: number | null;
  /** As configured; null when the server leaves it to the default (DEFAULT_MAX_IN_FLIGHT). */
  maxInFlight: number | null;
  roots: { uri: string; name?: string }[] | null;
  /** RFC 8693: the caller's access token is exchanged for one meant for the upstream; null when not. */
  tokenExchange: TokenExchange | null;
  /** Who may decide this server's approvals (signed-in users of an identity provider); null: anyone with the UI. */
  approvers: Approvers | null;
  description: string | null;
  labels: Record<string, string>;
  owner: string | null;
  credentialsDigest: string;
  version: number;
  createdAt: string;
  updatedAt: string;
}

export interface PolicyRecord {
  name: string;
  document: Record<string, unknown>;
  owner: string | null;
  version: number;
  createdAt: string;
  updatedAt: string;
}

export interface GrantRecord {
  name: string;
  server: string;
  policy: string | null;
  expiresAt: string | null;
  /** Callers whose access token matches get this grant; such a grant holds no token (its tokenHash matches none). */
  identity: GrantIdentityMatch | null;
  description: string | null;
  owner: string | null;
  tokenHash: string;
  version: number;
  createdAt: string;
  updatedAt: string;
}

/** `ifMatch`: the version the writer last saw (412 otherwise); `ifNoneMatch`: only create. */
export interface WebhookRecord {
  name: string;
  url: string;
  events: WebhookEvent[];
  /** The signing secret, decrypted: never logged or returned by the API. */
  secret: string;
  secretDigest: string;
  description: string | null;
  owner: string | null;
  version: number;
  createdAt: string;
  updatedAt: string;
}

/** An identity provider the gateway trusts (docs/identity.md). */
export interface IdentityProviderRecord {
  name: string;
  issuer: string;
  audiences: string[];
  jwksUri: string | null;
  introspectionEndpoint: string | null;
  algorithms: string[] | null;
  clockSkewSeconds: number | null;
  clientId: string | null;
  /** Decrypted: never logged or returned by the API (it shows clientSecretDigest). */
  clientSecret: string | null;
  clientSecretDigest: string | null;
  description: string | null;
  owner: string | null;
  version: number;
  createdAt: string;
  updatedAt: string;
}

export interface Preconditions {
  ifMatch?: number;
  ifNoneMatch?: boolean;
  /** The write's Idempotency-Key: recorded on the object; a write with the key of its last write is not applied again. */
  idempotencyKey?: string;
}

export interface WriteResult<T> {
  record: T;
  created: boolean;
  /** False when the object already had exactly this content: the version did not move. */
  changed: boolean;
  /** True when the write repeated the object's last write (same Idempotency-Key) and was answered without writing. */
  replayed?: boolean;
}

export interface ConfigSnapshot {
  servers: ServerRecord[];
  policies: PolicyRecord[];
  grants: GrantRecord[];
  identityProviders: IdentityProviderRecord[];
}

export interface ConfigStore {
  getServer(name: string): Promise<ServerRecord | undefined>;
  putServer(spec: ServerSpec, pre?: Preconditions): Promise<WriteResult<ServerRecord>>;
  deleteServer(name: string, pre?: Preconditions): Promise<boolean>;
  listServers(limit: number, after?: string): Promise<ServerRecord[]>;

  getPolicy(name: string): Promise<PolicyRecord | undefined>;
  putPolicy(spec: PolicySpec, pre?: Preconditions): Promise<WriteResult<PolicyRecord>>;
  deletePolicy(name: string, pre?: Preconditions): Promise<boolean>;
  listPolicies(limit: number, after?: string): Promise<PolicyRecord[]>;

  getGrant(name: string): Promise<GrantRecord | undefined>;
  /** `newTokenHash` is used only when the grant is created. */
  putGrant(spec: GrantSpec, newTokenHash: string, pre?: Preconditions): Promise<WriteResult<GrantRecord>>;
  rotateGrant(name: string, tokenHash: string, pre?: Preconditions): Promise<GrantRecord | undefined>;
  deleteGrant(name: string, pre?: Preconditions): Promise<boolean>;
  listGrants(limit: number, after?: string): Promise<GrantRecord[]>;

  getWebhook(name: string): Promise<WebhookRecord | undefined>;
  putWebhook(spec: WebhookSpec, pre?: Preconditions): Promise<WriteResult<WebhookRecord>>;
  deleteWebhook(name: string, pre?: Preconditions): Promise<boolean>;
  listWebhooks(limit: number, after?: string): Promise<WebhookRecord[]>;

  getIdentityProvider(name: string): Promise<IdentityProviderRecord | undefined>;
  putIdentityProvider(spec: IdentityProviderSpec, pre?: Preconditions): Promise<WriteResult<IdentityProviderRecord>>;
  /** Refused (invalid_input) while a grant or server names it. */
  deleteIdentityProvider(name: string, pre?: Preconditions): Promise<boolean>;
  listIdentityProviders(limit: number, after?: string): Promise<IdentityProviderRecord[]>;

  /** Everything, for building the proxy's in-memory view. */
  snapshot(): Promise<ConfigSnapshot>;
  /** Cheap liveness check of the backend. */
  ping(): Promise<void>;
  close(): Promise<void>;
}
