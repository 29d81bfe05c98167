import type { IncomingMessage } from "node:http";
import { CLIENT_CAPABILITIES_KEY, MODERN_VERSION } from "./era.ts";
import type { JsonRpcMessage } from "./jsonrpc.ts";
import type { RootsAnswer } from "./upstream.ts";

/**
 * The 2026-07-28 request headers (basic/transports/streamable-http, "Standard Request Headers", "Custom Headers
 * from Tool Parameters"): checked against the body the agent sent, and recomputed from the decided message for
 * the upstream. The policy only ever reads the body.
 */

const SENTINEL = /^=\?base64\?([A-Za-z0-9+/]*={0,2})\?=$/;
const SAFE = /^[\x21-\x7e](?:[\x20-\x7e]*[\x21-\x7e])?$/;

/** A header value as the spec encodes it: plain visible ASCII, or `=?base64?…?=` for anything else. */
export function encodeHeaderValue(value: string): string {
  return SAFE.test(value) && !value.startsWith("=?") ? value : `=?base64?${Buffer.from(value, "utf8").toString("base64")}?=`;
}

/** The value a header carries, or undefined when it is not well formed. */
export function decodeHeaderValue(raw: string): string | undefined {
  const m = SENTINEL.exec(raw);
  if (!m) return raw.startsWith("=?") ? undefined : raw;
  const bytes = Buffer.from(m[1]!, "base64");
  return bytes.toString("base64") === m[1] ? bytes.toString("utf8") : undefined;
}

/** What `Mcp-Name` names for a method: a tool or prompt name, a resource URI, a task id. */
export function nameOf(message: JsonRpcMessage): string | undefined {
  const p = message.params as Record<string, unknown> | undefined;
  switch (message.method) {
    case "tools/call":
    case "prompts/get":
      return typeof p?.name === "string" ? p.name : undefined;
    case "resources/read":
      return typeof p?.uri === "string" ? p.uri : undefined;
    case "tasks/get":
    case "tasks/update":
    case "tasks/cancel":
      return typeof p?.taskId === "string" ? p.taskId : undefined;
    default:
      return undefined;
  }
}

/** The `x-mcp-header` parameters of a tool's input schema: header name → argument name (top-level properties). */
export function mirroredParameters(inputSchema: unknown): Map<string, string> {
  const out = new Map<string, string>();
  const properties = (inputSchema as { properties?: unknown } | undefined)?.properties;
  if (properties === null || typeof properties !== "object") return out;
  for (const [arg, schema] of Object.entries(properties as Record<string, unknown>)) {
    const header = (schema as { "x-mcp-header"?: unknown } | null)?.["x-mcp-header"];
    if (typeof header === "string" && /^[!#$%&'*+.^_`|~0-9A-Za-z-]+$/.test(header)) out.set(header.toLowerCase(), arg);
  }
  return out;
}

function parameterValue(value: unknown): string | undefined {
  if (typeof value === "string") return value;
  if (typeof value === "boolean") return String(value);
  if (typeof value === "number" && Number.isFinite(value)) return String(value);
  return undefined;
}

/**
 * Why the agent's 2026 headers disagree with its body (answered 400 -32020), or undefined when they agree. An
 * intermediary that routes on headers must not see one thing while the server runs another.
 */
export function headerMismatch(message: JsonRpcMessage, req: IncomingMessage, inputSchema: unknown): string | undefined {
  if (message.method === undefined || message.id === undefined) return undefined;
  const method = req.headers["mcp-method"];
  if (typeof method !== "string") return `the body names method ${message.method} but the required Mcp-Method header is absent`;
  if (decodeHeaderValue(method) !== message.method) return `the body names method ${message.method} but the Mcp-Method header names ${JSON.stringify(method)}`;
  const name = nameOf(message);
  const header = req.headers["mcp-name"];
  if (name !== undefined) {
    if (typeof header !== "string") return `the body names ${JSON.stringify(name)} but the required Mcp-Name header is absent`;
    if (decodeHeaderValue(header) !== name) return `the body names ${JSON.stringify(name)} but the Mcp-Name header names ${JSON.stringify(header)}`;
  } else if (header !== undefined) return `the Mcp-Name header is set but ${message.method} names nothing`;
  if (message.method !== "tools/call") return undefined;
  const args = (message.params?.arguments ?? {}) as Record<string, unknown>;
  const mirrored = mirroredParameters(inputSchema);
  for (const [header, arg] of mirrored) {
    const raw = req.headers[`mcp-param-${header}`];
    const expected = parameterValue(args[arg]);
    if (raw === undefined) {
      if (expected !== undefined) return `the body carries ${arg}=${JSON.stringify(args[arg])} but the Mcp-Param-${header} header is absent`;
      continue;
    }
    const given = typeof raw === "string" ? decodeHeaderValue(raw) : undefined;
    if (given === undefined || given !== expected) return `the Mcp-Param-${header} header does not match ${arg} in the body`;
  }
  return undefined;
}

/** The 2026 headers for the upstream, computed from the decided message (never copied from the agent). */
export function upstreamHeaders(message: JsonRpcMessage, inputSchema: unknown): Record<string, string> {
  const out: Record<string, string> = { "mcp-protocol-version": MODERN_VERSION };
  if (message.method !== undefined) out["mcp-method"] = encodeHeaderValue(message.method);
  const name = nameOf(message);
  if (name !== undefined) out["mcp-name"] = encodeHeaderValue(name);
  if (message.method === "tools/call") {
    const args = (message.params?.arguments ?? {}) as Record<string, unknown>;
    for (const [header, arg] of mirroredParameters(inputSchema)) {
      const value = parameterValue(args[arg]);
      if (value !== undefined) out[`mcp-param-${header}`] = encodeHeaderValue(value);
    }
  }
  return out;
}

/**
 * Roots that are not the agent's to give (pinned, or none) cannot come in through 2026's in-band input either:
 * the forwarded request does not declare the roots capability, and an answer shaped like a roots list is replaced.
 */
export function withoutClientRoots(message: JsonRpcMessage, roots: RootsAnswer): void {
  if (roots.kind === "client" || !message.params) return;
  const meta = message.params._meta as Record<string, unknown> | undefined;
  const capabilities = meta?.[CLIENT_CAPABILITIES_KEY];
  if (capabilities !== null && typeof capabilities === "object" && "roots" in capabilities) {
    const { roots: _dropped, ...rest } = capabilities as Record<string, unknown>;
    meta![CLIENT_CAPABILITIES_KEY] = rest;
  }
  const responses = (message.params as Record<string, unknown>).inputResponses;
  if (responses === null || typeof responses !== "object") return;
  for (const [key, value] of Object.entries(responses as Record<string, unknown>)) {
    if (value !== null && typeof value === "object" && Array.isArray((value as { roots?: unknown }).roots)) {
      (responses as Record<string, unknown>)[key] = { ...value, roots: roots.kind === "pinned" ? roots.roots : [] };
    }
  }
}

/** The discover answer for an upstream that only speaks 2025: auto clients fall back to initialize, pinned ones fail clearly. */
export const LEGACY_DISCOVER_RESULT = { resultType: "complete", supportedVersions: ["2025-11-25", "2025-06-18", "2025-03-26"], capabilities: {}, ttlMs: 0, cacheScope: "private" } as const;
