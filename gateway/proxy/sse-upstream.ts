import { randomBytes } from "node:crypto";
import type { ServerResponse } from "node:http";
import type { Logger } from "pino";
import { errors as undiciErrors, type Dispatcher } from "undici";
import type { ServerTarget } from "../contracts.ts";
import { accepts, mediaType } from "../http/media-type.ts";
import { describeFailure } from "./http-upstream.ts";
import { ERROR, errorMessage, idKey, isRequest, isResponse, tryParse, upstreamErrorMessage, type JsonRpcId, type JsonRpcMessage } from "./jsonrpc.ts";
import { SseSplitter, sseEvent } from "./sse.ts";
import { STDIO_SESSION_PREFIX } from "./stdio-upstream.ts";
import type { Exchange, PostOutcome, SessionRequest, Upstream, UpstreamContext, UpstreamFailure } from "./upstream.ts";

export type SseTarget = ServerTarget & { transport: { type: "sse" } };

export interface SseOptions {
  /** Goes into every session id (the stdio scheme, `tgs_<replica>.<random>`), so other replicas forward to it. */
  replicaId: string;
  /** How long a session without requests keeps its upstream connection. */
  idleMs: number;
  /** Sessions (upstream connections) one grant may hold on this server at once. */
  maxPerGrant: number;
  dispatcher: Dispatcher;
  log: Logger;
}

/** A request waiting for its answer on the server's event stream; plain JSON unless something streams first. */
interface Pending {
  x: Exchange;
  id: JsonRpcId;
  progressToken: unknown;
  streaming: boolean;
  done: (outcome: PostOutcome) => void;
  idle: NodeJS.Timeout;
  total: NodeJS.Timeout | undefined;
}

interface Session {
  id: string;
  grant: string;
  /** Where messages are POSTed (the server's `endpoint` event), once it came. */
  endpoint: { origin: string; path: string } | undefined;
  /** Ends the upstream GET, and with it the upstream session. */
  abort: AbortController;
  pending: Map<string, Pending>;
  /** Requests the server made that went to the agent: only answers to these go back to the server. */
  askedAgent: Set<string>;
  stream: ServerResponse | undefined;
  backlog: string[];
  idle: NodeJS.Timeout | undefined;
  ended: boolean;
  release: () => void;
}

type Opened = Session | { kind: UpstreamFailure; detail: string | undefined };

/**
 * A legacy HTTP+SSE upstream (MCP 2024-11-05, deprecated by the spec), relayed to Streamable HTTP agents. Each
 * agent session is one upstream connection: `initialize` opens `GET <url>`, the server's `endpoint` event says
 * where to POST, and every answer and server message arrives on that stream. The gateway issues the session id
 * (the stdio scheme, so replicas forward by its prefix) and binds it to the grant. Answers go back on the POST that
 * asked; messages the server starts go on the agent's GET stream, or the most recent open request, or wait in a
 * bounded backlog. The connection is closed on DELETE, idle, revocation and shutdown.
 */
