import type { CompiledPolicy, Reservation, RiskCategory } from "../sdk/index.ts";
import type { Approvers, GrantIdentityMatch, TokenExchange } from "../sdk/identity.ts";

/**
 * The seams between the gateway's parts. The proxy depends only on these interfaces, so it can be
 * driven by the SQLite store, by PostgreSQL + Redis, or by plain fakes in a test.
 */

/** An upstream as the proxy needs it: credentials already decrypted, never logged. */
export type UpstreamTransport =
  | { type: "streamable-http"; url: string; headers: Record<string, string> }
  /** Legacy HTTP+SSE (MCP 2024-11-05): a GET event stream for answers, POSTs to the endpoint it names. */
  | { type: "sse"; url: string; headers: Record<string, string> }
  | {
      type: "stdio";
      command: string;
      /** `args` then `secretArgs`, merged. */
      args: string[];
      env: Record<string, string>;
      cwd?: string;
      /** Run the child as this user/group (name or id) when the gateway runs as root. */
      user?: string | number;
      group?: string | number;
      /** The server keeps state between requests of one client: 2026-07-28 requests get processes per grant, never shared. */
      stateful?: boolean;
    };

export interface ServerTarget {
  name: string;
  /** Bumped on every change; the proxy restarts a stdio child or re-dials when it changes. */
  version: number;
  transport: UpstreamTransport;
  /** Idle timeout: no bytes or progress from the upstream for this long fails the call. */
  timeoutMs: number;
  /** Bound on a whole call, or null for none. */
  totalTimeoutMs: number | null;
  /** Most calls in flight to this upstream at once; beyond it the gateway answers "busy". */
  maxInFlight: number;
  /** Pinned roots, or null when the server does not pin them. */
  roots: { uri: string; name?: string }[] | null;
  /** Absent or null: no token exchange, no approver restriction. */
  tokenExchange?: TokenExchange | null;
  approvers?: Approvers | null;
}

/** An identity provider as the proxy needs it (client secret decrypted, never logged). */
export interface TrustedIdentityProvider {
  name: string;
  version: number;
  issuer: string;
  audiences: string[];
  jwksUri: string | null;
  introspectionEndpoint: string | null;
  algorithms: string[];
  clockSkewSeconds: number;
  clientId: string | null;
  clientSecret: string | null;
}

/** Who is calling with an access token (not a grant token). */
export interface Caller {
  /** The identity provider's name. */
  provider: string;
  subject: string;
  clientId?: string;
  claims: Record<string, unknown>;
  /** The access token itself: only for token exchange at the same IdP; never logged, never forwarded. */
  token: string;
  /**
   * When the gateway stops accepting the access token (epoch ms: its `exp`, or the introspection answer's, plus the
   * identity provider's clock skew), when known. Nothing outlives it: an exchanged token is not reused past it, a
   * held call is not forwarded after it, and the caller's GET streams end at it (docs/identity.md).
   */
  expiresAt?: number;
}

export interface GrantIdentity {
  name: string;
  server: string;
  policy: string | null;
  /** Epoch ms, or null for no expiry. */
  expiresAt: number | null;
  /** Set for a grant by identity (it holds no token). */
  identity?: GrantIdentityMatch;
}

export interface ActivePolicy {
  name: string;
  version: number;
  compiled: CompiledPolicy;
}

/**
 * What the proxy reads on every request: an in-memory view kept current by the store, so a revocation
 * or a policy edit applies on the next request without a database round trip.
 */
export interface RuntimeView {
  /** The grant whose token hashes to this value, or undefined (unknown or revoked). */
  grantByTokenHash(sha256Hex: string): GrantIdentity | undefined;
  /** The grant with this name as it is now, or undefined (deleted). */
  grant(name: string): GrantIdentity | undefined;
  server(name: string): ServerTarget | undefined;
  policy(name: string): ActivePolicy | undefined;
  identityProvider(name: string): TrustedIdentityProvider | undefined;
  /** The identity provider whose issuer is exactly this `iss`. */
  identityProviderByIssuer(issuer: string): TrustedIdentityProvider | undefined;
  /** The grants by identity of a server. */
  identityGrants(server: string): GrantIdentity[];
}

export type ReserveResult =
  | { ok: true }
  /** A counter was full; nothing was taken. */
  | { ok: false; full: Reservation }
  /**
   * The counter backend could not be reached, or it lost the window's counts (`stateLost`: Redis restarted
   * empty); nothing was taken. Calls fail closed; limits-fail-open lets only unreachability pass.
   */
  | { ok: false; unavailable: string; stateLost?: boolean };

/** Limit counters. `reserve` is all-or-nothing and exact under concurrency; `release` undoes it. */
export interface CounterStore {
  reserve(reservations: readonly Reservation[]): Promise<ReserveResult>;
  release(reservations: readonly Reservation[]): Promise<void>;
}

/** One decision (DESIGN.md section 5). Argument keys only; never values or tokens. */
export interface AuditEntry {
  time: string;
  requestId: string;
  grant: string;
  /** The caller's subject (access tokens); null for grant tokens. */
  subject?: string | null;
  server: string;
  method: string;
  tool: string | null;
  /** `event` for what is not a call decision, e.g. a catalog change (`method` says which). */
  decision: "allow" | "deny" | "event";
  rule: string;
  message: string;
  policy: string | null;
  policyVersion: number | null;
  argumentKeys: string[];
  upstreamStatus: number | null;
  latencyMs: number;
}

/** What the proxy asks of the tool catalog (gateway/catalog/catalog.ts) on the call path: memory only. */
export interface ToolCatalogView {
  /** The tool's risk category and whether its definition changed since it was last reviewed; undefined if unknown. */
  lookup(server: string, tool: string): { category: RiskCategory; changed: boolean } | undefined;
  /** The tool's input schema as the catalog has it (for 2026 `x-mcp-header` parameters); undefined if unknown. */
  inputSchema(server: string, tool: string): unknown;
  /** A tools/list result the upstream sent (before policy filtering): the catalog records it. */
  observe(server: string, tools: readonly unknown[]): void;
  /** The upstream said its tools changed (notifications/tools/list_changed). */
  listChanged(server: string): void;
}

/** Writes audit rows off the call path (buffered); never throws into the caller. */
export interface AuditSink {
  write(entry: AuditEntry): void;
}

/** What the proxy reports for Prometheus; the serve process implements it with prom-client. */
export interface ProxyMetrics {
  decision(effect: "allow" | "deny", rule: string, server: string): void;
  /** Gateway-added latency of one request (seconds), by JSON-RPC method. */
  latency(method: string, seconds: number): void;
  upstreamError(server: string, kind: "timeout" | "connect" | "protocol" | "status" | "crash" | "busy" | "closed"): void;
}
