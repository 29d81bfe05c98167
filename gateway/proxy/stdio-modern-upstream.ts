import { createInterface } from "node:readline";
import type { Logger } from "pino";
import { accepts } from "../http/media-type.ts";
import { CLIENT_CAPABILITIES_KEY, LEGACY_VERSIONS, MODERN_ERROR, MODERN_VERSION, PROTOCOL_VERSION_KEY, type Era } from "./era.ts";
import { describeFailure } from "./http-upstream.ts";
import { ERROR, errorMessage, idKey, isRequest, isResponse, tryParse, upstreamErrorMessage, type JsonRpcId, type JsonRpcMessage } from "./jsonrpc.ts";
import { sseEvent } from "./sse.ts";
import { spawnServer, type StdioProcess } from "./stdio-process.ts";
import { drainStderr, startCounted, type StdioLimits, type StdioTarget } from "./stdio-upstream.ts";
import type { Exchange, PostOutcome, SessionRequest, Upstream, UpstreamContext, UpstreamFailure } from "./upstream.ts";

export interface ModernStdioOptions {
  /** Processes alive now across all stdio servers (this pool's count in `active`), and per-grant caps. */
  limits: StdioLimits;
  /** A process with nothing in flight for this long is stopped. */
  idleMs: number;
  /** Children never start inside it (it holds the secret key and the database). */
  dataDir: string | undefined;
  log: Logger;
  /** Requests one process serves at once before another is started (default 16). */
  maxPerProcess?: number;
}

export interface ModernStdioUpstream extends Upstream {
  /** Whether this server speaks 2026-07-28: probed once per server version with server/discover on a throw-away process (timeout 5 s ⇒ legacy). */
  era(): Promise<Era>;
}

/** A silent server is a 2025 one (basic/transports/stdio: "any other error or silence ⇒ legacy"). */
const PROBE_TIMEOUT_MS = 5000;
const PROBE_ID = "toolgate-era-probe";
const SUBSCRIPTION_ID_KEY = "io.modelcontextprotocol/subscriptionId";

/** One agent request in flight on a process, under the gateway id it was written with. */
interface Pending {
  x: Exchange;
  agentId: JsonRpcId;
  gatewayId: number;
  proc: PoolProcess;
  /** The agent's `_meta.progressToken`; upstream it is the gateway id. */
  progressToken: unknown;
  /** A `subscriptions/listen`: long-lived, no timeouts, tagged with the listen's id. */
  listen: boolean;
  /** "json" until a message for this request must be streamed; then the response is an event stream. */
  streaming: boolean;
  done: (outcome: PostOutcome) => void;
  idle: NodeJS.Timeout | undefined;
  total: NodeJS.Timeout | undefined;
}

interface PoolProcess {
  proc: StdioProcess;
  /** Its pool's key: the grant's token when the server is stateful, else "" (the one shared pool). */
  key: string;
  /** Stops watching its grant (stateful servers: the process is stopped once the grant is revoked, rotated or expired). */
  unwatch: (() => void) | undefined;
  /** By gateway id (also the upstream progress token and subscription id of that request). */
  pending: Map<number, Pending>;
  nextId: number;
  idle: NodeJS.Timeout | undefined;
  /** Stopped on purpose (idle, close): its end is not a crash. */
  stopping: boolean;
  ended: boolean;
}

/**
 * A 2026-07-28 stdio upstream: no sessions, a small pool of processes per server shared by every grant, or, when
 * `transport.stateful` says the server keeps state between one client's requests, a pool per grant. Each
 * process serves up to `maxPerProcess` requests at once, multiplexed on its pipe under gateway ids; answers,
 * progress (by progress token) and subscription messages (by subscription id) are mapped back to the request
 * that asked, and anything that maps to no request is dropped, so nothing of one grant reaches another.
 *
 * Caps (the same in both modes): processes count in `limits.active` against `limits.max`; a grant may have at most
 * `limits.maxPerGrant * maxPerProcess` requests (listens included) in flight on this server at once.
 * Nothing is written to a process before `era()` said "2026" (a 2025 server may run a 2026 tools/call). The
 * verdict is kept for the life of this upstream, which the relay makes once per `target.version`; the probe's
 * process counts in `limits.active` but is never refused (one per server version). `notifications/message`
 * carries no request id or token on stdio, so on a shared pipe it cannot be attributed and is dropped.
 */