export function createSseUpstream(target: SseTarget, options: SseOptions, ctx: UpstreamContext): Upstream {
  if (!Number.isInteger(options.maxPerGrant) || options.maxPerGrant < 1) throw new Error(`options.maxPerGrant must be a positive integer, got ${options.maxPerGrant}`);
  if (!(options.idleMs > 0)) throw new Error(`options.idleMs must be a positive number of milliseconds, got ${options.idleMs}`);
  const url = new URL(target.transport.url);
  const configured = Object.fromEntries(Object.entries(target.transport.headers).map(([k, v]) => [k.toLowerCase(), v]));
  const { dispatcher, log } = options;
  const sessions = new Map<string, Session>();
  const perGrant = new Map<string, number>();
  let inFlight = 0;

  async function open(x: Exchange): Promise<Opened> {
    const held = perGrant.get(x.grant) ?? 0;
    if (held >= options.maxPerGrant) return { kind: "busy", detail: `Too many sessions for grant "${x.grant}" on server "${target.name}" (limit ${options.maxPerGrant}); end a session (DELETE) first` };
    perGrant.set(x.grant, held + 1);
    const id = `${STDIO_SESSION_PREFIX}${options.replicaId}.${randomBytes(18).toString("base64url")}`;
    const session: Session = { id, grant: x.grant, endpoint: undefined, abort: new AbortController(), pending: new Map(), askedAgent: new Set(), stream: undefined, backlog: [], idle: undefined, ended: false, release: () => {} };
    sessions.set(id, session);
    session.release = ctx.watch.hold({ grant: x.grant, tokenHash: x.tokenHash, close: () => end(session) });
    let response: Dispatcher.ResponseData;
    try {
      response = await dispatcher.request({
        origin: url.origin,
        path: url.pathname + url.search,
        method: "GET",
        headers: { ...configured, accept: "text/event-stream" },
        signal: session.abort.signal,
        headersTimeout: target.timeoutMs,
        bodyTimeout: 0,
      });
    } catch (error) {
      end(session);
      return { kind: failureOf(error), detail: connectDetail(error) };
    }
    const type = mediaType(response.headers["content-type"] as string | undefined);
    if (response.statusCode !== 200 || type !== "text/event-stream") {
      end(session);
      await response.body.dump().catch(() => {});
      return response.statusCode !== 200 ? { kind: "status", detail: `HTTP ${response.statusCode} to the event stream request` } : { kind: "protocol", detail: `answered the event stream request with content type "${type || "none"}"` };
    }
    const endpoint = new Promise<string | undefined>((resolve) => {
      const timer = setTimeout(() => resolve(`sent no endpoint event within ${target.timeoutMs} ms (timeoutMs)`), target.timeoutMs);
      const splitter = new SseSplitter((event) => {
        const data = event.data();
        if (data === undefined) return undefined;
        const name = eventName(event.raw);
        if (name === "endpoint" && session.endpoint === undefined) {
          clearTimeout(timer);
          resolve(setEndpoint(session, data));
        } else if (name === "message") onMessage(session, data);
        return undefined;
      });
      void (async () => {
        let why = "ended its event stream";
        try {
          for await (const chunk of response.body) splitter.push(chunk as Buffer);
        } catch {
          why = "dropped its event stream";
        }
        clearTimeout(timer);
        resolve(why);
        if (session.endpoint !== undefined && !session.ended) {
          ctx.onError("closed");
          log.warn({ server: target.name, why }, "sse upstream session ended");
          end(session, `Upstream server "${target.name}" ${why}; start a new session`);
        }
      })();
    });
    const refused = await endpoint;
    if (refused !== undefined) {
      end(session);
      return { kind: "protocol", detail: refused };
    }
    return session;
  }

  /** Takes the server's endpoint: same origin as `url` only, so the configured headers never go elsewhere. */
  function setEndpoint(session: Session, data: string): string | undefined {
    const at = URL.canParse(data.trim(), url.href) ? new URL(data.trim(), url) : undefined;
    if (!at) return "sent an endpoint event that is not a URL";
    if (at.origin !== url.origin) return `sent an endpoint on another origin (${at.origin}); it must be ${url.origin}`;
    session.endpoint = { origin: at.origin, path: at.pathname + at.search };
    return undefined;
  }

  /**
   * Ends a session and closes its upstream connection; calls still waiting get `failure` as their answer (by
   * default the gateway ended it on purpose: DELETE, idle, revocation, shutdown).
   */
  function end(session: Session, failure = `Upstream server "${target.name}" session was closed by the gateway`): void {
    if (session.ended) return;
    session.ended = true;
    sessions.delete(session.id);
    const held = (perGrant.get(session.grant) ?? 1) - 1;
    if (held > 0) perGrant.set(session.grant, held);
    else perGrant.delete(session.grant);
    session.release();
    clearTimeout(session.idle);
    session.abort.abort();
    for (const p of session.pending.values()) finish(session, p, upstreamErrorMessage(p.id, p.x.era, failure, "closed"), { status: 200, failure: "closed", written: true });
    session.stream?.end();
  }

  function touch(session: Session): void {
    clearTimeout(session.idle);
    session.idle = setTimeout(() => {
      if (session.pending.size === 0) end(session);
      else touch(session);
    }, options.idleMs);
    session.idle.unref();
  }

  /** POSTs one message to the session's endpoint; resolves with the HTTP status, or rejects as undici does. */
  async function send(session: Session, body: string | Buffer): Promise<number> {
    const response = await dispatcher.request({
      origin: session.endpoint!.origin,
      path: session.endpoint!.path,
      method: "POST",
      headers: { ...configured, "content-type": "application/json" },
      body,
      headersTimeout: target.timeoutMs,
      bodyTimeout: target.timeoutMs,
    });
    await response.body.dump();
    return response.statusCode;
  }

  /** For messages the gateway itself sends (cancellations, roots answers): nobody waits for how they went. */
  function notify(session: Session, message: unknown): void {
    if (!session.ended) send(session, JSON.stringify(message)).catch(() => {});
  }

  function onMessage(session: Session, data: string): void {
    const message = tryParse(data);
    if (!message) {
      log.debug({ server: target.name }, "sse upstream sent a message event that is not JSON");
      return;
    }
    if (message.method === "notifications/tools/list_changed") ctx.onToolsChanged();
    if (isResponse(message)) {
      const p = session.pending.get(idKey(message.id as JsonRpcId));
      if (p) {
        const replaced = p.x.rewrite?.(message);
        finish(session, p, replaced ? JSON.stringify(replaced) : data, { status: 200, response: replaced ?? message, written: true });
      }
      // An answer nobody waits for any more (the agent went away): dropped.
      return;
    }
    if (isRequest(message) && message.method === "roots/list") {
      const answer = ctx.roots(session.grant);
      if (answer.kind !== "client") {
        notify(session, { jsonrpc: "2.0", id: message.id, result: { roots: answer.kind === "pinned" ? answer.roots : [] } });
        return;
      }
    }
    if (isRequest(message)) session.askedAgent.add(idKey(message.id as JsonRpcId));
    deliver(session, message, data);
  }

  /** Routes a message the server started to the right open stream. */
  function deliver(session: Session, message: JsonRpcMessage, data: string): void {
    const token = message.method === "notifications/progress" ? message.params?.progressToken : undefined;
    let chosen: Pending | undefined;
    if (token !== undefined) for (const p of session.pending.values()) if (p.progressToken === token) chosen = p;
    if (chosen) {
      streamTo(chosen, data);
      return;
    }
    if (session.stream && !session.stream.writableEnded) {
      session.stream.write(sseEvent(data));
      return;
    }
    const latest = [...session.pending.values()].at(-1);
    if (latest) streamTo(latest, data);
    else if (session.backlog.length < 1000) session.backlog.push(data);
  }

  function streamTo(p: Pending, data: string): void {
    openStream(p);
    p.x.res.write(sseEvent(data));
    p.idle.refresh();
  }

  function openStream(p: Pending): void {
    if (p.streaming) return;
    p.streaming = true;
    if (!p.x.res.headersSent) {
      p.x.res.writeHead(200, { "content-type": "text/event-stream", "cache-control": "no-cache", "mcp-session-id": sessionHeader(p) });
      p.x.res.flushHeaders();
    }
  }

  function sessionHeader(p: Pending): string {
    return String(p.x.res.getHeader("mcp-session-id") ?? "");
  }

  function finish(session: Session, p: Pending, data: string, outcome: PostOutcome): void {
    clearTimeout(p.idle);
    clearTimeout(p.total);
    session.pending.delete(idKey(p.id));
    const res = p.x.res;
    if (!res.writableEnded && !res.destroyed) {
      if (p.streaming) res.end(sseEvent(data));
      else res.writeHead(200, { "content-type": "application/json", "content-length": Buffer.byteLength(data), "mcp-session-id": sessionHeader(p) }).end(data);
    }
    p.done(outcome);
  }

  function lookup(sessionId: string | string[] | undefined, grant: string): Session | undefined {
    const session = typeof sessionId === "string" ? sessions.get(sessionId) : undefined;
    return session && session.grant === grant && !session.ended && session.endpoint ? session : undefined;
  }

  function refuse(res: ServerResponse, status: number, id: JsonRpcId | undefined, message: string): void {
    res.writeHead(status, { "content-type": "application/json" }).end(errorMessage(id, ERROR.invalidRequest, message));
  }

  const notFound = "Session not found (it ended or the gateway restarted); start a new session";

  /** Sends an agent request and waits for its answer on the server's stream. */
  function request(s: Session, x: Exchange): Promise<PostOutcome> {
    const id = x.id!;
    const key = idKey(id);
    return new Promise<PostOutcome>((resolve) => {
      const fail = (kind: UpstreamFailure, text: string, written: boolean, cancel: boolean) => {
        if (s.pending.get(key) !== pending) return;
        ctx.onError(kind);
        if (cancel) notify(s, { jsonrpc: "2.0", method: "notifications/cancelled", params: { requestId: id, reason: text } });
        finish(s, pending, upstreamErrorMessage(id, x.era, text, kind), { status: 200, failure: kind, written });
      };
      const timeout = (why: string) => () => fail("timeout", `Upstream server "${target.name}" ${why}`, true, true);
      const pending: Pending = {
        x,
        id,
        progressToken: x.message.params?._meta?.progressToken,
        streaming: false,
        done: resolve,
        idle: setTimeout(timeout(`sent nothing for ${target.timeoutMs} ms (timeoutMs)`), target.timeoutMs),
        total: target.totalTimeoutMs ? setTimeout(timeout(`did not finish within ${target.totalTimeoutMs} ms (totalTimeoutMs)`), target.totalTimeoutMs) : undefined,
      };
      s.pending.set(key, pending);
      if (!accepts(x.req.headers.accept, "application/json")) openStream(pending);
      x.res.once("close", () => {
        if (s.pending.get(key) !== pending) return;
        // The agent went away: the call was written, so it counts; the server is told to stop working on it.
        clearTimeout(pending.idle);
        clearTimeout(pending.total);
        s.pending.delete(key);
        notify(s, { jsonrpc: "2.0", method: "notifications/cancelled", params: { requestId: id, reason: "The client went away" } });
        resolve({ status: 200, failure: "closed", written: true });
      });
      send(s, x.body).then(
        (status) => {
          if (status < 200 || status >= 300) fail("status", describeFailure(target, "status", `HTTP ${status} to the message POST`), true, false);
        },
        (error: unknown) => {
          const kind = failureOf(error);
          fail(kind, describeFailure(target, kind, connectDetail(error)), !provablyNotSent(error), kind === "timeout");
        },
      );
    });
  }

  return {
    async post(x) {
      const header = x.req.headers["mcp-session-id"];
      if (x.kind === "request" && inFlight >= target.maxInFlight) {
        ctx.onError("busy");
        x.res.writeHead(200, { "content-type": "application/json", "retry-after": "1" }).end(upstreamErrorMessage(x.id, x.era, describeFailure(target, "busy"), "busy"));
        return { status: null, failure: "busy", written: false };
      }
      let session: Session | undefined;
      if (x.message.method === "initialize" && header === undefined) {
        inFlight++;
        const opened = await open(x).finally(() => inFlight--);
        if (!("id" in opened)) {
          if (opened.kind === "busy") {
            x.res.writeHead(503, { "content-type": "application/json", "retry-after": "5" }).end(upstreamErrorMessage(x.id, x.era, opened.detail!, "busy"));
          } else {
            ctx.onError(opened.kind);
            x.res.writeHead(200, { "content-type": "application/json" }).end(upstreamErrorMessage(x.id, x.era, describeFailure(target, opened.kind, opened.detail), opened.kind));
          }
          return { status: null, failure: opened.kind, written: false };
        }
        session = opened;
      } else {
        session = lookup(header, x.grant);
        if (!session) {
          if (header === undefined) refuse(x.res, 400, x.id, "Mcp-Session-Id header is required (send initialize first)");
          else refuse(x.res, 404, x.id, notFound);
          return { status: null, written: false };
        }
      }
      touch(session);
      x.res.setHeader("mcp-session-id", session.id);
      if (x.kind === "response") {
        // Only answers to what the server asked the agent go back to it (never an answer it did not ask for).
        if (!session.askedAgent.delete(idKey(x.message.id as JsonRpcId))) {
          refuse(x.res, 400, undefined, "Invalid request: this response answers no request the server made");
          return { status: null, written: false };
        }
      }
      if (x.kind !== "request") {
        try {
          const status = await send(session, x.body);
          if (status >= 200 && status < 300) x.res.writeHead(202).end();
          else x.res.writeHead(502, { "content-type": "application/json" }).end(errorMessage(null, ERROR.upstream, describeFailure(target, "status", `HTTP ${status} to the message POST`)));
          return { status, written: true };
        } catch (error) {
          const kind = failureOf(error);
          ctx.onError(kind);
          x.res.writeHead(502, { "content-type": "application/json" }).end(errorMessage(null, ERROR.upstream, describeFailure(target, kind, connectDetail(error))));
          return { status: null, failure: kind, written: !provablyNotSent(error) };
        }
      }
      if (session.pending.has(idKey(x.id!))) {
        // Its answer could not be told apart from the other one's.
        refuse(x.res, 400, x.id, "Invalid request: a request with this id is already in flight in this session");
        return { status: null, written: false };
      }
      inFlight++;
      try {
        return await request(session, x);
      } finally {
        inFlight--;
      }
    },

    async get(r: SessionRequest) {
      const session = lookup(r.req.headers["mcp-session-id"], r.grant);
      if (!session) {
        refuse(r.res, 404, undefined, notFound);
        return;
      }
      touch(session);
      if (session.stream && !session.stream.writableEnded) {
        refuse(r.res, 409, undefined, "This session already has an open GET stream");
        return;
      }
      r.res.writeHead(200, { "content-type": "text/event-stream", "cache-control": "no-cache", "mcp-session-id": session.id });
      r.res.flushHeaders();
      session.stream = r.res;
      for (const data of session.backlog.splice(0)) r.res.write(sseEvent(data));
      r.res.once("close", () => {
        if (session.stream === r.res) session.stream = undefined;
      });
    },

    async delete(r: SessionRequest) {
      const session = lookup(r.req.headers["mcp-session-id"], r.grant);
      if (!session) {
        refuse(r.res, 404, undefined, notFound);
        return;
      }
      end(session);
      r.res.writeHead(200).end();
    },

    async close() {
      for (const session of [...sessions.values()]) end(session, `Upstream server "${target.name}" session was closed: the gateway is shutting down`);
    },
  };
}

