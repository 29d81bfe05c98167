import type { IncomingMessage, ServerResponse } from "node:http";
import { errors as undiciErrors, type Dispatcher } from "undici";
import type { ServerTarget } from "../contracts.ts";
import { mediaType } from "../http/media-type.ts";
import { ERROR, errorMessage, idKey, tryParse, upstreamErrorMessage, type JsonRpcId, type JsonRpcMessage } from "./jsonrpc.ts";
import { MODERN_ERROR } from "./era.ts";
import { LEGACY_DISCOVER_RESULT } from "./modern.ts";
import type { SessionBinding } from "./session-binding.ts";
import { SseSplitter, sseEvent } from "./sse.ts";
import type { Exchange, PostOutcome, SessionRequest, Upstream, UpstreamContext, UpstreamFailure } from "./upstream.ts";

/** Request headers passed to the upstream; everything else (Authorization, Cookie, hop-by-hop) is dropped. */
const FORWARDED_REQUEST = ["accept", "mcp-protocol-version", "last-event-id", "user-agent"];
/** Response headers passed back to the client (the session id is wrapped, see session-binding.ts). */
const FORWARDED_RESPONSE = ["content-type", "mcp-protocol-version", "cache-control", "retry-after", "www-authenticate", "allow"];
const TOOLS_LIST_CHANGED = Buffer.from("notifications/tools/list_changed");

type HttpTarget = ServerTarget & { transport: { type: "streamable-http" } };

/** Why a call failed, for the agent: names the server and what happened. */
export function describeFailure(target: ServerTarget, kind: UpstreamFailure, detail?: string): string {
  const server = `Upstream server "${target.name}"`;
  switch (kind) {
    case "timeout":
      return detail ?? `${server} sent nothing for ${target.timeoutMs} ms (timeoutMs)`;
    case "connect":
      return `${server} is unreachable${detail ? ` (${detail})` : ""}`;
    case "closed":
      return `${server} closed the connection mid-response`;
    case "status":
      return `${server} answered ${detail ?? "with an error status"}`;
    case "busy":
      return `${server} is busy: ${target.maxInFlight} calls in flight (limit ${target.maxInFlight}, maxInFlight); try again shortly`;
    case "crash":
      return `${server} process ${detail ?? "ended"}`;
    case "protocol":
      return `${server} ${detail ?? "broke the protocol"}`;
  }
}

/**
 * A Streamable HTTP upstream. Stateless: the session id is the upstream's own, bound to the agent's grant by
 * `binding`, so any gateway replica can serve any request of a session.
 */
