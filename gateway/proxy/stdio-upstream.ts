import { randomBytes } from "node:crypto";
import type { ServerResponse } from "node:http";
import { createInterface } from "node:readline";
import type { Logger } from "pino";
import type { ServerTarget } from "../contracts.ts";
import { mediaType } from "../http/media-type.ts";
import { describeFailure } from "./http-upstream.ts";
import { ERROR, errorMessage, idKey, isRequest, isResponse, tryParse, upstreamErrorMessage, type JsonRpcId, type JsonRpcMessage } from "./jsonrpc.ts";
import { sseEvent } from "./sse.ts";
import { spawnServer, type StdioProcess } from "./stdio-process.ts";
import type { Exchange, PostOutcome, SessionRequest, Upstream, UpstreamContext, UpstreamFailure } from "./upstream.ts";

export const STDIO_SESSION_PREFIX = "tgs_";

/** The replica that issued a stdio session id (`tgs_<replica>.<random>`), or undefined for any other id. */
export function stdioSessionOwner(sessionId: string | string[] | undefined): string | undefined {
  return typeof sessionId === "string" ? /^tgs_([0-9a-f]+)\./.exec(sessionId)?.[1] : undefined;
}

export interface StdioLimits {
  /** Processes alive now across all stdio servers, and the most allowed. */
  active: number;
  max: number;
  /** Sessions each grant holds now, and the most one grant may hold. */
  perGrant: Map<string, number>;
  maxPerGrant: number;
}

export interface StdioOptions {
  /** Goes into every session id, so other replicas know where the session lives. */
  replicaId: string;
  limits: StdioLimits;
  idleMs: number;
  /** Children never start inside it (it holds the secret key and the database). */
  dataDir: string | undefined;
  log: Logger;
}

type StdioTarget = ServerTarget & { transport: { type: "stdio" } };

/** A request waiting for the child's answer. The answer goes out as plain JSON unless the child talks first. */
interface Pending {
  x: Exchange;
  id: JsonRpcId;
  progressToken: unknown;
  /** "json" until a message for this request must be streamed; then the response is an event stream. */
  streaming: boolean;
  done: (outcome: PostOutcome) => void;
  idle: NodeJS.Timeout;
  total: NodeJS.Timeout | undefined;
}

interface Session {
  id: string;
  grant: string;
  proc: StdioProcess;
  pending: Map<string, Pending>;
  /** Requests the child made that were passed to the agent: only answers to these go back to the child. */
  askedAgent: Set<string>;
  stream: ServerResponse | undefined;
  backlog: string[];
  idle: NodeJS.Timeout | undefined;
  ended: string | undefined;
  release: () => void;
}

/**
 * A stdio upstream: one child process (group) per MCP session, owned by the grant that started it. The gateway
 * issues the session id (`tgs_<replica>.<random>`). Answers go back on the POST that asked; messages the child
 * starts (sampling, elicitation, logging, list_changed) go on the session's GET stream, or the most recent open
 * request, or wait in a bounded backlog until a stream opens. The child's `roots/list` is answered per grant.
 */
