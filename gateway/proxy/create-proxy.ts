import { createHash, randomUUID } from "node:crypto";
import type { IncomingMessage, ServerResponse } from "node:http";
import type { Logger } from "pino";
import { Agent } from "undici";
import { classifyTool, type ToolDefinition } from "../../sdk/index.ts";
import type { AuditSink, CounterStore, GrantIdentity, ProxyMetrics, RuntimeView, ServerTarget, ToolCatalogView } from "../contracts.ts";
import { mediaType } from "../http/media-type.ts";
import { BodyTooLargeError, readBody } from "../http/read-body.ts";
import { gateToolCall } from "./enforce.ts";
import type { Approvals } from "../approvals/approvals.ts";
import type { ApprovalRecord } from "../approvals/approval-store.ts";
import { EventStreamResponse } from "./event-stream-response.ts";
import { createHttpUpstream } from "./http-upstream.ts";
import { approvalRequiredMessage, argumentKeys, denialMessage, ERROR, errorMessage, isFailedCall, isRequest, type JsonRpcMessage } from "./jsonrpc.ts";
import { createOriginPolicy } from "./security.ts";
import { createStdioUpstream, stdioSessionOwner } from "./stdio-upstream.ts";
import { FORWARDED_HEADER, forwardToReplica } from "./forward.ts";
import type { ReplicaDirectory } from "../replicas.ts";
import type { ResponseWatch, Upstream } from "./upstream.ts";

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
  maxStdioProcesses?: number;
  stdioIdleMs?: number;
  maxBodyBytes?: number;
  /** How often a held call (approval hold mode) gets a progress notification (default 10 s). */
  holdProgressMs?: number;
  /** How long close() waits for in-flight calls before cutting them off (default 10 s). */
  drainMs?: number;
  clock?: () => number;
}

export interface Proxy {
  handle(req: IncomingMessage, res: ServerResponse, serverName: string): Promise<void>;
  /** Stops accepting requests (503), waits for in-flight calls, stops stdio children. */
  close(): Promise<void>;
  inFlight(): number;
  /** stdio upstream processes alive now. */
  stdioProcesses(): number;
}

/**
 * The MCP relay: authenticates the grant, enforces the policy on tools/call and tools/list, and passes
 * every other message through unchanged at the JSON-RPC level (docs/proxy.md).
 */