export function createModernStdioUpstream(target: StdioTarget, options: ModernStdioOptions, ctx: UpstreamContext): ModernStdioUpstream {
  const maxPerProcess = options.maxPerProcess ?? 16;
  if (!Number.isInteger(maxPerProcess) || maxPerProcess < 1) throw new Error(`options.maxPerProcess must be a positive integer (got ${maxPerProcess})`);
  const { limits, log } = options;
  /** Pools by grant token when the server is stateful (a rotated token starts afresh), else one shared pool under "". */
  const pools = new Map<string, PoolProcess[]>();
  const poolKey = (x: Exchange) => (target.transport.stateful ? `${x.grant}\n${x.tokenHash}` : "");
  const perGrant = new Map<string, number>();
  let verdict: Promise<Era> | undefined;
  let probing: StdioProcess | undefined;

  function era(): Promise<Era> {
    verdict ??= probe();
    return verdict;
  }

  /** Sends server/discover to a process started for that alone, then stops it. It counts in `limits.active` while alive. */
  function probe(): Promise<Era> {
    let proc: StdioProcess;
    try {
      proc = spawnServer(target.transport, options.dataDir);
    } catch (error) {
      log.warn({ server: target.name, why: (error as Error).message }, "stdio server cannot start for its era probe; treated as 2025");
      return Promise.resolve("2025");
    }
    probing = proc;
    limits.active++;
    return new Promise<Era>((resolve) => {
      let settled = false;
      const settle = (era: Era, why: string) => {
        if (settled) return;
        settled = true;
        clearTimeout(timer);
        log.info({ server: target.name, era, why }, "stdio server era probed");
        resolve(era);
        void proc.stop();
      };
      const timer = setTimeout(() => settle("2025", `no answer to server/discover within ${PROBE_TIMEOUT_MS} ms`), PROBE_TIMEOUT_MS);
      proc.onExit((why) => {
        limits.active--;
        if (probing === proc) probing = undefined;
        settle("2025", `the process ${why} before answering server/discover`);
      });
      drainStderr(proc, target.name, log);
      createInterface({ input: proc.child.stdout, crlfDelay: Infinity }).on("line", (line) => {
        const m = tryParse(line);
        if (!m || !isResponse(m) || m.id !== PROBE_ID) return;
        settle(speaksModern(m) ? "2026" : "2025", m.error === undefined ? "server/discover answered" : "server/discover failed");
      });
      proc.child.stdin.write(JSON.stringify(discoverRequest()) + "\n");
    });
  }

  /** The first process with room in the request's pool (so that extra processes go idle and stop), else a new one; a string says why not. */
  function processFor(x: Exchange): PoolProcess | string {
    const key = poolKey(x);
    const pool = pools.get(key) ?? [];
    const free = pool.find((p) => !p.ended && p.pending.size < maxPerProcess);
    if (free) return free;
    if (limits.active >= limits.max) return `Too many stdio processes on this gateway (limit ${limits.max}, --max-stdio-processes); try again shortly or raise the limit`;
    const proc = startCounted(target, limits, options.dataDir, log);
    if (typeof proc === "string") return proc;
    const p: PoolProcess = { proc, key, unwatch: undefined, pending: new Map(), nextId: 1, idle: undefined, stopping: false, ended: false };
    pool.push(p);
    pools.set(key, pool);
    // Its state belongs to this grant: nobody else may reach it once the grant is gone, so it need not linger until idle.
    if (key) p.unwatch = ctx.watch.hold({ grant: x.grant, tokenHash: x.tokenHash, close: () => void stopProcess(p) });
    createInterface({ input: proc.child.stdout, crlfDelay: Infinity }).on("line", (line) => onLine(p, line));
    proc.onExit((why) => ended(p, why));
    return p;
  }

  function ended(p: PoolProcess, why: string): void {
    p.ended = true;
    clearTimeout(p.idle);
    p.unwatch?.();
    const pool = pools.get(p.key)!;
    pool.splice(pool.indexOf(p), 1);
    if (pool.length === 0) pools.delete(p.key);
    if (!p.stopping) {
      ctx.onError("crash");
      log.warn({ server: target.name, why }, "stdio upstream ended");
    }
    for (const pend of [...p.pending.values()]) {
      finish(pend, upstreamErrorMessage(pend.agentId, "2026", describeFailure(target, "crash", why), "crash"), { status: 200, failure: "crash", written: true });
    }
  }

  function stopProcess(p: PoolProcess): Promise<void> {
    p.stopping = true;
    return p.proc.stop();
  }

  /** A process with nothing in flight stops after `idleMs`. */
  function idleCheck(p: PoolProcess): void {
    clearTimeout(p.idle);
    if (p.ended || p.pending.size > 0) return;
    p.idle = setTimeout(() => {
      if (p.pending.size === 0) void stopProcess(p);
    }, options.idleMs);
    p.idle.unref();
  }

  function send(p: PoolProcess, message: unknown): void {
    if (!p.ended) p.proc.child.stdin.write(JSON.stringify(message) + "\n");
  }

  function cancelUpstream(pend: Pending, reason: string): void {
    send(pend.proc, { jsonrpc: "2.0", method: "notifications/cancelled", params: { requestId: pend.gatewayId, reason } });
  }

  function onLine(p: PoolProcess, line: string): void {
    if (!line.trim()) return;
    const m = tryParse(line);
    if (!m) {
      log.debug({ server: target.name }, "upstream wrote a non-JSON line");
      return;
    }
    if (m.method === "notifications/tools/list_changed") ctx.onToolsChanged();
    if (isResponse(m)) {
      const pend = typeof m.id === "number" ? p.pending.get(m.id) : undefined;
      // An answer nobody waits for any more (the agent went away, or it was never asked): dropped.
      if (!pend) return;
      const mapped: JsonRpcMessage = { ...m, id: pend.agentId };
      if (pend.listen && m.result) mapped.result = { ...m.result, _meta: retag(m.result._meta, pend) };
      const answer = pend.x.rewrite?.(mapped) ?? mapped;
      finish(pend, JSON.stringify(answer), { status: 200, response: answer, written: true });
      return;
    }
    if (isRequest(m)) {
      // 2026 servers never send requests (MRTR replaced them); there is no agent to ask.
      log.debug({ server: target.name, method: m.method }, "stdio upstream sent a request; dropped");
      return;
    }
    const routed = m.method === undefined ? undefined : route(p, m);
    if (!routed) return;
    if (routed.ends) finish(routed.pend, JSON.stringify(routed.message), { status: 200, written: true });
    else streamTo(routed.pend, JSON.stringify(routed.message));
  }

  /** The request a notification belongs to, with the notification mapped back to that agent's ids; undefined drops it. */
  function route(p: PoolProcess, m: JsonRpcMessage): { pend: Pending; message: JsonRpcMessage; ends: boolean } | undefined {
    const params = m.params ?? {};
    if (m.method === "notifications/progress") {
      const pend = typeof params.progressToken === "number" ? p.pending.get(params.progressToken) : undefined;
      if (!pend || pend.progressToken === undefined) return undefined;
      return { pend, message: { ...m, params: { ...params, progressToken: pend.progressToken } }, ends: false };
    }
    if (m.method === "notifications/cancelled") {
      // Servers send it only to end a subscriptions/listen.
      const pend = typeof params.requestId === "number" ? p.pending.get(params.requestId) : undefined;
      if (!pend?.listen) return undefined;
      return { pend, message: { ...m, params: { ...params, requestId: pend.agentId } }, ends: true };
    }
    const tag = (params._meta as Record<string, unknown> | undefined)?.[SUBSCRIPTION_ID_KEY];
    const pend = typeof tag === "number" ? p.pending.get(tag) : undefined;
    if (!pend?.listen) return undefined;
    return { pend, message: { ...m, params: { ...params, _meta: retag(params._meta, pend) } }, ends: false };
  }

  /** `_meta` with the subscription id tag (the listen's gateway id) put back to the agent's listen id. */
  function retag<T>(meta: T, pend: Pending): T {
    if (meta === null || typeof meta !== "object" || !(SUBSCRIPTION_ID_KEY in meta)) return meta;
    return { ...meta, [SUBSCRIPTION_ID_KEY]: pend.agentId };
  }

  function streamTo(pend: Pending, data: string): void {
    openStream(pend);
    pend.x.res.write(sseEvent(data));
    pend.idle?.refresh();
  }

  function openStream(pend: Pending): void {
    if (pend.streaming) return;
    pend.streaming = true;
    if (!pend.x.res.headersSent) {
      pend.x.res.writeHead(200, { "content-type": "text/event-stream", "cache-control": "no-cache, no-transform", "x-accel-buffering": "no" });
      pend.x.res.flushHeaders();
    }
  }

  /** Takes a request off its process and the grant's count. */
  function release(pend: Pending): void {
    clearTimeout(pend.idle);
    clearTimeout(pend.total);
    pend.proc.pending.delete(pend.gatewayId);
    const held = (perGrant.get(pend.x.grant) ?? 1) - 1;
    if (held > 0) perGrant.set(pend.x.grant, held);
    else perGrant.delete(pend.x.grant);
    idleCheck(pend.proc);
  }

  function finish(pend: Pending, data: string, outcome: PostOutcome): void {
    release(pend);
    const res = pend.x.res;
    if (!res.writableEnded && !res.destroyed) {
      if (pend.streaming) res.end(sseEvent(data));
      else res.writeHead(200, { "content-type": "application/json", "content-length": Buffer.byteLength(data) }).end(data);
    }
    pend.done(outcome);
  }

  /** An agent's notifications/cancelled names its own id: it goes to the one request of this grant in flight under it. */
  function forwardCancel(x: Exchange): boolean {
    const requestId = x.message.params?.requestId;
    if (typeof requestId !== "string" && typeof requestId !== "number") return false;
    const matches = (pools.get(poolKey(x)) ?? []).flatMap((p) => [...p.pending.values()]).filter((pend) => pend.x.grant === x.grant && idKey(pend.agentId) === idKey(requestId));
    // Two of the grant's clients may use the same id at once (each POST stands alone); then it is ambiguous and dropped.
    if (matches.length !== 1) return false;
    cancelUpstream(matches[0]!, typeof x.message.params?.reason === "string" ? x.message.params.reason : "Cancelled by the client");
    return true;
  }

  function busy(x: Exchange, why: string): PostOutcome {
    x.res.writeHead(503, { "content-type": "application/json", "retry-after": "5" }).end(upstreamErrorMessage(x.id, "2026", why, "busy"));
    return { status: null, failure: "busy", written: false };
  }

  return {
    era,

    async post(x) {
      if (x.era !== "2026") {
        x.res.writeHead(400, { "content-type": "application/json" }).end(errorMessage(x.id, ERROR.invalidRequest, "Invalid request: this upstream relays only 2026-07-28 requests"));
        return { status: null, written: false };
      }
      if ((await era()) !== "2026") {
        const text = `Unsupported protocol version: upstream server "${target.name}" speaks only ${LEGACY_VERSIONS.join(", ")}`;
        x.res.writeHead(400, { "content-type": "application/json" }).end(errorMessage(x.id, MODERN_ERROR.unsupportedVersion, text, { supported: [...LEGACY_VERSIONS], requested: MODERN_VERSION }));
        return { status: null, written: false };
      }
      if (x.kind !== "request") {
        // The 2026 core defines no other client→server notification: nothing else goes on a pipe other grants share.
        const written = x.message.method === "notifications/cancelled" && forwardCancel(x);
        x.res.writeHead(202).end();
        return { status: 202, written };
      }
      if (x.res.destroyed) return { status: null, failure: "closed", written: false };
      const held = perGrant.get(x.grant) ?? 0;
      const grantCap = limits.maxPerGrant * maxPerProcess;
      if (held >= grantCap) return busy(x, `Too many requests in flight for grant "${x.grant}" on server "${target.name}" (limit ${grantCap}: --max-stdio-per-grant x ${maxPerProcess} per process); try again shortly`);
      const p = processFor(x);
      if (typeof p === "string") return busy(x, p);
      const agentId = x.id!;
      const gatewayId = p.nextId++;
      const meta = x.message.params?._meta;
      const progressToken = meta?.progressToken;
      const upstreamMessage: JsonRpcMessage = {
        ...x.message,
        id: gatewayId,
        ...(progressToken !== undefined ? { params: { ...x.message.params, _meta: { ...meta, progressToken: gatewayId } } } : {}),
      };
      const listen = x.message.method === "subscriptions/listen";
      perGrant.set(x.grant, held + 1);
      clearTimeout(p.idle);
      return new Promise<PostOutcome>((resolve) => {
        const timeout = (why: string) => () => {
          ctx.onError("timeout");
          cancelUpstream(pend, why);
          finish(pend, upstreamErrorMessage(agentId, "2026", `Upstream server "${target.name}" ${why}`, "timeout"), { status: 200, failure: "timeout" satisfies UpstreamFailure, written: true });
        };
        const pend: Pending = { x, agentId, gatewayId, proc: p, progressToken, listen, streaming: false, done: resolve, idle: undefined, total: undefined };
        if (!listen) {
          pend.idle = setTimeout(timeout(`sent nothing for ${target.timeoutMs} ms (timeoutMs)`), target.timeoutMs);
          if (target.totalTimeoutMs) pend.total = setTimeout(timeout(`did not finish within ${target.totalTimeoutMs} ms (totalTimeoutMs)`), target.totalTimeoutMs);
        }
        p.pending.set(gatewayId, pend);
        if (listen || !accepts(x.req.headers.accept, "application/json")) openStream(pend);
        x.res.once("close", () => {
          if (p.pending.get(gatewayId) !== pend) return;
          // The agent went away: the request was written, so it counts; the process is told to stop working on it.
          release(pend);
          cancelUpstream(pend, "The client went away");
          resolve({ status: 200, failure: "closed", written: true });
        });
        send(p, upstreamMessage);
      });
    },

    async get(r: SessionRequest) {
      refuseMethod(r);
    },

    async delete(r: SessionRequest) {
      refuseMethod(r);
    },

    async close() {
      await Promise.all([...[...pools.values()].flat().map(stopProcess), ...(probing ? [probing.stop()] : [])]);
    },
  };
}

/** 2026-07-28 has no GET streams and no sessions to delete. */
function refuseMethod(r: SessionRequest): void {
  r.res.writeHead(405, { "content-type": "application/json", allow: "POST" }).end(errorMessage(null, -32000, "Method not allowed."));
}

function discoverRequest() {
  return {
    jsonrpc: "2.0",
    id: PROBE_ID,
    method: "server/discover",
    params: { _meta: { [PROTOCOL_VERSION_KEY]: MODERN_VERSION, [CLIENT_CAPABILITIES_KEY]: {}, "io.modelcontextprotocol/clientInfo": { name: "toolgate", version: "1.0.0" } } },
  };
}

/** Modern evidence (basic/versioning): a discover result listing 2026-07-28, or -32022 naming it as supported. */
function speaksModern(m: JsonRpcMessage): boolean {
  const listed = (versions: unknown) => Array.isArray(versions) && versions.includes(MODERN_VERSION);
  if (m.result) return listed(m.result.supportedVersions);
  const error = m.error as { code?: unknown; data?: { supported?: unknown } } | undefined;
  return error?.code === MODERN_ERROR.unsupportedVersion && listed(error.data?.supported);
}