export function createStdioUpstream(target: StdioTarget, options: StdioOptions, ctx: UpstreamContext): Upstream {
  const sessions = new Map<string, Session>();
  const { limits } = options;

  function start(x: Exchange): Session | string {
    if (limits.active >= limits.max) return `Too many stdio sessions on this gateway (limit ${limits.max}, --max-stdio-processes); close idle sessions or raise the limit`;
    const held = limits.perGrant.get(x.grant) ?? 0;
    if (held >= limits.maxPerGrant) return `Too many stdio sessions for grant "${x.grant}" (limit ${limits.maxPerGrant}, --max-stdio-per-grant); end a session (DELETE) first`;
    let proc: StdioProcess;
    try {
      proc = spawnServer(target.transport, options.dataDir);
    } catch (error) {
      return `Upstream server "${target.name}" cannot start: ${(error as Error).message}`;
    }
    limits.active++;
    limits.perGrant.set(x.grant, held + 1);
    const id = `${STDIO_SESSION_PREFIX}${options.replicaId}.${randomBytes(18).toString("base64url")}`;
    const session: Session = { id, grant: x.grant, proc, pending: new Map(), askedAgent: new Set(), stream: undefined, backlog: [], idle: undefined, ended: undefined, release: () => {} };
    session.release = ctx.watch.hold({ grant: x.grant, tokenHash: x.tokenHash, close: () => stop(session) });
    sessions.set(id, session);
    createInterface({ input: proc.child.stdout, crlfDelay: Infinity }).on("line", (line) => onLine(session, line));
    createInterface({ input: proc.child.stderr, crlfDelay: Infinity }).on("line", (line) => options.log.debug({ server: target.name, stderr: line.slice(0, 500) }, "upstream stderr"));
    proc.onExit((why) => end(session, why));
    return session;
  }

  function end(session: Session, why: string): void {
    if (session.ended) return;
    session.ended = why;
    limits.active--;
    const held = (limits.perGrant.get(session.grant) ?? 1) - 1;
    if (held > 0) limits.perGrant.set(session.grant, held);
    else limits.perGrant.delete(session.grant);
    session.release();
    clearTimeout(session.idle);
    const expected = !sessions.has(session.id);
    sessions.delete(session.id);
    if (!expected) {
      ctx.onError("crash");
      options.log.warn({ server: target.name, why }, "stdio upstream ended");
    }
    for (const p of session.pending.values()) finish(session, p, upstreamErrorMessage(p.id, p.x.era, describeFailure(target, "crash", why), "crash"), { status: 200, failure: "crash", written: true });
    session.stream?.end();
  }

  /** Ends a session on purpose: its whole process group stops. */
  function stop(session: Session): Promise<void> {
    sessions.delete(session.id);
    return session.proc.stop();
  }

  function touch(session: Session): void {
    clearTimeout(session.idle);
    session.idle = setTimeout(() => {
      if (session.pending.size === 0) void stop(session);
      else touch(session);
    }, options.idleMs);
    session.idle.unref();
  }

  function send(session: Session, message: unknown): void {
    session.proc.child.stdin.write(JSON.stringify(message) + "\n");
  }

  function onLine(session: Session, line: string): void {
    if (!line.trim()) return;
    const message = tryParse(line);
    if (!message) {
      options.log.debug({ server: target.name }, "upstream wrote a non-JSON line");
      return;
    }
    if (message.method === "notifications/tools/list_changed") ctx.onToolsChanged();
    if (isResponse(message)) {
      const p = session.pending.get(idKey(message.id as JsonRpcId));
      if (p) {
        const replaced = p.x.rewrite?.(message);
        finish(session, p, replaced ? JSON.stringify(replaced) : line, { status: 200, response: replaced ?? message, written: true });
      }
      // An answer nobody waits for any more (the agent went away): dropped.
      return;
    }
    if (isRequest(message) && message.method === "roots/list") {
      const answer = ctx.roots(session.grant);
      if (answer.kind !== "client") {
        send(session, { jsonrpc: "2.0", id: message.id, result: { roots: answer.kind === "pinned" ? answer.roots : [] } });
        return;
      }
    }
    if (isRequest(message)) session.askedAgent.add(idKey(message.id as JsonRpcId));
    deliver(session, message, line);
  }

  /** Routes a message the child started to the right open stream. */
  function deliver(session: Session, message: JsonRpcMessage, line: string): void {
    const token = message.method === "notifications/progress" ? message.params?.progressToken : undefined;
    let chosen: Pending | undefined;
    if (token !== undefined) for (const p of session.pending.values()) if (p.progressToken === token) chosen = p;
    if (chosen) {
      streamTo(chosen, line);
      return;
    }
    if (session.stream && !session.stream.writableEnded) {
      session.stream.write(sseEvent(line));
      return;
    }
    const latest = [...session.pending.values()].at(-1);
    if (latest) streamTo(latest, line);
    else if (session.backlog.length < 1000) session.backlog.push(line);
  }

  function streamTo(p: Pending, line: string): void {
    openStream(p);
    p.x.res.write(sseEvent(line));
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
    return session && session.grant === grant && !session.ended ? session : undefined;
  }

  function refuse(res: ServerResponse, status: number, id: JsonRpcId | undefined, message: string, headers: Record<string, string> = {}): void {
    res.writeHead(status, { "content-type": "application/json", ...headers }).end(errorMessage(id, ERROR.invalidRequest, message));
  }

  return {
    async post(x) {
      const header = x.req.headers["mcp-session-id"];
      let session: Session | undefined;
      if (x.message.method === "initialize" && header === undefined) {
        const started = start(x);
        if (typeof started === "string") {
          x.res.writeHead(503, { "content-type": "application/json", "retry-after": "5" }).end(upstreamErrorMessage(x.id, x.era, started, "busy"));
          return { status: null, failure: "busy", written: false };
        }
        session = started;
      } else {
        session = lookup(header, x.grant);
        if (!session) {
          if (header === undefined) refuse(x.res, 400, x.id, "Mcp-Session-Id header is required (send initialize first)");
          else refuse(x.res, 404, x.id, "Session not found (it ended or the gateway restarted); start a new session");
          return { status: null, written: false };
        }
      }
      touch(session);
      x.res.setHeader("mcp-session-id", session.id);
      if (x.kind === "response") {
        // Only answers to what the child asked the agent go back to it (never an answer it did not ask for).
        const key = idKey(x.message.id as JsonRpcId);
        if (!session.askedAgent.delete(key)) {
          refuse(x.res, 400, undefined, "Invalid request: this response answers no request the server made");
          return { status: null, written: false };
        }
      }
      if (x.kind !== "request") {
        session.proc.child.stdin.write(x.body + "\n");
        x.res.writeHead(202).end();
        return { status: 202, written: true };
      }
      const s = session;
      const id = x.id!;
      if (s.pending.has(idKey(id))) {
        // Its answer could not be told apart from the other one's.
        refuse(x.res, 400, id, "Invalid request: a request with this id is already in flight in this session");
        return { status: null, written: false };
      }
      const streamOnly = !acceptsJson(x.req.headers.accept);
      return new Promise<PostOutcome>((resolve) => {
        const timeout = (why: string) => () => {
          ctx.onError("timeout");
          send(s, { jsonrpc: "2.0", method: "notifications/cancelled", params: { requestId: id, reason: why } });
          finish(s, pending, upstreamErrorMessage(id, x.era, `Upstream server "${target.name}" ${why}`, "timeout"), { status: 200, failure: "timeout" satisfies UpstreamFailure, written: true });
        };
        const pending: Pending = {
          x,
          id,
          progressToken: x.message.params?._meta?.progressToken,
          streaming: false,
          done: resolve,
          idle: setTimeout(timeout(`sent nothing for ${target.timeoutMs} ms (timeoutMs)`), target.timeoutMs),
          total: target.totalTimeoutMs ? setTimeout(timeout(`did not finish within ${target.totalTimeoutMs} ms (totalTimeoutMs)`), target.totalTimeoutMs) : undefined,
        };
        s.pending.set(idKey(id), pending);
        if (streamOnly) openStream(pending);
        x.res.once("close", () => {
          if (s.pending.get(idKey(id)) !== pending) return;
          // The agent went away: the call was written, so it counts; the child is told to stop working on it.
          clearTimeout(pending.idle);
          clearTimeout(pending.total);
          s.pending.delete(idKey(id));
          if (!s.ended) send(s, { jsonrpc: "2.0", method: "notifications/cancelled", params: { requestId: id, reason: "The client went away" } });
          resolve({ status: 200, failure: "closed", written: true });
        });
        s.proc.child.stdin.write(x.body + "\n");
      });
    },

    async get(r: SessionRequest) {
      const session = lookup(r.req.headers["mcp-session-id"], r.grant);
      if (!session) {
        refuse(r.res, 404, undefined, "Session not found (it ended or the gateway restarted); start a new session");
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
      for (const line of session.backlog.splice(0)) r.res.write(sseEvent(line));
      r.res.once("close", () => {
        if (session.stream === r.res) session.stream = undefined;
      });
    },

    async delete(r: SessionRequest) {
      const session = lookup(r.req.headers["mcp-session-id"], r.grant);
      if (!session) {
        refuse(r.res, 404, undefined, "Session not found (it ended or the gateway restarted); start a new session");
        return;
      }
      await stop(session);
      r.res.writeHead(200).end();
    },

    async close() {
      await Promise.all([...sessions.values()].map((s) => stop(s)));
    },
  };
}

function acceptsJson(accept: string | undefined): boolean {
  if (!accept) return true;
  return accept.split(",").some((part) => {
    const type = mediaType(part);
    return type === "application/json" || type === "*/*" || type === "application/*";
  });
}
