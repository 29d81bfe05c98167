import type { IncomingMessage, ServerResponse } from "node:http";
import type { JsonRpcId, JsonRpcMessage } from "./jsonrpc.ts";

/**
 * What the relay asks of the response to one JSON-RPC request: `rewrite` may replace the response message
 * (tools/list filtering); the outcome reports what came back so limits can be rolled back.
 */
export interface ResponseWatch {
  id: JsonRpcId;
  rewrite?: (message: JsonRpcMessage) => JsonRpcMessage | undefined;
}

export interface PostOutcome {
  /** The upstream's HTTP status, or null when it was never reached. */
  status: number | null;
  /** The response message to the watched request, when one was seen. */
  response?: JsonRpcMessage;
  /** The upstream failed (unreachable, timeout, crash, protocol error) before answering. */
  failure?: "timeout" | "connect" | "protocol" | "status" | "crash";
}

/** One upstream MCP server as the relay sees it. Implementations: HTTP (stateless) and stdio (sessions). */
export interface Upstream {
  post(req: IncomingMessage, res: ServerResponse, body: Buffer, message: JsonRpcMessage, watch: ResponseWatch | undefined): Promise<PostOutcome>;
  get(req: IncomingMessage, res: ServerResponse): Promise<void>;
  delete(req: IncomingMessage, res: ServerResponse): Promise<void>;
  close(): Promise<void>;
}
