import { createHmac, randomUUID } from "node:crypto";
import type { IncomingMessage, ServerResponse } from "node:http";
import type { Logger } from "pino";
import { Agent } from "undici";
import { classifyTool, GOVERNED_METHODS, type ToolDefinition } from "../../sdk/index.ts";
import type { Approvals } from "../approvals/approvals.ts";
import type { AuditSink, Caller, CounterStore, GrantIdentity, ProxyMetrics, RuntimeView, ServerTarget, ToolCatalogView } from "../contracts.ts";
import type { AccessTokenVerifier } from "../identity/access-tokens.ts";
import type { Discovery } from "../identity/discovery.ts";
import { createUpstreamAuthorization } from "../identity/upstream-authorization.ts";
import { mediaType } from "../http/media-type.ts";
import { BodyTooLargeError, readBody } from "../http/read-body.ts";
import type { ReplicaDirectory } from "../replicas.ts";
import { authenticate, identityCheckFor, resourceUrls } from "./authenticate.ts";
import { watchCallerExpiry } from "./caller-expiry.ts";
import { FORWARDED_HEADER, forwardToReplica } from "./forward.ts";
import { createGrantWatch } from "./grant-watch.ts";
import { createHttpUpstream } from "./http-upstream.ts";
import { eraOf, LEGACY_VERSIONS, MODERN_ERROR, MODERN_VERSION, type Era } from "./era.ts";
import { prepareModern } from "./modern-request.ts";
import { ERROR, errorMessage, type JsonRpcId, type JsonRpcMessage } from "./jsonrpc.ts";
import { parseMessage } from "./parse-message.ts";
import { createOriginPolicy } from "./security.ts";
import { createSessionBinding } from "./session-binding.ts";
import { createStdioUpstream, stdioSessionOwner, type StdioLimits } from "./stdio-upstream.ts";
import { createSseUpstream, type SseTarget } from "./sse-upstream.ts";
import { createModernStdioUpstream, type ModernStdioUpstream } from "./stdio-modern-upstream.ts";
import { relayToolCall, type ToolCallDeps } from "./tool-call.ts";
import type { Exchange, RootsAnswer, Upstream, UpstreamContext } from "./upstream.ts";

export interface ProxyDeps {
  view: RuntimeView;
  counters: CounterStore;
  audit: AuditSink;
  metrics: ProxyMetrics;
  log: Logger;
  catalog: ToolCatalogView;
  approvals?: Approvals;
  /** This replica, and how to find the replica that holds a stdio session (default: a lone gateway). */
  replica?: Pick<ReplicaDirectory, "id" | "locate">;
  /** Why calls cannot be served safely right now (config feed or audit log down): requests get 503. */
  servingProblem?: () => string | undefined;
  /** Extra allowed Origin values; loopback origins are always allowed on loopback listeners. */
  allowedOrigins: string[];
  /** Binds HTTP upstream session ids to grants; every replica must use the same key. */
  sessionKey: Buffer;
  /** stdio children never start inside it. */
  dataDir?: string;
  maxStdioProcesses?: number;
  maxStdioPerGrant?: number;
  stdioIdleMs?: number;
  maxBodyBytes?: number;
  /** How often a held call (approval hold mode) gets a progress notification (default 10 s). */
  holdProgressMs?: number;
  /** How long close() waits for in-flight calls before cutting them off (default 10 s). */
  drainMs?: number;
  clock?: () => number;
  /** Access tokens from identity providers (docs/identity.md); without it, or with no provider set up, only grant tokens. */
  identity?: { verifier: AccessTokenVerifier; active: () => boolean };
  /** The proxy's base URL as agents reach it: servers' resource URLs are `<it>/mcp/<server>`. */
  publicUrl?: () => string;
  /** Identity providers' metadata (token exchange finds token endpoints there); default: a cache of the proxy's own. */
  discovery?: Discovery;
}

export interface Proxy {
  handle(req: IncomingMessage, res: ServerResponse, serverName: string): Promise<void>;
  /** RFC 9728 Protected Resource Metadata of a server (GET /.well-known/oauth-protected-resource/mcp/<server>). */
  resourceMetadata(req: IncomingMessage, res: ServerResponse, serverName: string): void;
  /** Stops accepting requests (503), answers held calls, waits for in-flight calls, stops stdio children. */
  close(): Promise<void>;
  inFlight(): number;
  /** stdio upstream processes alive now. */
  stdioProcesses(): number;
}

/** A server's upstreams for its current version: stdio servers have a 2026 process pool beside the 2025 sessions. */
interface CachedUpstreams {
  version: number;
  upstream: Upstream;
  modern?: ModernStdioUpstream;
}

