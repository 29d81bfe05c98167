import { Transform } from "node:stream";
import type { IncomingMessage, ServerResponse } from "node:http";
import { pipeline } from "node:stream/promises";
import { errors as undiciErrors, type Dispatcher } from "undici";
import type { ServerTarget } from "../contracts.ts";
import { mediaType } from "../http/media-type.ts";
import { ERROR, errorMessage, type JsonRpcMessage } from "./jsonrpc.ts";
import { SseRewriter } from "./sse.ts";
import type { PostOutcome, ResponseWatch, Upstream } from "./upstream.ts";

/** Request headers passed to the upstream; everything else (Authorization, Cookie, hop-by-hop) is dropped. */
const FORWARDED_REQUEST = ["accept", "content-type", "mcp-session-id", "mcp-protocol-version", "last-event-id", "user-agent"];
/** Response headers passed back to the client. */
const FORWARDED_RESPONSE = ["content-type", "mcp-session-id", "mcp-protocol-version", "cache-control", "retry-after", "www-authenticate"];

/**
 * A Streamable HTTP upstream. Stateless: the session id is the upstream's own and travels in headers, so
 * any gateway replica can serve any request of a session.
 */
export function createHttpUpstream(
  target: ServerTarget & { transport: { type: "streamable-http" } },
  dispatcher: Dispatcher,
  onError: (kind: NonNullable<PostOutcome["failure"]>) => void,
  onToolsChanged: () => void = () => {},
): Upstream {
  const url = new URL(target.transport.url);
  const origin = url.origin;
  const path = url.pathname + url.search;
  const configured = Object.entries(target.transport.headers);

  function headersFor(req: IncomingMessage): Record<string, string> {
    const out: Record<string, string> = {};
    for (const name of FORWARDED_REQUEST) {
      const v = req.headers[name];
      if (typeof v === "string") out[name] = v;
    }
    for (const [k, v] of configured) out[k.toLowerCase()] = v;
    return out;
  }

  function copyResponseHeaders(from: Dispatcher.ResponseData["headers"], res: ServerResponse): void {
    for (const name of FORWARDED_RESPONSE) {
      const v = from[name];
      if (v !== undefined) res.setHeader(name, v);
    }
  }

  async function send(req: IncomingMessage, res: ServerResponse, method: "POST" | "GET" | "DELETE", body: Buffer | undefined, streaming: boolean) {
    const abort = new AbortController();
    const onClose = () => {
      if (!res.writableFinished) abort.abort();
    };
    res.once("close", onClose);
    const response = await dispatcher.request({
      origin,
      path,
      method,
      headers: headersFor(req),
      body,
      signal: abort.signal,
      headersTimeout: target.timeoutMs,
      // A GET stream may sit idle for long; POST responses must keep moving.
      bodyTimeout: streaming ? 0 : target.timeoutMs,
    });
    return { response, done: () => res.off("close", onClose) };
  }

  function failureOf(error: unknown): NonNullable<PostOutcome["failure"]> {
    if (error instanceof undiciErrors.HeadersTimeoutError || error instanceof undiciErrors.BodyTimeoutError) return "timeout";
    if (error instanceof undiciErrors.ConnectTimeoutError) return "timeout";
    const code = (error as { code?: string }).code;
    return code === "ECONNREFUSED" || code === "ENOTFOUND" || code === "ECONNRESET" || code === "UND_ERR_SOCKET" ? "connect" : "protocol";
  }

  function describe(kind: NonNullable<PostOutcome["failure"]>): string {
    return kind === "timeout"
      ? `Upstream server "${target.name}" did not answer within ${target.timeoutMs} ms`
      : kind === "connect"
        ? `Upstream server "${target.name}" is unreachable`
        : `Upstream server "${target.name}" failed`;
  }

  return {
    async post(req, res, body, message, watch) {
      let sent;
      try {
        sent = await send(req, res, "POST", body, false);
      } catch (error) {
        const failure = failureOf(error);
        onError(failure);
        if (!res.headersSent && !res.destroyed) {
          res.writeHead(watch ? 200 : 502, { "content-type": "application/json" }).end(errorMessage(message.id, ERROR.upstream, describe(failure)));
        }
        return { status: null, failure };
      }
      const { response, done } = sent;
      let streamingResponse = false;
      try {
        const status = response.statusCode;
        copyResponseHeaders(response.headers, res);
        const type = mediaType(response.headers["content-type"] as string | undefined);
        if (!watch || status >= 300 || (type !== "application/json" && type !== "text/event-stream")) {
          res.writeHead(status);
          await pipeline(response.body, res);
          if (status >= 500) onError("status");
          return { status, ...(watch && status >= 300 ? { failure: "status" as const } : {}) };
        }
        if (type === "application/json") {
          const text = await response.body.text();
          const { out, response: seen } = rewriteJson(text, watch);
          res.writeHead(status, { "content-length": Buffer.byteLength(out) }).end(out);
          return { status, ...(seen ? { response: seen } : { failure: "protocol" as const }) };
        }
        let seen: JsonRpcMessage | undefined;
        const rewriter = new SseRewriter((data) => {
          const r = rewriteData(data, watch);
          if (r.response) seen = r.response;
          return r.out;
        });
        res.writeHead(status);
        res.flushHeaders();
        streamingResponse = true;
        for await (const chunk of response.body) {
          const out = rewriter.push(chunk.toString("utf8"));
          if (out) res.write(out);
        }
        res.end(rewriter.end());
        return { status, ...(seen ? { response: seen } : { failure: "protocol" as const }) };
      } catch (error) {
        const failure = failureOf(error);
        onError(failure);
        if (!res.headersSent) res.writeHead(200, { "content-type": "application/json" }).end(errorMessage(message.id, ERROR.upstream, describe(failure)));
        else if (streamingResponse && !res.writableEnded) res.end(`event: message\ndata: ${errorMessage(message.id, ERROR.upstream, describe(failure))}\n\n`);
        else res.destroy();
        return { status: response.statusCode, failure };
      } finally {
        done();
      }
    },

    async get(req, res) {
      await relayWithoutBody(req, res, "GET");
    },

    async delete(req, res) {
      await relayWithoutBody(req, res, "DELETE");
    },

    async close() {},
  };

  async function relayWithoutBody(req: IncomingMessage, res: ServerResponse, method: "GET" | "DELETE"): Promise<void> {
    let sent;
    try {
      sent = await send(req, res, method, undefined, method === "GET");
    } catch (error) {
      const failure = failureOf(error);
      onError(failure);
      if (!res.headersSent) res.writeHead(502, { "content-type": "application/json" }).end(errorMessage(null, ERROR.upstream, describe(failure)));
      return;
    }
    try {
      copyResponseHeaders(sent.response.headers, res);
      res.writeHead(sent.response.statusCode);
      res.flushHeaders();
      if (method === "GET") await pipeline(sent.response.body, watchToolsChanged(onToolsChanged), res);
      else await pipeline(sent.response.body, res);
    } catch {
      res.destroy();
    } finally {
      sent.done();
    }
  }
}

