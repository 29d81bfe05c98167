import { spawn, type ChildProcessWithoutNullStreams } from "node:child_process";
import { randomBytes } from "node:crypto";
import type { IncomingMessage, ServerResponse } from "node:http";
import { createInterface } from "node:readline";
import type { Logger } from "pino";
import type { ServerTarget } from "../contracts.ts";
import { ERROR, errorMessage, isRequest, isResponse, type JsonRpcId, type JsonRpcMessage } from "./jsonrpc.ts";
import type { PostOutcome, ResponseWatch, Upstream } from "./upstream.ts";

export const STDIO_SESSION_PREFIX = "tgs_";

/** The replica that issued a stdio session id (`tgs_<replica>.<random>`), or undefined for any other id. */
export function stdioSessionOwner(sessionId: string | string[] | undefined): string | undefined {
  return typeof sessionId === "string" ? /^tgs_([0-9a-f]+)\./.exec(sessionId)?.[1] : undefined;
}

export interface StdioOptions {
  /** Goes into every session id, so other replicas know where the session lives. */
  replicaId: string;
  /** Most child processes alive at once across all stdio servers. */
  limit: { active: number; max: number };
  idleMs: number;
  log: Logger;
  onError: (kind: NonNullable<PostOutcome["failure"]>) => void;
  /** The server sent notifications/tools/list_changed. */
  onToolsChanged?: () => void;
}

interface Pending {
  res: ServerResponse;
  watch: ResponseWatch | undefined;
  progressToken: unknown;
  done: (outcome: PostOutcome) => void;
  timer: NodeJS.Timeout;
}

interface Session {
  id: string;
  child: ChildProcessWithoutNullStreams;
  pending: Map<JsonRpcId, Pending>;
  stream: ServerResponse | undefined;
  backlog: string[];
  idle: NodeJS.Timeout | undefined;
  exited: string | undefined;
}

/**
 * A stdio upstream: one child process per MCP session (a stdio server serves exactly one client). The
 * gateway issues the session id (`tgs_<replica>.<random>`). Responses go back on the POST that asked; server-initiated
 * messages (sampling, elicitation, logging, list_changed) go on the session's GET stream, or the most
 * recent open POST stream, or wait in a bounded backlog until a stream opens.
 */
