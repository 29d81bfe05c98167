import { eraResult, upstreamErrorCode, type Era } from "./era.ts";

/** JSON-RPC 2.0 messages as the relay sees them: only what policy needs is typed. */
export type JsonRpcId = string | number;

export interface JsonRpcMessage {
  jsonrpc?: string;
  id?: JsonRpcId | null;
  method?: string;
  params?: { name?: unknown; arguments?: unknown; _meta?: { progressToken?: unknown } } & Record<string, unknown>;
  result?: { isError?: unknown; tools?: unknown } & Record<string, unknown>;
  error?: unknown;
}

export const isRequest = (m: JsonRpcMessage) => typeof m.method === "string" && (typeof m.id === "string" || typeof m.id === "number");
export const isResponse = (m: JsonRpcMessage) => m.method === undefined && (typeof m.id === "string" || typeof m.id === "number") && ("result" in m || "error" in m);

/** Canonical identity of an id, for matching answers to requests: `1` and `"1"` are different requests. */
export function idKey(id: JsonRpcId): string {
  return typeof id === "number" ? `n:${id}` : `s:${id}`;
}

/** Error codes the gateway itself answers with. */
export const ERROR = {
  parse: -32700,
  invalidRequest: -32600,
  internal: -32603,
  unauthorized: -32001,
  upstream: -32002,
  approvalRequired: -32003,
  /** A policy denied a request that is not a tool call (resources/read, prompts/get, completion/complete). */
  policyDenied: -32010,
} as const;

export function errorMessage(id: JsonRpcId | null | undefined, code: number, message: string, data?: unknown): string {
  return JSON.stringify({ jsonrpc: "2.0", id: id ?? null, error: data === undefined ? { code, message } : { code, message, data } });
}

/** A policy denial: a tool result, not a transport error (DESIGN.md section 4); a 2026 result says it is complete. */
export function denialMessage(id: JsonRpcId | null | undefined, message: string, era: Era = "2025"): string {
  return JSON.stringify({ jsonrpc: "2.0", id: id ?? null, result: eraResult(era, { content: [{ type: "text", text: `[POLICY DENIED] ${message}` }], isError: true }) });
}

/** An upstream failure, in the request's era (2026 forbids -32002, so it gets -32603 with the failure in `data`). */
export function upstreamErrorMessage(id: JsonRpcId | null | undefined, era: Era, message: string, failure: string): string {
  return errorMessage(id, upstreamErrorCode(era), message, era === "2026" ? { toolgate: "upstream", failure } : undefined);
}

/**
 * A call waiting for a person: a tool result starting `[APPROVAL REQUIRED]` (default), or Intercept's JSON-RPC
 * error -32003 with the approval in `data` (the policy's `approval.error: "jsonrpc"`).
 */
export function approvalRequiredMessage(id: JsonRpcId | null | undefined, text: string, shape: "result" | "jsonrpc", data: { approvalId: string; status: string; expiresAt: string }, era: Era = "2025"): string {
  if (shape === "jsonrpc") return JSON.stringify({ jsonrpc: "2.0", id: id ?? null, error: { code: ERROR.approvalRequired, message: `[APPROVAL REQUIRED] ${text}`, data } });
  return JSON.stringify({ jsonrpc: "2.0", id: id ?? null, result: eraResult(era, { content: [{ type: "text", text: `[APPROVAL REQUIRED] ${text}` }], isError: true, _meta: { "toolgate/approval": data } }) });
}

/** Did the upstream answer a tools/call with a failure (JSON-RPC error or `isError: true`)? */
export function isFailedCall(m: JsonRpcMessage): boolean {
  return m.error !== undefined || m.result?.isError === true;
}

/** Top-level argument names, sorted: what audit keeps of a call's arguments (never values). */
export function argumentKeys(args: unknown): string[] {
  return args !== null && typeof args === "object" && !Array.isArray(args) ? Object.keys(args).sort() : [];
}

/** Parses one message an upstream or a peer sent; undefined for anything that is not a single JSON object. */
export function tryParse(text: string): JsonRpcMessage | undefined {
  try {
    const m = JSON.parse(text) as unknown;
    return m !== null && typeof m === "object" && !Array.isArray(m) ? (m as JsonRpcMessage) : undefined;
  } catch {
    return undefined;
  }
}