/** The type of one complete event (its last `event` field; "message" without one), as an EventSource reads it. */
function eventName(raw: Buffer): string {
  let name = "";
  for (const line of raw.toString("utf8").split(/\r\n|\r|\n/)) if (line.startsWith("event:")) name = line.slice(line.startsWith("event: ") ? 7 : 6);
  return name || "message";
}

function failureOf(error: unknown): UpstreamFailure {
  if (error instanceof undiciErrors.HeadersTimeoutError || error instanceof undiciErrors.BodyTimeoutError) return "timeout";
  if (provablyNotSent(error)) return "connect";
  const code = (error as { code?: string }).code;
  return code === "ECONNRESET" || code === "UND_ERR_SOCKET" || code === "EPIPE" ? "closed" : "protocol";
}

/** Errors that prove the request never reached the upstream, so nothing ran there. */
function provablyNotSent(error: unknown): boolean {
  if (error instanceof undiciErrors.ConnectTimeoutError) return true;
  const code = (error as { code?: string }).code;
  return code === "ECONNREFUSED" || code === "ENOTFOUND" || code === "EAI_AGAIN" || code === "EHOSTUNREACH" || code === "ENETUNREACH";
}

function connectDetail(error: unknown): string | undefined {
  const code = (error as { code?: string }).code;
  return provablyNotSent(error) && code ? code : undefined;
}