export function createStdioUpstream(target: ServerTarget & { transport: { type: "stdio" } }, options: StdioOptions): Upstream {
  const sessions = new Map<string, Session>();
  const { command, args, env, cwd } = target.transport;

  function start(): Session {
    const child = spawn(command, args, {
      cwd,
      env: { PATH: process.env.PATH ?? "/usr/bin:/bin", HOME: process.env.HOME ?? "/", ...env },
      stdio: ["pipe", "pipe", "pipe"],
    });
    options.limit.active++;
    const session: Session = { id: `${STDIO_SESSION_PREFIX}${options.replicaId}.${randomBytes(18).toString("base64url")}`, child, pending: new Map(), stream: undefined, backlog: [], idle: undefined, exited: undefined };
    sessions.set(session.id, session);
    createInterface({ input: child.stdout, crlfDelay: Infinity }).on("line", (line) => onLine(session, line));
    createInterface({ input: child.stderr, crlfDelay: Infinity }).on("line", (line) => options.log.debug({ server: target.name, stderr: line.slice(0, 500) }, "upstream stderr"));
    child.stdin.on("error", () => {});
    child.on("error", (error) => end(session, `could not start "${command}": ${(error as NodeJS.ErrnoException).code ?? error.message}`));
    child.on("exit", (code, signal) => end(session, `exited with ${signal ?? `code ${code}`}`));
    return session;
  }

  function end(session: Session, why: string): void {
    if (session.exited) return;
    session.exited = why;
    options.limit.active--;
    clearTimeout(session.idle);
    const expected = !sessions.has(session.id);
    sessions.delete(session.id);
    if (!expected) {
      options.onError("crash");
      options.log.warn({ server: target.name, why }, "stdio upstream ended");
    }
    for (const [id, p] of session.pending) finish(session, id, p, errorMessage(id, ERROR.upstream, `Upstream server "${target.name}" process ${why}`), { status: 200, failure: "crash" });
    session.stream?.end();
  }

  function stop(session: Session): void {
    sessions.delete(session.id);
    if (!session.exited) session.child.kill("SIGTERM");
  }

  function touch(session: Session): void {
    clearTimeout(session.idle);
    session.idle = setTimeout(() => {
      if (session.pending.size === 0) stop(session);
      else touch(session);
    }, options.idleMs);
    session.idle.unref();
  }

  function onLine(session: Session, line: string): void {
    if (!line.trim()) return;
    let message: JsonRpcMessage;
    try {
      message = JSON.parse(line) as JsonRpcMessage;
    } catch {
      options.log.debug({ server: target.name }, "upstream wrote a non-JSON line");
      return;
    }
    if (message.method === "notifications/tools/list_changed") options.onToolsChanged?.();
    if (isResponse(message)) {
      const p = session.pending.get(message.id as JsonRpcId);
      if (p) {
        const replaced = p.watch?.rewrite?.(message);
        const final = replaced ?? message;
        finish(session, message.id as JsonRpcId, p, JSON.stringify(final), { status: 200, response: final });
        return;
      }
    }
    deliver(session, message, line);
  }

  /** Routes a server-initiated message to the right open stream. */
  function deliver(session: Session, message: JsonRpcMessage, line: string): void {
    const token = message.method === "notifications/progress" ? (message.params as { progressToken?: unknown } | undefined)?.progressToken : undefined;
    let target: Pending | undefined;
    for (const p of session.pending.values()) {
      if (token !== undefined && p.progressToken === token) target = p;
    }
    if (target) {
      target.res.write(`event: message\ndata: ${line}\n\n`);
      target.timer.refresh();
      return;
    }
    if (session.stream && !session.stream.writableEnded) {
      session.stream.write(`event: message\ndata: ${line}\n\n`);
      return;
    }
    const latest = [...session.pending.values()].at(-1);
    if (latest) {
      latest.res.write(`event: message\ndata: ${line}\n\n`);
      latest.timer.refresh();
      return;
    }
    if (session.backlog.length < 1000) session.backlog.push(line);
  }

  function finish(session: Session, id: JsonRpcId, p: Pending, data: string, outcome: PostOutcome): void {
    clearTimeout(p.timer);
    session.pending.delete(id);
    if (!p.res.writableEnded) p.res.end(`event: message\ndata: ${data}\n\n`);
    p.done(outcome);
  }

  function sessionFor(req: IncomingMessage, res: ServerResponse): Session | undefined {
    const id = req.headers["mcp-session-id"];
    const session = typeof id === "string" ? sessions.get(id) : undefined;
    if (!session) {
      const why = typeof id === "string" ? "Session not found (it ended or the gateway restarted); start a new session" : "Mcp-Session-Id header is required";
      res.writeHead(typeof id === "string" ? 404 : 400, { "content-type": "application/json" }).end(errorMessage(null, ERROR.invalidRequest, why));
      return undefined;
    }
    return session;
  }

  return {
    async post(req, res, body, message, watch) {
      let session: Session | undefined;
      if (message.method === "initialize" && req.headers["mcp-session-id"] === undefined) {
        if (options.limit.active >= options.limit.max) {
          res.writeHead(503, { "content-type": "application/json", "retry-after": "5" }).end(errorMessage(message.id, ERROR.upstream, `Too many stdio sessions (limit ${options.limit.max}); close idle sessions or raise the limit`));
          return { status: null, failure: "connect" };
        }
        session = start();
      } else {
        session = sessionFor(req, res);
        if (!session) return { status: null };
      }
      touch(session);
      if (!isRequest(message)) {
        session.child.stdin.write(body.toString("utf8").replace(/\r?\n/g, " ") + "\n");
        res.writeHead(202).end();
        return { status: 202 };
      }
      const id = message.id as JsonRpcId;
      res.writeHead(200, { "content-type": "text/event-stream", "cache-control": "no-cache", "mcp-session-id": session.id });
      res.flushHeaders();
      const s = session;
      return new Promise<PostOutcome>((resolve) => {
        const timer = setTimeout(() => {
          options.onError("timeout");
          finish(s, id, pending, errorMessage(id, ERROR.upstream, `Upstream server "${target.name}" did not answer within ${target.timeoutMs} ms`), { status: 200, failure: "timeout" });
        }, target.timeoutMs);
        const pending: Pending = { res, watch, progressToken: message.params?._meta?.progressToken, done: resolve, timer };
        s.pending.set(id, pending);
        res.once("close", () => {
          if (s.pending.get(id) === pending) {
            // The client went away; the upstream may still finish. Forget the request, keep the session.
            clearTimeout(timer);
            s.pending.delete(id);
            resolve({ status: 200 });
          }
        });
        s.child.stdin.write(body.toString("utf8").replace(/\r?\n/g, " ") + "\n");
      });
    },

    async get(req, res) {
      const session = sessionFor(req, res);
      if (!session) return;
      touch(session);
      if (session.stream && !session.stream.writableEnded) {
        res.writeHead(409, { "content-type": "application/json" }).end(errorMessage(null, ERROR.invalidRequest, "This session already has an open GET stream"));
        return;
      }
      res.writeHead(200, { "content-type": "text/event-stream", "cache-control": "no-cache", "mcp-session-id": session.id });
      res.flushHeaders();
      session.stream = res;
      for (const line of session.backlog.splice(0)) res.write(`event: message\ndata: ${line}\n\n`);
      res.once("close", () => {
        if (session.stream === res) session.stream = undefined;
      });
    },

    async delete(req, res) {
      const session = sessionFor(req, res);
      if (!session) return;
      stop(session);
      res.writeHead(200).end();
    },

    async close() {
      const all = [...sessions.values()];
      for (const s of all) stop(s);
      await Promise.all(all.map((s) => (s.exited ? undefined : new Promise((r) => s.child.once("exit", r)))));
    },
  };
}
