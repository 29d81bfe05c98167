import type { ActivePolicy } from "../contracts.ts";
import { MODERN_ERROR } from "./era.ts";
import { errorMessage, type JsonRpcMessage } from "./jsonrpc.ts";
import { headerMismatch, upstreamHeaders, withoutClientRoots } from "./modern.ts";
import type { SessionBinding } from "./session-binding.ts";
import type { Exchange, RootsAnswer } from "./upstream.ts";

export interface ModernContext {
  server: string;
  grant: string;
  policy: ActivePolicy | undefined;
  roots: RootsAnswer;
  /** The catalog's input schema of a tool (its `x-mcp-header` parameters). */
  inputSchema(tool: string): unknown;
  /** Binds upstream task ids to the grant and server that created them. */
  tasks: SessionBinding;
}

export type Prepared =
  | { ok: true; headers: Record<string, string>; rewrite?: (m: JsonRpcMessage) => JsonRpcMessage | undefined; longLived: boolean }
  | { ok: false; status: number; body: string };

const TASK_METHODS = new Set(["tasks/get", "tasks/update", "tasks/cancel"]);

/**
 * Classifies one 2026-07-28 request (basic/transports/streamable-http, basic/patterns): its headers must agree with
 * its body, roots that are not the agent's are kept out, task ids are bound to the grant and server, resource
 * subscriptions are decided like resources/subscribe. Mutates the message into the one to forward and returns the
 * upstream headers computed from it.
 */
export function prepareModern(x: Exchange, ctx: ModernContext): Prepared {
  const message = x.message;
  const params = message.params as Record<string, unknown> | undefined;
  const tool = message.method === "tools/call" ? (params?.name as string) : undefined;
  const schema = tool === undefined ? undefined : ctx.inputSchema(tool);
  if (x.kind === "request") {
    const mismatch = headerMismatch(message, x.req, schema);
    if (mismatch) return refuse(400, x, MODERN_ERROR.headerMismatch, `Bad Request: the request headers and body disagree: ${mismatch}`);
  }
  withoutClientRoots(message, ctx.roots);
  const scope = `${ctx.grant}\0${ctx.server}`;
  let rewrite: ((m: JsonRpcMessage) => JsonRpcMessage | undefined) | undefined;
  if (tool !== undefined || TASK_METHODS.has(message.method ?? "")) {
    if (TASK_METHODS.has(message.method!)) {
      const upstreamId = typeof params?.taskId === "string" ? ctx.tasks.unwrap(scope, params.taskId) : undefined;
      if (upstreamId === undefined) return refuse(200, x, MODERN_ERROR.invalidParams, "Task not found");
      params!.taskId = upstreamId;
    }
    // A task the upstream creates or reports is named to the agent by a bound id only.
    rewrite = (m) => {
      const result = m.result as Record<string, unknown> | undefined;
      if (!result || typeof result.taskId !== "string") return undefined;
      return { ...m, result: { ...result, taskId: ctx.tasks.wrap(scope, result.taskId) } };
    };
  }
  let longLived = false;
  if (message.method === "subscriptions/listen") {
    longLived = true;
    const notifications = (params?.notifications ?? undefined) as Record<string, unknown> | undefined;
    const uris = notifications?.resourceSubscriptions;
    if (Array.isArray(uris) && ctx.policy) {
      notifications!.resourceSubscriptions = uris.filter((uri) => ctx.policy!.compiled.decideRequest({ method: "resources/subscribe", params: { uri } }).effect === "allow");
    }
    const ids = notifications?.taskIds;
    if (Array.isArray(ids)) notifications!.taskIds = ids.map((id) => (typeof id === "string" ? ctx.tasks.unwrap(scope, id) : undefined)).filter((id) => id !== undefined);
  }
  return { ok: true, headers: upstreamHeaders(message, schema), ...(rewrite ? { rewrite } : {}), longLived };
}

function refuse(status: number, x: Exchange, code: number, message: string): Prepared {
  return { ok: false, status, body: errorMessage(x.id, code, message) };
}