export function createHttpUpstream(target: HttpTarget, dispatcher: Dispatcher, binding: SessionBinding, ctx: UpstreamContext): Upstream {
  const url = new URL(target.transport.url);
  const origin = url.origin;
  const path = url.pathname + url.search;
  const configured = Object.entries(target.transport.headers);
  let inFlight = 0;

  /**
   * The headers for the upstream, or undefined when the agent's session id is not one its grant was given.
   * `authorization` (a token exchanged for the caller) replaces a configured Authorization header.
   */
  function headersFor(req: IncomingMessage, grant: string, authorization: string | undefined): Record<string, string> | undefined {
    const out: Record<string, string> = {};
    for (const name of FORWARDED_REQUEST) {
      const v = req.headers[name];
      if (typeof v === "string") out[name] = v;
    }
    const session = req.headers["mcp-session-id"];
    if (typeof session === "string") {
      const upstreamId = binding.unwrap(grant, session);
      if (upstreamId === undefined) return undefined;
      out["mcp-session-id"] = upstreamId;
    } else if (session !== undefined) return undefined;
    for (const [k, v] of configured) out[k.toLowerCase()] = v;
    if (authorization !== undefined) out.authorization = authorization;
    return out;
  }

  function copyResponseHeaders(from: Dispatcher.ResponseData["headers"], res: ServerResponse, grant: string): void {
    for (const name of FORWARDED_RESPONSE) {
      const v = from[name];
      if (v !== undefined) res.setHeader(name, v);
    }
    const session = from["mcp-session-id"];
    if (typeof session === "string") res.setHeader("mcp-session-id", binding.wrap(grant, session));
  }

  function sessionNotFound(res: ServerResponse, id: JsonRpcId | undefined): void {
    res.writeHead(404, { "content-type": "application/json" }).end(errorMessage(id, ERROR.invalidRequest, "Session not found; start a new session"));
  }

  /** Tells the upstream to stop working on a request whose answer nobody will read. */
  function cancel(headers: Record<string, string>, id: JsonRpcId, reason: string): void {
    const body = JSON.stringify({ jsonrpc: "2.0", method: "notifications/cancelled", params: { requestId: id, reason } });
    dispatcher
      .request({ origin, path, method: "POST", headers: { ...headers, "content-type": "application/json", accept: "application/json, text/event-stream" }, body, headersTimeout: 5000, bodyTimeout: 5000 })
      .then((r) => r.body.dump())
      .catch(() => {});
  }

  return {
    async post(x) {
      const headers = headersFor(x.req, x.grant, x.authorization);
      if (!headers) {
        sessionNotFound(x.res, x.id);
        return { status: null, written: false };
      }
      headers["content-type"] = "application/json";
      if (x.era === "2026") delete headers["last-event-id"];
      Object.assign(headers, x.headers);
      if (x.longLived) return exchange(x, headers);
      if (x.kind === "request" && inFlight >= target.maxInFlight) {
        ctx.onError("busy");
        x.res.writeHead(200, { "content-type": "application/json", "retry-after": "1" }).end(upstreamErrorMessage(x.id, x.era, describeFailure(target, "busy"), "busy"));
        return { status: null, failure: "busy", written: false };
      }
      inFlight++;
      try {
        return await exchange(x, headers);
      } finally {
        inFlight--;
      }
    },

    get: (r) => relayWithoutBody(r, "GET"),
    delete: (r) => relayWithoutBody(r, "DELETE"),
    async close() {},
  };

  async function exchange(x: Exchange, headers: Record<string, string>): Promise<PostOutcome> {
    const abort = new AbortController();
    let cancelled: string | undefined;
    const stop = (reason: string) => {
      if (cancelled !== undefined) return;
      cancelled = reason;
      abort.abort();
      // In 2026 closing the response stream is the cancellation; earlier revisions need the notification.
      if (x.id !== undefined && x.era === "2025") cancel(headers, x.id, reason);
    };
    const onClose = () => {
      if (!x.res.writableFinished) stop("The client went away");
    };
    x.res.once("close", onClose);
    const total = target.totalTimeoutMs ? setTimeout(() => stop(`did not finish within ${target.totalTimeoutMs} ms (totalTimeoutMs)`), target.totalTimeoutMs) : undefined;
    const fail = (kind: UpstreamFailure, status: number | null, written: boolean, detail?: string): PostOutcome => {
      ctx.onError(kind);
      const text = describeFailure(target, kind, kind === "timeout" && cancelled && cancelled !== "The client went away" ? `Upstream server "${target.name}" ${cancelled}` : detail);
      const res = x.res;
      const out = upstreamErrorMessage(x.id, x.era, text, kind);
      if (!res.headersSent && !res.destroyed) res.writeHead(x.kind === "request" ? 200 : 502, { "content-type": "application/json" }).end(out);
      else if (!res.writableEnded && mediaType(String(res.getHeader("content-type") ?? "")) === "text/event-stream") res.end(sseEvent(out));
      else if (!res.writableEnded) res.destroy();
      return { status, failure: kind, written };
    };
    try {
      let response: Dispatcher.ResponseData;
      try {
        response = await dispatcher.request({ origin, path, method: "POST", headers, body: x.body, signal: abort.signal, headersTimeout: target.timeoutMs, bodyTimeout: x.longLived ? 0 : target.timeoutMs });
      } catch (error) {
        const kind = cancelled && cancelled !== "The client went away" ? "timeout" : failureOf(error);
        if (kind === "timeout") stop(`sent nothing for ${target.timeoutMs} ms (timeoutMs)`);
        return fail(kind, null, !provablyNotSent(error), connectDetail(error));
      }
      const status = response.statusCode;
      const type = mediaType(response.headers["content-type"] as string | undefined);
      try {
        if (status >= 500) {
          await response.body.dump();
          return fail("status", status, true, `HTTP ${status}`);
        }
        if (x.message.method === "server/discover" && status >= 400) {
          const answer = tryParse(await response.body.text()) as { error?: { code?: unknown } } | undefined;
          if (answer?.error?.code !== MODERN_ERROR.unsupportedVersion) {
            // A server that only speaks 2025: say so in 2026 terms, so auto clients fall back to initialize.
            const out = JSON.stringify({ jsonrpc: "2.0", id: x.id, result: LEGACY_DISCOVER_RESULT });
            x.res.writeHead(200, { "content-type": "application/json", "content-length": Buffer.byteLength(out) }).end(out);
            return { status, written: true };
          }
          x.res.writeHead(status, { "content-type": "application/json" }).end(JSON.stringify(answer));
          return { status, written: true };
        }
        copyResponseHeaders(response.headers, x.res, x.grant);
        if (x.kind !== "request" || status >= 300) {
          // Not a call (a notification, a response to the server) or a protocol answer (404 session gone, 400…): as is.
          x.res.writeHead(status);
          for await (const chunk of response.body) x.res.write(chunk);
          x.res.end();
          return { status, written: true, ...(x.kind === "request" ? { failure: "status" as const } : {}) };
        }
        if (type === "application/json") return await relayJson(x, response, status);
        if (type === "text/event-stream") return await relayStream(x, response, status, abort);
        await response.body.dump();
        return fail("protocol", status, true, `answered with content type "${type ?? "none"}" instead of JSON or an event stream`);
      } catch (error) {
        if (cancelled && cancelled !== "The client went away") return fail("timeout", status, true);
        if (error instanceof undiciErrors.BodyTimeoutError) {
          stop(`sent nothing for ${target.timeoutMs} ms (timeoutMs)`);
          return fail("timeout", status, true);
        }
        return fail("closed", status, true);
      }
    } finally {
      clearTimeout(total);
      x.res.off("close", onClose);
    }
  }

  async function relayJson(x: Exchange, response: Dispatcher.ResponseData, status: number): Promise<PostOutcome> {
    const bytes = Buffer.from(await response.body.arrayBuffer());
    const message = tryParse(bytes.toString("utf8"));
    if (!message) {
      ctx.onError("protocol");
      x.res.removeHeader("content-type");
      x.res.writeHead(200, { "content-type": "application/json" }).end(upstreamErrorMessage(x.id, x.era, describeFailure(target, "protocol", "sent invalid JSON"), "protocol"));
      return { status, failure: "protocol", written: true };
    }
    if (message.method !== undefined || (message.id !== x.id)) {
      ctx.onError("protocol");
      x.res.removeHeader("content-type");
      x.res.writeHead(200, { "content-type": "application/json" }).end(upstreamErrorMessage(x.id, x.era, describeFailure(target, "protocol", "answered with a message that is not the response to this request"), "protocol"));
      return { status, failure: "protocol", written: true };
    }
    const replaced = x.rewrite?.(message);
    const out = replaced ? Buffer.from(JSON.stringify(replaced)) : bytes;
    x.res.writeHead(status, { "content-length": out.length }).end(out);
    return { status, response: replaced ?? message, written: true };
  }

  async function relayStream(x: Exchange, response: Dispatcher.ResponseData, status: number, abort: AbortController): Promise<PostOutcome> {
    const key = idKey(x.id!);
    let seen: JsonRpcMessage | undefined;
    let answer: Buffer | undefined;
    let resumable = false;
    const splitter = new SseSplitter((event) => {
      if (event.id() !== undefined) resumable = true;
      const data = event.data();
      if (data === undefined) return undefined;
      if (event.raw.includes(TOOLS_LIST_CHANGED)) ctx.onToolsChanged();
      const m = tryParse(data);
      if (!m || m.method !== undefined || (typeof m.id !== "string" && typeof m.id !== "number")) return undefined;
      if (idKey(m.id) === key && seen === undefined) {
        const replaced = x.rewrite?.(m);
        seen = replaced ?? m;
        answer = replaced ? Buffer.from(sseEvent(JSON.stringify(replaced), event.id())) : event.raw;
        return answer;
      }
      const filtered = ctx.filterList(x.grant, m);
      return filtered ? Buffer.from(sseEvent(JSON.stringify(filtered), event.id())) : undefined;
    });
    x.res.writeHead(status);
    x.res.flushHeaders();
    const body = response.body[Symbol.asyncIterator]();
    for (let next = await body.next(); !next.done; next = await body.next()) {
      for (const out of splitter.push(next.value as Buffer)) {
        if (out !== answer) {
          x.res.write(out);
          continue;
        }
        // The answer ends the agent's stream (the server should close it there, and the caller may hold the
        // end to settle the call first); whatever the server still sends is read and dropped, keeping the connection.
        x.res.end(out);
        void drain(body, abort, target.timeoutMs);
        return { status, response: seen!, written: true };
      }
    }
    for (const out of splitter.end()) x.res.write(out);
    if (resumable) {
      // The server ended the stream early on purpose: the client resumes with Last-Event-ID on a GET.
      x.res.end();
      return { status, written: true };
    }
    ctx.onError("closed");
    if (!x.res.writableEnded) x.res.end(sseEvent(upstreamErrorMessage(x.id, x.era, describeFailure(target, "closed"), "closed")));
    return { status, failure: "closed", written: true };
  }

  async function relayWithoutBody(r: SessionRequest, method: "GET" | "DELETE"): Promise<void> {
    const headers = headersFor(r.req, r.grant, r.authorization);
    if (!headers) {
      sessionNotFound(r.res, undefined);
      return;
    }
    const abort = new AbortController();
    const onClose = () => {
      if (!r.res.writableFinished) abort.abort();
    };
    r.res.once("close", onClose);
    const release = method === "GET" ? ctx.watch.hold({ grant: r.grant, tokenHash: r.tokenHash, close: () => r.res.destroy() }) : undefined;
    try {
      let response: Dispatcher.ResponseData;
      try {
        response = await dispatcher.request({ origin, path, method, headers, signal: abort.signal, headersTimeout: target.timeoutMs, bodyTimeout: method === "GET" ? 0 : target.timeoutMs });
      } catch (error) {
        const kind = failureOf(error);
        ctx.onError(kind);
        if (!r.res.headersSent) r.res.writeHead(502, { "content-type": "application/json" }).end(errorMessage(null, ERROR.upstream, describeFailure(target, kind, connectDetail(error))));
        return;
      }
      copyResponseHeaders(response.headers, r.res, r.grant);
      r.res.writeHead(response.statusCode);
      r.res.flushHeaders();
      const streaming = mediaType(response.headers["content-type"] as string | undefined) === "text/event-stream";
      // Server streams carry notifications and, on a Last-Event-ID replay, earlier answers: lists are filtered there too.
      const splitter = streaming
        ? new SseSplitter((event) => {
            if (event.raw.includes(TOOLS_LIST_CHANGED)) ctx.onToolsChanged();
            const data = event.data();
            const m = data === undefined ? undefined : tryParse(data);
            const filtered = m ? ctx.filterList(r.grant, m) : undefined;
            return filtered ? Buffer.from(sseEvent(JSON.stringify(filtered), event.id())) : undefined;
          })
        : undefined;
      for await (const chunk of response.body) {
        if (!splitter) r.res.write(chunk);
        else for (const out of splitter.push(chunk as Buffer)) r.res.write(out);
      }
      if (splitter) for (const out of splitter.end()) r.res.write(out);
      r.res.end();
    } catch {
      r.res.destroy();
    } finally {
      release?.();
      r.res.off("close", onClose);
    }
  }
}