/** The longest a 2026 client may cache a list the policy filters: a policy edit shows within it. */
const LIST_TTL_CAP_MS = 30_000;

/** Requests a policy may govern besides tools/call (decided by the policy's `decideRequest`). */
const GOVERNED = new Set<string>(GOVERNED_METHODS);

/**
 * The MCP relay, one pipeline per request (DESIGN.md §5.1): authenticate → parse once → classify → gate →
 * forward the serialization of the decided message → observe the answer. What goes upstream is always the
 * message the gateway decided on, never the agent's bytes.
 */
export function createProxy(deps: ProxyDeps): Proxy {
  const clock = deps.clock ?? Date.now;
  const maxBody = deps.maxBodyBytes ?? 4 * 1024 * 1024;
  const origins = createOriginPolicy(deps.allowedOrigins);
  const dispatcher = new Agent({ connections: null, keepAliveTimeout: 30_000, keepAliveMaxTimeout: 600_000 });
  const toolCallDeps: ToolCallDeps = { upstreamAuthorization: (target, caller) => upstreamAuthorization(target, caller), view: deps.view, counters: deps.counters, audit: deps.audit, metrics: deps.metrics, log: deps.log, catalog: deps.catalog, approvals: deps.approvals, holdProgressMs: deps.holdProgressMs ?? 10_000, clock };
  const binding = createSessionBinding(deps.sessionKey);
  const tasks = createSessionBinding(createHmac("sha256", deps.sessionKey).update("toolgate task binding").digest());
  const watch = createGrantWatch(deps.view, clock);
  const upstreamAuthorization = createUpstreamAuthorization({ view: deps.view, dispatcher, clock, ...(deps.discovery ? { discovery: deps.discovery } : {}) });
  const stdioLimits: StdioLimits = { active: 0, max: deps.maxStdioProcesses ?? 64, perGrant: new Map(), maxPerGrant: deps.maxStdioPerGrant ?? 8 };
  const upstreams = new Map<string, CachedUpstreams>();
  const replica = deps.replica ?? { id: "0", locate: async () => undefined };
  /** Held calls and other long waits, interrupted when the gateway shuts down. */
  const shutdown = new AbortController();
  let inFlight = 0;
  let closing = false;
  let drained: (() => void) | undefined;

  /** The grant's policy as it is now (a policy edit applies to the next message, in every stream). */
  function policyOf(grant: string) {
    const name = deps.view.grant(grant)?.policy;
    return name ? deps.view.policy(name) : undefined;
  }

  function filterTools(target: ServerTarget, grant: string, m: JsonRpcMessage, observe: boolean, era: Era = "2025"): JsonRpcMessage | undefined {
    if (!m.result || !Array.isArray(m.result.tools)) return undefined;
    const listed = m.result.tools as ToolDefinition[];
    if (observe) deps.catalog.observe(target.name, listed);
    const policy = policyOf(grant);
    const categoryOf = (t: ToolDefinition) => deps.catalog.lookup(target.name, t.name)?.category ?? classifyTool(t).category;
    const tools = policy ? policy.compiled.filterTools(listed, categoryOf) : [];
    const result: Record<string, unknown> = { ...m.result, tools };
    if (era === "2026" && (!policy || policy.compiled.filtersLists)) {
      // What this grant sees is its own: no shared cache may serve it to another, and a policy edit shows soon.
      const ttl = typeof result.ttlMs === "number" ? Math.min(result.ttlMs, LIST_TTL_CAP_MS) : 0;
      Object.assign(result, { cacheScope: "private", ttlMs: ttl });
    }
    return { ...m, result };
  }

  function rootsFor(target: ServerTarget, grant: string): RootsAnswer {
    if (target.roots) return { kind: "pinned", roots: target.roots };
    const choice = policyOf(grant)?.compiled.clientRoots ?? (target.transport.type === "stdio" ? "deny" : "allow");
    return choice === "allow" ? { kind: "client" } : { kind: "none" };
  }

  function upstreamFor(target: ServerTarget): Upstream {
    return cachedUpstreams(target).upstream;
  }

  /** The 2026 stdio upstream of a stdio server (a stateless process pool beside the 2025 sessions). */
  function modernStdioFor(target: ServerTarget): ModernStdioUpstream {
    return cachedUpstreams(target).modern!;
  }

  function cachedUpstreams(target: ServerTarget): CachedUpstreams {
    const cached = upstreams.get(target.name);
    if (cached?.version === target.version) return cached;
    void cached?.upstream.close();
    void cached?.modern?.close();
    const ctx: UpstreamContext = {
      onError: (kind) => deps.metrics.upstreamError(target.name, kind),
      onToolsChanged: () => deps.catalog.listChanged(target.name),
      filterList: (grant, m) => (m.id !== undefined && m.method === undefined ? filterTools(target, grant, m, false) : undefined),
      roots: (grant) => rootsFor(target, grant),
      watch,
    };
    let entry: CachedUpstreams;
    if (target.transport.type === "streamable-http") {
      entry = { version: target.version, upstream: createHttpUpstream(target as ServerTarget & { transport: { type: "streamable-http" } }, dispatcher, binding, ctx) };
    } else if (target.transport.type === "sse") {
      const options = { replicaId: replica.id, idleMs: deps.stdioIdleMs ?? 600_000, maxPerGrant: deps.maxStdioPerGrant ?? 8, dispatcher, log: deps.log };
      entry = { version: target.version, upstream: createSseUpstream(target as SseTarget, options, ctx) };
    } else {
      const stdio = target as ServerTarget & { transport: { type: "stdio" } };
      const options = { limits: stdioLimits, idleMs: deps.stdioIdleMs ?? 600_000, dataDir: deps.dataDir, log: deps.log };
      entry = { version: target.version, upstream: createStdioUpstream(stdio, { ...options, replicaId: replica.id }, ctx), modern: createModernStdioUpstream(stdio, options, ctx) };
    }
    upstreams.set(target.name, entry);
    return entry;
  }

  function reject(res: ServerResponse, status: number, message: string, headers: Record<string, string> = {}, id: JsonRpcId | null = null, code?: number, data?: unknown): void {
    if (res.headersSent || res.destroyed) return;
    res.writeHead(status, { "content-type": "application/json", ...headers }).end(errorMessage(id, code ?? (status === 401 ? ERROR.unauthorized : ERROR.invalidRequest), message, data));
  }

  /** A 2026 request to a server that only speaks 2025: -32022 names the versions to use instead. */
  function legacyOnly(res: ServerResponse, id: JsonRpcId | undefined, why: string): void {
    reject(res, 400, `Unsupported protocol version: ${why}; use initialize`, {}, id ?? null, MODERN_ERROR.unsupportedVersion, { supported: [...LEGACY_VERSIONS], requested: MODERN_VERSION });
  }

  async function handlePost(req: IncomingMessage, res: ServerResponse, grant: GrantIdentity, tokenHash: string, caller: Caller | undefined, target: ServerTarget, started: number, interrupt: AbortSignal, authorization: string | undefined): Promise<void> {
    if (mediaType(req.headers["content-type"]) !== "application/json") {
      reject(res, 415, "Content-Type must be application/json");
      return;
    }
    let bytes: Buffer;
    try {
      bytes = await readBody(req, maxBody);
    } catch (error) {
      if (error instanceof BodyTooLargeError) reject(res, 413, `Request body is larger than ${maxBody} bytes (--max-body-bytes)`);
      else res.destroy();
      return;
    }
    // Parse once: this message is what is decided on and what is forwarded.
    const parsed = parseMessage(bytes);
    if (!parsed.ok) {
      reject(res, parsed.status, parsed.error, {}, parsed.id, parsed.code);
      return;
    }
    const { message, kind } = parsed;
    const era = eraOf(message, req);
    if (!era.ok) {
      reject(res, era.status, era.message, {}, parsed.id, era.code, era.data);
      return;
    }
    const exchange: Exchange = { message, body: Buffer.alloc(0), kind, era: era.era, ...(parsed.id !== undefined ? { id: parsed.id } : {}), req, res, grant: grant.name, tokenHash, ...(authorization !== undefined ? { authorization } : {}) };
    let upstream: Upstream;
    if (exchange.era === "2026" && target.transport.type === "stdio") {
      // Never written to a process that only speaks 2025: it may run a 2026 call it does not understand.
      const modern = modernStdioFor(target);
      if ((await modern.era()) !== "2026") {
        legacyOnly(res, parsed.id, `server "${target.name}" speaks MCP 2025 only`);
        return;
      }
      upstream = modern;
    } else if (exchange.era === "2026" && target.transport.type === "sse") {
      legacyOnly(res, parsed.id, `server "${target.name}" is a legacy HTTP+SSE server (MCP 2024-11-05)`);
      return;
    } else upstream = upstreamFor(target);
    if (exchange.era === "2026") {
      const prepared = prepareModern(exchange, {
        server: target.name,
        grant: grant.name,
        policy: policyOf(grant.name),
        roots: rootsFor(target, grant.name),
        inputSchema: (tool) => deps.catalog.inputSchema(target.name, tool),
        tasks,
      });
      if (!prepared.ok) {
        res.writeHead(prepared.status, { "content-type": "application/json" }).end(prepared.body);
        return;
      }
      exchange.headers = prepared.headers;
      exchange.longLived = prepared.longLived;
      if (prepared.rewrite) exchange.rewrite = prepared.rewrite;
    }

    if (kind === "request" && message.method === "tools/call") {
      exchange.body = Buffer.from(JSON.stringify(message));
      await relayToolCall(toolCallDeps, exchange, grant, target, upstream, started, interrupt, caller);
      return;
    }
    if (kind === "request" && message.method === "tools/list") {
      exchange.rewrite = (m) => filterTools(target, grant.name, m, true, exchange.era);
    } else if (kind === "request" && GOVERNED.has(message.method!)) {
      const verdict = policyOf(grant.name)?.compiled.decideRequest({ method: message.method!, params: message.params });
      if (verdict?.effect === "deny") {
        const text = `[POLICY DENIED] ${verdict.message}`;
        res.writeHead(200, { "content-type": "application/json" }).end(errorMessage(parsed.id, ERROR.policyDenied, text, { rule: verdict.rule }));
        deps.metrics.decision("deny", verdict.rule, target.name);
        deps.audit.write({
          time: new Date(started).toISOString(), requestId: randomUUID(), grant: grant.name, subject: caller?.subject ?? null, server: target.name, method: message.method!, tool: null,
          decision: "deny", rule: verdict.rule, message: verdict.message, policy: grant.policy, policyVersion: policyOf(grant.name)?.version ?? null,
          argumentKeys: [], upstreamStatus: null, latencyMs: clock() - started,
        });
        return;
      }
    } else if (kind === "notification" && message.method === "notifications/roots/list_changed" && rootsFor(target, grant.name).kind !== "client") {
      // The server's roots are not the agent's to change.
      res.writeHead(202).end();
      return;
    } else if (kind === "response" && message.result && Array.isArray((message.result as { roots?: unknown }).roots)) {
      const roots = rootsFor(target, grant.name);
      if (roots.kind !== "client") message.result = { ...message.result, roots: roots.kind === "pinned" ? roots.roots : [] };
    }
    exchange.body = Buffer.from(JSON.stringify(message));
    // A long-lived stream (2026 subscriptions/listen) ends when the caller's access token does, like a GET stream.
    if (exchange.longLived) await untilTokenExpires(caller, res, () => upstream.post(exchange));
    else await upstream.post(exchange);
  }

  /** Runs a stream; when the caller's access token expires first, the connection is cut (the client reconnects with a fresh one). */
  async function untilTokenExpires<T>(caller: Caller | undefined, res: ServerResponse, stream: () => Promise<T>): Promise<T> {
    const expiry = watchCallerExpiry(caller, clock);
    expiry.signal.addEventListener("abort", () => res.destroy(), { once: true });
    try {
      return await stream();
    } finally {
      expiry.stop();
    }
  }

  /** A request of a stdio session that lives on another replica goes there. */
  async function toOwner(req: IncomingMessage, res: ServerResponse, owner: string): Promise<void> {
    let peer: string | undefined;
    try {
      peer = await replica.locate(owner);
    } catch {
      reject(res, 503, "Cannot find the gateway replica that holds this stdio session right now (the store is unreachable)", { "retry-after": "2" });
      return;
    }
    if (peer) await forwardToReplica(req, res, peer, replica.id, dispatcher);
    else reject(res, 404, `Session not found: it lived on gateway replica ${owner}, which is no longer running; start a new session`);
  }

  async function route(req: IncomingMessage, res: ServerResponse, serverName: string): Promise<void> {
    if (closing) {
      reject(res, 503, "The gateway is shutting down", { "retry-after": "1" });
      return;
    }
    const refused = origins.check(req);
    if (refused) {
      reject(res, 403, refused);
      return;
    }
    const problem = deps.servingProblem?.();
    if (problem) {
      reject(res, 503, `The gateway cannot serve calls right now: ${problem} (fail closed)`, { "retry-after": "2" });
      return;
    }
    const auth = await authenticate(req, deps.view, serverName, clock(), identityCheckFor(deps.identity, deps.publicUrl, serverName));
    if (!auth.ok) {
      reject(res, auth.status, auth.message, auth.headers);
      return;
    }
    const { grant, tokenHash, caller } = auth;
    const target = deps.view.server(serverName);
    if (!target) {
      reject(res, 404, `Server "${serverName}" does not exist`);
      return;
    }
    if (req.method !== "POST" && req.method !== "GET" && req.method !== "DELETE") {
      reject(res, 405, `Method ${req.method} is not allowed; use POST, GET or DELETE`, { allow: "POST, GET, DELETE" });
      return;
    }
    // Sessions the gateway holds (stdio processes, legacy SSE connections) live on the replica that issued their id.
    const owner = target.transport.type !== "streamable-http" ? stdioSessionOwner(req.headers["mcp-session-id"]) : undefined;
    if (owner !== undefined && owner !== replica.id && req.headers[FORWARDED_HEADER] === undefined) {
      await toOwner(req, res, owner);
      return;
    }
    // A server with tokenExchange gets a token exchanged for this caller, never the caller's own (docs/identity.md).
    const upstreamAuth = await upstreamAuthorization(target, caller);
    if (!upstreamAuth.ok) {
      reject(res, upstreamAuth.status, upstreamAuth.message, upstreamAuth.headers);
      return;
    }
    const { authorization } = upstreamAuth;
    if (req.method === "GET") return untilTokenExpires(caller, res, () => upstreamFor(target).get({ req, res, grant: grant.name, tokenHash, ...(authorization !== undefined ? { authorization } : {}) }));
    if (req.method === "DELETE") return upstreamFor(target).delete({ req, res, grant: grant.name, tokenHash, ...(authorization !== undefined ? { authorization } : {}) });
    // Only POSTs count as in-flight calls: GET streams are long-lived and end when the server closes.
    inFlight++;
    const startedHr = process.hrtime.bigint();
    // A revoked grant ends its calls: a held one is answered (denied), any other open stream is cut off.
    const revoked = new AbortController();
    // A call held for approval is not run after the caller's access token expired.
    const expiry = watchCallerExpiry(caller, clock);
    const release = watch.hold({
      grant: grant.name,
      tokenHash,
      close: (why) => {
        revoked.abort(why);
        setTimeout(() => res.writableEnded || res.destroy(), 250).unref();
      },
    });
    try {
      await handlePost(req, res, grant, tokenHash, caller, target, clock(), AbortSignal.any([shutdown.signal, revoked.signal, expiry.signal]), authorization);
    } finally {
      release();
      expiry.stop();
      deps.metrics.latency("POST", Number(process.hrtime.bigint() - startedHr) / 1e9);
      inFlight--;
      if (closing && inFlight === 0) drained?.();
    }
  }

  return {
    async handle(req, res, serverName) {
      try {
        await route(req, res, serverName);
      } catch (error) {
        // A bug in one request must not take the process down, nor leak its details.
        deps.log.error({ err: { message: (error as Error).message, stack: (error as Error).stack }, server: serverName }, "proxy request failed");
        if (!res.headersSent) reject(res, 500, "Internal gateway error", {}, null, ERROR.internal);
        else res.destroy();
      }
    },

    async close() {
      closing = true;
      shutdown.abort("the gateway is shutting down");
      if (inFlight > 0) {
        await new Promise<void>((resolve) => {
          drained = resolve;
          setTimeout(() => {
            deps.log.warn({ inFlight }, "drain deadline reached; cutting off the calls still in flight");
            resolve();
          }, deps.drainMs ?? 10_000).unref();
        });
      }
      watch.stop();
      await Promise.all([...upstreams.values()].flatMap((u) => [u.upstream.close(), u.modern?.close()]));
      await dispatcher.destroy();
    },

    inFlight: () => inFlight,
    stdioProcesses: () => stdioLimits.active,

    resourceMetadata(req, res, serverName) {
      if (req.method !== "GET" && req.method !== "HEAD") {
        res.writeHead(405, { allow: "GET, HEAD", "content-type": "application/json" }).end(JSON.stringify({ error: "method_not_allowed" }));
        return;
      }
      const urls = resourceUrls(deps.publicUrl?.() ?? "", serverName);
      // The issuers of the identity providers this server's grants by identity use (none: grant tokens only).
      const issuers = new Set<string>();
      for (const g of deps.view.identityGrants(serverName)) {
        const issuer = g.identity && deps.view.identityProvider(g.identity.identityProvider)?.issuer;
        if (issuer) issuers.add(issuer);
      }
      const body = JSON.stringify({ resource: urls.resource, authorization_servers: [...issuers].sort(), bearer_methods_supported: ["header"], resource_name: `Toolgate MCP server ${serverName}` });
      res.writeHead(200, { "content-type": "application/json", "cache-control": "max-age=60", "access-control-allow-origin": "*" }).end(req.method === "HEAD" ? undefined : body);
    },
  };
}
