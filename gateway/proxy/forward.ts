import type { IncomingMessage, ServerResponse } from "node:http";
import { pipeline } from "node:stream/promises";
import type { Dispatcher } from "undici";
import { ERROR, errorMessage } from "./jsonrpc.ts";

/** Set on a request one replica forwards to another; the receiver never forwards it again. */
export const FORWARDED_HEADER = "toolgate-forwarded-by";

const HOP_BY_HOP = new Set(["connection", "keep-alive", "transfer-encoding", "upgrade", "te", "trailer", "proxy-authorization", "proxy-connection", "host"]);

/**
 * Passes one request, as received, to the replica that holds its stdio session, and streams the answer
 * back (event streams included). That replica authenticates and enforces the call itself.
 */
export async function forwardToReplica(req: IncomingMessage, res: ServerResponse, peerUrl: string, selfId: string, dispatcher: Dispatcher): Promise<void> {
  const headers: Record<string, string> = {};
  for (const [name, value] of Object.entries(req.headers)) {
    if (typeof value === "string" && !HOP_BY_HOP.has(name)) headers[name] = value;
  }
  headers[FORWARDED_HEADER] = selfId;
  const abort = new AbortController();
  res.once("close", () => {
    if (!res.writableFinished) abort.abort();
  });
  try {
    const peer = new URL(peerUrl);
    const answer = await dispatcher.request({
      origin: peer.origin,
      path: req.url ?? "/",
      method: req.method as Dispatcher.HttpMethod,
      headers,
      body: req.method === "POST" ? req : undefined,
      signal: abort.signal,
      headersTimeout: 30_000,
      bodyTimeout: 0,
    });
    const out: Record<string, string | string[]> = {};
    for (const [name, value] of Object.entries(answer.headers)) if (value !== undefined && !HOP_BY_HOP.has(name)) out[name] = value;
    res.writeHead(answer.statusCode, out);
    res.flushHeaders();
    await pipeline(answer.body, res);
  } catch {
    if (!res.headersSent) {
      res.writeHead(502, { "content-type": "application/json" }).end(errorMessage(null, ERROR.upstream, "The gateway replica that holds this stdio session is unreachable; start a new session"));
    } else res.destroy();
  }
}