export function createProxy(deps: ProxyDeps): Proxy {
  const clock = deps.clock ?? Date.now;
  const maxBody = deps.maxBodyBytes ?? 4 * 1024 * 1024;
  const origins = createOriginPolicy(deps.allowedOrigins);
  const dispatcher = new Agent({ connections: 256, keepAliveTimeout: 30_000, keepAliveMaxTimeout: 600_000 });
  const stdioLimit = { active: 0, max: deps.maxStdioProcesses ?? 64 };
  const upstreams = new Map<string, { version: number; upstream: Upstream }>();
  const replica = deps.replica ?? { id: "0", locate: async () => undefined };
  let inFlight = 0;
  let closing = false;
  let drained: (() => void) | undefined;

  function upstreamFor(target: ServerTarget): Upstream {
    const cached = upstreams.get(target.name);
    if (cached?.version === target.version) return cached.upstream;
    void cached?.upstream.close();
    const onError = (kind: Parameters<ProxyMetrics["upstreamError"]>[1]) => deps.metrics.upstreamError(target.name, kind);
    const onToolsChanged = () => deps.catalog.listChanged(target.name);
    const upstream =
      target.transport.type === "streamable-http"
        ? createHttpUpstream(target as ServerTarget & { transport: { type: "streamable-http" } }, dispatcher, onError, onToolsChanged)
        : createStdioUpstream(target as ServerTarget & { transport: { type: "stdio" } }, { replicaId: replica.id, limit: stdioLimit, idleMs: deps.stdioIdleMs ?? 600_000, log: deps.log, onError, onToolsChanged });
    upstreams.set(target.name, { version: target.version, upstream });
    return upstream;
  }

  function reject(res: ServerResponse, status: number, message: string, headers: Record<string, string> = {}): void {
    res.writeHead(status, { "content-type": "application/json", ...headers }).end(errorMessage(null, status === 401 ? ERROR.unauthorized : ERROR.invalidRequest, message));
  }

  /** Who is calling: the grant behind the bearer token, checked against the server in the URL. */
  function authenticate(req: IncomingMessage, res: ServerResponse, serverName: string): GrantIdentity | undefined {
    const header = req.headers.authorization;
    const match = header ? /^Bearer\s+(\S+)\s*$/i.exec(header) : null;
    if (!match) {
      reject(res, 401, "Missing grant token: send Authorization: Bearer <token>", { "www-authenticate": 'Bearer realm="toolgate"' });
      return undefined;
    }
    const grant = deps.view.grantByTokenHash(createHash("sha256").update(match[1]!).digest("hex"));
    if (!grant) {
      reject(res, 401, "Unknown or revoked grant token", { "www-authenticate": 'Bearer realm="toolgate", error="invalid_token"' });
      return undefined;
    }
    if (grant.expiresAt !== null && grant.expiresAt <= clock()) {
      reject(res, 401, `Grant "${grant.name}" expired at ${new Date(grant.expiresAt).toISOString()}`, { "www-authenticate": 'Bearer realm="toolgate", error="invalid_token", error_description="expired"' });
      return undefined;
    }
    if (grant.server !== serverName) {
      reject(res, 403, `This grant is for server "${grant.server}", not "${serverName}"`);
      return undefined;
    }
    return grant;
  }

  async function handlePost(req: IncomingMessage, res: ServerResponse, grant: GrantIdentity, target: ServerTarget, started: number): Promise<void> {
    if (mediaType(req.headers["content-type"]) !== "application/json") {
      reject(res, 415, "Content-Type must be application/json");
      return;
    }
    let body: Buffer;
    try {
      body = await readBody(req, maxBody);
    } catch (error) {
      if (error instanceof BodyTooLargeError) reject(res, 413, `Request body is larger than ${maxBody} bytes`);
      else res.destroy();
      return;
    }
    let message: JsonRpcMessage;
    try {
      message = JSON.parse(body.toString("utf8")) as JsonRpcMessage;
    } catch {
      res.writeHead(400, { "content-type": "application/json" }).end(errorMessage(null, ERROR.parse, "Parse error: the body is not valid JSON"));
      return;
    }
    if (Array.isArray(message)) {
      res.writeHead(400, { "content-type": "application/json" }).end(errorMessage(null, ERROR.invalidRequest, "JSON-RPC batches are not supported; send one message per request"));
      return;
    }
    if (message === null || typeof message !== "object" || message.jsonrpc !== "2.0") {
      res.writeHead(400, { "content-type": "application/json" }).end(errorMessage(null, ERROR.invalidRequest, 'Invalid request: expected a JSON-RPC 2.0 message ("jsonrpc": "2.0")'));
      return;
    }
    const upstream = upstreamFor(target);
    const method = isRequest(message) ? message.method! : message.method ? "notification" : "response";

    if (method === "tools/call") {
      const policy = grant.policy === null ? undefined : deps.view.policy(grant.policy);
      const tool = message.params?.name;
      const args = message.params?.arguments;
      const known = typeof tool === "string" ? deps.catalog.lookup(target.name, tool) : undefined;
      let gate = await gateToolCall(grant, target.name, policy, tool, args, deps.counters, clock(), known, deps.approvals);
      /** Where the answer goes: the response itself, or the event stream a held call opened for progress. */
      let writer: ServerResponse = res;
      while (!gate.allowed && gate.pending?.mode === "hold") {
        const held = await holdForDecision(req, res, message, gate.pending.approval);
        if (held.writer) writer = held.writer;
        if (held.gone) return; // The agent went away; the approval stays for a retry.
        if (held.approval && (held.approval.status === "pending" || held.approval.status === "expired")) {
          const a = held.approval;
          gate = { allowed: false, policy: gate.policy, decision: { effect: "deny", rule: gate.decision.rule, message: `Approval ${a.id} expired at ${a.expiresAt}: nobody decided in time`, reservations: [] } };
          break;
        }
        // Approved (this call consumes it) or denied (this call is told why); a new request if another took it.
        gate = await gateToolCall(grant, target.name, policy, tool, args, deps.counters, clock(), known, deps.approvals);
      }
      const audit = (decision: "allow" | "deny", rule: string, text: string, upstreamStatus: number | null) =>
        deps.audit.write({
          time: new Date(started).toISOString(),
          requestId: randomUUID(),
          grant: grant.name,
          server: target.name,
          method,
          tool: typeof tool === "string" ? tool : null,
          decision,
          rule,
          message: text,
          policy: gate.policy?.name ?? grant.policy,
          policyVersion: gate.policy?.version ?? null,
          argumentKeys: argumentKeys(args),
          upstreamStatus,
          latencyMs: clock() - started,
        });
      if (!gate.allowed) {
        const pending = gate.pending?.approval;
        const out = pending
          ? approvalRequiredMessage(message.id, gate.decision.message, gate.pending!.shape, { approvalId: pending.id, status: pending.status, expiresAt: pending.expiresAt })
          : denialMessage(message.id, gate.decision.message);
        writer.writeHead(200, { "content-type": "application/json", "content-length": Buffer.byteLength(out) }).end(out);
        deps.metrics.decision("deny", gate.decision.rule, target.name);
        audit("deny", gate.decision.rule, gate.decision.message, null);
        return;
      }
      deps.metrics.decision("allow", "", target.name);
      const outcome = await upstream.post(req, writer, body, message, { id: message.id! });
      const failed = outcome.failure !== undefined || (outcome.response !== undefined && isFailedCall(outcome.response));
      if (failed && gate.reservations.length > 0) {
        // A release that cannot reach the counter store leaves the slot taken: stricter, never looser.
        await deps.counters.release(gate.reservations).catch((err: unknown) => deps.log.warn({ err: { message: (err as Error).message }, server: target.name }, "could not give back a limit slot"));
      }
      if (failed && gate.approval) await deps.approvals!.restore(gate.approval.id).catch((err: unknown) => deps.log.warn({ err: { message: (err as Error).message }, approval: gate.approval!.id }, "could not make an approval usable again"));
      audit("allow", "", gate.approval ? `approved call (${gate.approval.id}, by ${gate.approval.decidedBy})` : "", outcome.status);
      return;
    }

    let watch: ResponseWatch | undefined;
    if (method === "tools/list") {
      const policy = grant.policy === null ? undefined : deps.view.policy(grant.policy);
      watch = {
        id: message.id!,
        rewrite: (m) => {
          if (!m.result || !Array.isArray(m.result.tools)) return undefined;
          const listed = m.result.tools as ToolDefinition[];
          deps.catalog.observe(target.name, listed);
          const categoryOf = (t: ToolDefinition) => deps.catalog.lookup(target.name, t.name)?.category ?? classifyTool(t).category;
          const tools = policy ? policy.compiled.filterTools(listed, categoryOf) : [];
          return { ...m, result: { ...m.result, tools } };
        },
      };
    }
    await upstream.post(req, res, body, message, watch);
  }

  /**
   * Keeps a call that needs approval (hold mode) open until a person decides or the approval expires. With a
   * progress token, the answer becomes an event stream that carries progress notifications meanwhile.
   */
  async function holdForDecision(req: IncomingMessage, res: ServerResponse, message: JsonRpcMessage, approval: ApprovalRecord): Promise<{ gone: boolean; writer?: ServerResponse; approval?: ApprovalRecord }> {
    const abort = new AbortController();
    const onClose = () => {
      if (!res.writableEnded) abort.abort();
    };
    res.once("close", onClose);
    const token = message.params?._meta?.progressToken;
    let writer: ServerResponse | undefined;
    let ticker: NodeJS.Timeout | undefined;
    if ((typeof token === "string" || typeof token === "number") && /text\/event-stream/.test(req.headers.accept ?? "")) {
      if (!res.headersSent) {
        res.writeHead(200, { "content-type": "text/event-stream", "cache-control": "no-cache" });
        res.flushHeaders();
      }
      writer = new EventStreamResponse(res) as unknown as ServerResponse;
      let progress = 0;
      const tell = () => {
        const note = { jsonrpc: "2.0", method: "notifications/progress", params: { progressToken: token, progress: ++progress, message: `Waiting for a person to approve ${approval.id} (until ${approval.expiresAt})` } };
        res.write(`event: message\ndata: ${JSON.stringify(note)}\n\n`);
      };
      tell();
      ticker = setInterval(tell, deps.holdProgressMs ?? 10_000);
    }
    try {
      const decided = await deps.approvals!.waitForDecision(approval.id, Date.parse(approval.expiresAt), abort.signal);
      return { gone: abort.signal.aborted, ...(writer ? { writer } : {}), ...(decided ? { approval: decided } : {}) };
    } finally {
      clearInterval(ticker);
      res.off("close", onClose);
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

  return {
    async handle(req, res, serverName) {
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
      const grant = authenticate(req, res, serverName);
      if (!grant) return;
      const target = deps.view.server(serverName);
      if (!target) {
        reject(res, 404, `Server "${serverName}" does not exist`);
        return;
      }
      // Only POSTs count as in-flight calls: GET streams are long-lived and end when the server closes.
      const counted = req.method === "POST";
      if (counted) inFlight++;
      const started = clock();
      const startedHr = process.hrtime.bigint();
      try {
        const owner = target.transport.type === "stdio" ? stdioSessionOwner(req.headers["mcp-session-id"]) : undefined;
        if (owner !== undefined && owner !== replica.id && req.headers[FORWARDED_HEADER] === undefined) {
          await toOwner(req, res, owner);
          return;
        }
        if (req.method === "POST") await handlePost(req, res, grant, target, started);
        else if (req.method === "GET") await upstreamFor(target).get(req, res);
        else if (req.method === "DELETE") await upstreamFor(target).delete(req, res);
        else reject(res, 405, `Method ${req.method} is not allowed; use POST, GET or DELETE`, { allow: "POST, GET, DELETE" });
      } catch (error) {
        deps.log.error({ err: error, server: serverName }, "proxy request failed");
        if (!res.headersSent) reject(res, 500, "Internal gateway error");
        else res.destroy();
      } finally {
        if (counted) {
          deps.metrics.latency("POST", Number(process.hrtime.bigint() - startedHr) / 1e9);
          inFlight--;
          if (closing && inFlight === 0) drained?.();
        }
      }
    },

    async close() {
      closing = true;
      if (inFlight > 0) {
        await new Promise<void>((resolve) => {
          drained = resolve;
          setTimeout(() => {
            deps.log.warn({ inFlight }, "drain deadline reached; cutting off the calls still in flight");
            resolve();
          }, deps.drainMs ?? 10_000).unref();
        });
      }
      await Promise.all([...upstreams.values()].map((u) => u.upstream.close()));
      await dispatcher.destroy();
    },

    inFlight: () => inFlight,
    stdioProcesses: () => stdioLimit.active,
  };
}
