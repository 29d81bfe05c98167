import type { IncomingMessage, ServerResponse } from "node:http";
import type { Era } from "./era.ts";
import type { GrantWatch } from "./grant-watch.ts";
import type { JsonRpcId, JsonRpcMessage } from "./jsonrpc.ts";

/** How a server's `roots/list` is answered for one grant (docs/security.md). */
export type RootsAnswer =
  /** The gateway answers with the server's pinned roots. */
  | { kind: "pinned"; roots: { uri: string; name?: string }[] }
  /** The agent's answer is relayed. */
  | { kind: "client" }
  /** The gateway answers with no roots. */
  | { kind: "none" };

/** One agent request on its way upstream: the message the gateway decided on and where its answer goes. */
export interface Exchange {
  message: JsonRpcMessage;
  /** The serialization of `message`: exactly the bytes that go upstream. */
  body: Buffer;
  kind: "request" | "notification" | "response";
  /** Which MCP era the message belongs to: answers the gateway makes take that era's shape. */
  era: Era;
  /** The request id (requests only). */
  id?: JsonRpcId;
  req: IncomingMessage;
  res: ServerResponse;
  grant: string;
  tokenHash: string;
  /** Replaces the answer to this request (tools/list filtering, bound task ids); undefined keeps it. */
  rewrite?: (m: JsonRpcMessage) => JsonRpcMessage | undefined;
  /** 2026 request headers computed from `message`, sent after the server's configured headers. */
  headers?: Record<string, string>;
  /** A stream that stays open (2026 subscriptions/listen): no idle timeout, not an in-flight call. */
  longLived?: boolean;
  /** The upstream's Authorization for this caller (a token exchanged for them), replacing a configured one. */
  authorization?: string;
}

/** A GET stream or a DELETE of a session, for one grant. */
export interface SessionRequest {
  req: IncomingMessage;
  res: ServerResponse;
  grant: string;
  tokenHash: string;
  /** As on Exchange. */
  authorization?: string;
}

export type UpstreamFailure = "timeout" | "connect" | "protocol" | "status" | "crash" | "busy" | "closed";

export interface PostOutcome {
  /** The upstream's HTTP status, or null when it was never reached. */
  status: number | null;
  /** The answer to the request, when one came. */
  response?: JsonRpcMessage;
  failure?: UpstreamFailure;
  /**
   * The request was written to the upstream, so it may have run: its limit slots and approval are spent
   * whatever happens next. False only when it provably was not (refused before the write).
   */
  written: boolean;
}

/** One upstream MCP server as the relay sees it. Implementations: HTTP (stateless) and stdio (sessions). */
export interface Upstream {
  post(exchange: Exchange): Promise<PostOutcome>;
  get(request: SessionRequest): Promise<void>;
  delete(request: SessionRequest): Promise<void>;
  close(): Promise<void>;
}

/** What every upstream kind needs from the relay, besides its target. */
export interface UpstreamContext {
  onError(kind: UpstreamFailure): void;
  /** The server said its tools changed (notifications/tools/list_changed). */
  onToolsChanged(): void;
  /** Filters a tools/list result seen on a server stream (GET streams, replays) for this grant. */
  filterList(grant: string, message: JsonRpcMessage): JsonRpcMessage | undefined;
  /** How this grant's sessions answer the server's roots/list. */
  roots(grant: string): RootsAnswer;
  /** Closes streams and sessions of grants that are revoked, rotated or expired. */
  watch: GrantWatch;
}