/** Errors raised before a connection existed: the request never reached the upstream. */
const NOT_CONNECTED = new Set(["ECONNREFUSED", "ENOTFOUND", "EAI_AGAIN", "EHOSTUNREACH", "ENETUNREACH"]);

/** What kind of failure an undici request error is. */
export function failureOf(error: unknown): UpstreamFailure {
  if (error instanceof undiciErrors.HeadersTimeoutError || error instanceof undiciErrors.BodyTimeoutError) return "timeout";
  if (provablyNotSent(error)) return "connect";
  const code = (error as { code?: string }).code;
  if (code === "ECONNRESET" || code === "UND_ERR_SOCKET" || code === "EPIPE") return "closed";
  return "protocol";
}

/** Errors that prove the request never reached the upstream, so nothing ran there. */
export function provablyNotSent(error: unknown): boolean {
  return error instanceof undiciErrors.ConnectTimeoutError || NOT_CONNECTED.has((error as { code?: string }).code ?? "");
}

/** The error code of a connect failure (ECONNREFUSED…), to name in the message. */
export function connectDetail(error: unknown): string | undefined {
  const code = (error as { code?: string }).code;
  return failureOf(error) === "connect" && code ? code : undefined;
}

/**
 * Reads the rest of a body, ignoring it, so that its connection can serve the next request; a server that keeps
 * sending past `limit` bytes or `ms` loses the connection instead.
 */
async function drain(body: AsyncIterator<unknown>, abort: AbortController, ms: number, limit = 128 * 1024): Promise<void> {
  const timer = setTimeout(() => abort.abort(), ms).unref();
  try {
    let read = 0;
    for (let next = await body.next(); !next.done; next = await body.next()) {
      read += (next.value as Buffer).length;
      if (read > limit) {
        abort.abort();
        break;
      }
    }
  } catch {
    // Aborted, or the server closed the connection: nothing of the call was left to read.
  } finally {
    clearTimeout(timer);
  }
}
