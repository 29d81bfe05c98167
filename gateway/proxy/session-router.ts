import { randomBytes } from "node:crypto";
import type { ServerResponse } from "node:http";
import type { Logger } from "pino";
import type { ServerTarget } from "../contracts.ts";
import { accepts } from "../http/media-type.ts";
import { describeFailure } from "./http-upstream.ts";
import { ERROR, errorMessage, idKey, isRequest, isResponse, tryParse, upstreamErrorMessage, type JsonRpcId, type JsonRpcMessage } from "./jsonrpc.ts";
import { sseEvent } from "./sse.ts";
import type { Exchange, PostOutcome, SessionRequest, Upstream, UpstreamContext, UpstreamFailure } from "./upstream.ts";

const SESSION_PREFIX = "tgs_";
const NOT_FOUND = "Session not found (it ended or the gateway restarted); start a new session";

/** The replica that issued a gateway-held session id (`tgs_<replica>.<random>`), or undefined for any other id. */
export function sessionOwner(sessionId: string | string[] | undefined): string | undefined {
  return typeof sessionId === "string" ? /^tgs_([0-9a-f]+)\./.exec(sessionId)?.[1] : undefined;
}

/** A request waiting for the upstream's answer. The answer goes out as plain JSON unless the upstream talks first. */
interface Pending {
  x: Exchange;
  id: JsonRpcId;
  progressToken: unknown;
  /** False until a message for this request must be streamed; then the response is an event stream. */
  streaming: boolean;
  done: (outcome: PostOutcome) => void;
  idle: NodeJS.Timeout;
  total: NodeJS.Timeout | undefined;
}

/** One agent session held by the gateway; `link` is the transport's own part (a process, a connection). */
export interface RoutedSession<Link> {
  id: string;
  grant: string;
  link: Link;
  pending: Map<string, Pending>;
  /** Requests the upstream made that were passed to the agent: only answers to these go back to it. */
  askedAgent: Set<string>;
  stream: ServerResponse | undefined;
  backlog: string[];
  idle: NodeJS.Timeout | undefined;
  ended: boolean;
  release: () => void;
}

/** How a message reached the upstream: taken (with the status to report), or why not. */
export type Written = { status: number } | { status: number | null; failure: UpstreamFailure; detail: string; written: boolean };

/** A new session, or why the upstream could not open one (`detail` goes to the agent). */
export type Opened<Link> = RoutedSession<Link> | { failure: UpstreamFailure; detail: string | undefined };

/** What differs between the transports that hold sessions. */
export interface SessionTransport<Link> {
  /** Starts the upstream side of a session for an `initialize`, registering it with `router.register`. */
  open(x: Exchange): Opened<Link> | Promise<Opened<Link>>;
  /** Sends one message to the session's upstream; never rejects. */
  write(session: RoutedSession<Link>, body: string | Buffer): Promise<Written>;
  /** Ends the session on purpose (DELETE, idle, revocation); resolves once it is gone. */
  stop(session: RoutedSession<Link>): Promise<void>;
  /** Whether the session takes messages (its upstream is up and not being stopped). */
  ready(session: RoutedSession<Link>): boolean;
}

export interface SessionRouter<Link> extends Omit<Upstream, "close"> {
  /** Issues a session id bound to the exchange's grant and keeps the session until `end`. */
  register(x: Exchange, link: Link): RoutedSession<Link>;
  /** A message the upstream sent in this session (`data` is its JSON text). */
  receive(session: RoutedSession<Link>, data: string): void;
  /** Ends a session once: calls still waiting get `text` as their `failure` answer, its GET stream ends. */
  end(session: RoutedSession<Link>, failure: UpstreamFailure, text: string): void;
  sessions(): RoutedSession<Link>[];
}

export interface SessionRouterOptions {
  /** Goes into every session id, so other replicas know where the session lives. */
  replicaId: string;
  /** A session without requests for this long is stopped. */
  idleMs: number;
  log: Logger;
}

/**
 * Request/answer routing for upstreams that hold one session per agent session (stdio, legacy HTTP+SSE). The
 * gateway issues the session id (`tgs_<replica>.<random>`, so replicas forward by it) and binds it to the grant.
 * Answers go back on the POST that asked; messages the upstream starts (sampling, elicitation, logging,
 * list_changed) go on the session's GET stream, or the most recent open request, or wait in a bounded backlog
 * until a stream opens. The upstream's `roots/list` is answered per grant.
 */