/**
 * Passes a server-to-client stream through unchanged, calling `onChanged` when it carries
 * notifications/tools/list_changed (a text scan: a marker split across chunks is caught by the catalog's timer).
 */
function watchToolsChanged(onChanged: () => void): Transform {
  return new Transform({
    transform(chunk: Buffer, _encoding, done) {
      if (chunk.includes(TOOLS_LIST_CHANGED)) onChanged();
      done(null, chunk);
    },
  });
}

function rewriteJson(text: string, watch: ResponseWatch): { out: string; response?: JsonRpcMessage } {
  const r = rewriteData(text, watch);
  return { out: r.out ?? text, ...(r.response ? { response: r.response } : {}) };
}

/** If `data` is the response to the watched request, apply the rewrite; otherwise leave it alone. */
const TOOLS_LIST_CHANGED = "notifications/tools/list_changed";

function rewriteData(data: string, watch: ResponseWatch): { out?: string; response?: JsonRpcMessage } {
  let message: JsonRpcMessage;
  try {
    message = JSON.parse(data) as JsonRpcMessage;
  } catch {
    return {};
  }
  if (Array.isArray(message) || message.id !== watch.id || message.method !== undefined) return {};
  const replaced = watch.rewrite?.(message);
  return replaced ? { out: JSON.stringify(replaced), response: replaced } : { response: message };
}