export function createSessionRouter<Link>(target: ServerTarget, options: SessionRouterOptions, ctx: UpstreamContext, transport: SessionTransport<Link>): SessionRouter<Link> {
  const sessions = new Map<string, RoutedSession<Link>>();

  function register(x: Exchange, link: Link): RoutedSession<Link> {
    const id = `${SESSION_PREFIX}${options.replicaId}.${randomBytes(18).toString("base64url")}`;
    const session: RoutedSession<Link> = { id, grant: x.grant, link, pending: new Map(), askedAgent: new Set(), stream: undefined, backlog: [], idle: undefined, ended: false, release: () => {} };
    sessions.set(id, session);
    session.release = ctx.watch.hold({ grant: x.grant, tokenHash: x.tokenHash, close: () => void transport.stop(session) });
    return session;
  }

  function end(session: RoutedSession<Link>, failure: UpstreamFailure, text: string): void {
    if (session.ended) return;
    session.ended = true;
    sessions.delete(session.id);
    session.release();
    clearTimeout(session.idle);
    for (const p of session.pending.values()) finish(session, p, upstreamErrorMessage(p.id, p.x.era, text, failure), { status: 200, failure, written: true });
    session.stream?.end();
  }

  function touch(session: RoutedSession<Link>): void {
    clearTimeout(session.idle);
    session.idle = setTimeout(() => {
      if (session.pending.size === 0) void transport.stop(session);
      else touch(session);
    }, options.idleMs);
    session.idle.unref();
  }

  /** For messages the gateway itself sends (cancellations, roots answers): nobody waits for how they went. */
  function notify(session: RoutedSession<Link>, message: unknown): void {
    if (!session.ended) void transport.write(session, JSON.stringify(message));
  }

  function receive(session: RoutedSession<Link>, data: string): void {
    const message = tryParse(data);
    if (!message) {
      options.log.debug({ server: target.name }, "upstream sent a message that is not JSON");
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

  /** Routes a message the upstream started to the right open stream. */
  function deliver(session: RoutedSession<Link>, message: JsonRpcMessage, data: string): void {
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

  function finish(session: RoutedSession<Link>, p: Pending, data: string, outcome: PostOutcome): void {
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

  function lookup(sessionId: string | string[] | undefined, grant: string): RoutedSession<Link> | undefined {
    const session = typeof sessionId === "string" ? sessions.get(sessionId) : undefined;
    return session && session.grant === grant && !session.ended && transport.ready(session) ? session : undefined;
  }

  function refuse(res: ServerResponse, status: number, id: JsonRpcId | undefined, message: string): void {
    res.writeHead(status, { "content-type": "application/json" }).end(errorMessage(id, ERROR.invalidRequest, message));
  }

  /** The session of an `initialize` (a new one) or of any other message (the agent's); undefined once refused. */
  async function sessionFor(x: Exchange): Promise<RoutedSession<Link> | PostOutcome> {
    const header = x.req.headers["mcp-session-id"];
    if (x.message.method === "initialize" && header === undefined) {
      const opened = await transport.open(x);
      if ("id" in opened) return opened;
      if (opened.failure === "busy") {
        x.res.writeHead(503, { "content-type": "application/json", "retry-after": "5" }).end(upstreamErrorMessage(x.id, x.era, opened.detail!, "busy"));
      } else {
        ctx.onError(opened.failure);
        x.res.writeHead(200, { "content-type": "application/json" }).end(upstreamErrorMessage(x.id, x.era, describeFailure(target, opened.failure, opened.detail), opened.failure));
      }
      return { status: null, failure: opened.failure, written: false };
    }
    const session = lookup(header, x.grant);
    if (session) return session;
    if (header === undefined) refuse(x.res, 400, x.id, "Mcp-Session-Id header is required (send initialize first)");
    else refuse(x.res, 404, x.id, NOT_FOUND);
    return { status: null, written: false };
  }

  /** Passes a notification or a response to the upstream; the agent gets 202 once it was taken. */
  async function pass(session: RoutedSession<Link>, x: Exchange): Promise<PostOutcome> {
    const sent = await transport.write(session, x.body);
    if (!("failure" in sent)) {
      x.res.writeHead(202).end();
      return { status: sent.status, written: true };
    }
    x.res.writeHead(502, { "content-type": "application/json" }).end(errorMessage(null, ERROR.upstream, sent.detail));
    if (sent.failure === "status") return { status: sent.status, written: true };
    ctx.onError(sent.failure);
    return { status: null, failure: sent.failure, written: sent.written };
  }

  /** Sends an agent request and waits for its answer from the upstream. */
  function request(s: RoutedSession<Link>, x: Exchange): Promise<PostOutcome> {
    const id = x.id!;
    const key = idKey(id);
    return new Promise<PostOutcome>((resolve) => {
      const fail = (kind: UpstreamFailure, text: string, written: boolean) => {
        if (s.pending.get(key) !== pending) return;
        ctx.onError(kind);
        if (kind === "timeout") notify(s, { jsonrpc: "2.0", method: "notifications/cancelled", params: { requestId: id, reason: text } });
        finish(s, pending, upstreamErrorMessage(id, x.era, text, kind), { status: 200, failure: kind, written });
      };
      const timeout = (why: string) => () => fail("timeout", `Upstream server "${target.name}" ${why}`, true);
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
        // The agent went away: the call was written, so it counts; the upstream is told to stop working on it.
        clearTimeout(pending.idle);
        clearTimeout(pending.total);
        s.pending.delete(key);
        notify(s, { jsonrpc: "2.0", method: "notifications/cancelled", params: { requestId: id, reason: "The client went away" } });
        resolve({ status: 200, failure: "closed", written: true });
      });
      void transport.write(s, x.body).then((sent) => {
        if ("failure" in sent) fail(sent.failure, sent.detail, sent.written);
      });
    });
  }

  return {
    register,
    receive,
    end,
    sessions: () => [...sessions.values()],

    async post(x) {
      const session = await sessionFor(x);
      if (!("id" in session)) return session;
      touch(session);
      x.res.setHeader("mcp-session-id", session.id);
      // Only answers to what the upstream asked the agent go back to it (never an answer it did not ask for).
      if (x.kind === "response" && !session.askedAgent.delete(idKey(x.message.id as JsonRpcId))) {
        refuse(x.res, 400, undefined, "Invalid request: this response answers no request the server made");
        return { status: null, written: false };
      }
      if (x.kind !== "request") return pass(session, x);
      if (session.pending.has(idKey(x.id!))) {
        // Its answer could not be told apart from the other one's.
        refuse(x.res, 400, x.id, "Invalid request: a request with this id is already in flight in this session");
        return { status: null, written: false };
      }
      return request(session, x);
    },

    async get(r: SessionRequest) {
      const session = lookup(r.req.headers["mcp-session-id"], r.grant);
      if (!session) {
        refuse(r.res, 404, undefined, NOT_FOUND);
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
        refuse(r.res, 404, undefined, NOT_FOUND);
        return;
      }
      await transport.stop(session);
      r.res.writeHead(200).end();
    },
  };
}
