import type { IncomingMessage } from "node:http";
import type { JsonRpcMessage } from "./jsonrpc.ts";

/**
 * The two eras of MCP one gateway URL serves. "2025": initialize, sessions (2025-11-25 and earlier revisions).
 * "2026": the stateless 2026-07-28 revision, where every request carries its protocol version in `_meta`.
 */
export type Era = "2025" | "2026";

export const MODERN_VERSION = "2026-07-28";
export const LEGACY_VERSIONS = ["2025-11-25", "2025-06-18", "2025-03-26"] as const;
export const PROTOCOL_VERSION_KEY = "io.modelcontextprotocol/protocolVersion";
export const CLIENT_CAPABILITIES_KEY = "io.modelcontextprotocol/clientCapabilities";

/** 2026-07-28 error codes the gateway answers with or relays. */
export const MODERN_ERROR = { headerMismatch: -32020, missingCapability: -32021, unsupportedVersion: -32022, invalidParams: -32602 } as const;

/** The protocol version a request claims in `_meta`, or undefined (a 2025-era message). */
export function claimedVersion(message: JsonRpcMessage): unknown {
  const meta = message.params?._meta as Record<string, unknown> | undefined;
  return meta !== undefined && typeof meta === "object" && PROTOCOL_VERSION_KEY in meta ? meta[PROTOCOL_VERSION_KEY] : undefined;
}

export type EraVerdict = { ok: true; era: Era } | { ok: false; status: 400; code: number; message: string; data?: unknown };

/**
 * The era of one agent message, from its body (a `_meta` protocol version claim makes it 2026, whatever the
 * method), cross-checked with the MCP-Protocol-Version header (basic/versioning, streamable-http "Protocol
 * Version Header"). Responses and unclaimed messages are 2025.
 */
export function eraOf(message: JsonRpcMessage, req: IncomingMessage): EraVerdict {
  const claim = claimedVersion(message);
  const header = req.headers["mcp-protocol-version"];
  if (claim === undefined) {
    if (header === MODERN_VERSION && message.method !== undefined) {
      return { ok: false, status: 400, code: MODERN_ERROR.invalidParams, message: `Invalid params: MCP-Protocol-Version ${MODERN_VERSION} needs the per-request envelope: params._meta["${PROTOCOL_VERSION_KEY}"] is missing` };
    }
    return { ok: true, era: "2025" };
  }
  if (claim !== MODERN_VERSION) {
    return { ok: false, status: 400, code: MODERN_ERROR.unsupportedVersion, message: `Unsupported protocol version: ${JSON.stringify(claim)}`, data: { supported: [MODERN_VERSION, ...LEGACY_VERSIONS], requested: claim } };
  }
  if (header !== MODERN_VERSION) {
    return { ok: false, status: 400, code: MODERN_ERROR.headerMismatch, message: `Bad Request: the MCP-Protocol-Version header (${header === undefined ? "absent" : JSON.stringify(header)}) does not match params._meta["${PROTOCOL_VERSION_KEY}"] (${MODERN_VERSION})` };
  }
  const capabilities = (message.params?._meta as Record<string, unknown>)[CLIENT_CAPABILITIES_KEY];
  if (message.id !== undefined && (capabilities === null || typeof capabilities !== "object" || Array.isArray(capabilities))) {
    return { ok: false, status: 400, code: MODERN_ERROR.invalidParams, message: `Invalid params: params._meta["${CLIENT_CAPABILITIES_KEY}"] must be an object` };
  }
  return { ok: true, era: "2026" };
}

/** A result the gateway makes, in the shape of the request's era: 2026 results say they are complete. */
export function eraResult(era: Era, result: Record<string, unknown>): Record<string, unknown> {
  return era === "2026" ? { resultType: "complete", ...result } : result;
}

/**
 * The JSON-RPC error code for an upstream failure: -32002 in 2025 (as before), -32603 with `data` in 2026, where
 * -32002 is reserved (resource not found) and MUST NOT be emitted.
 */
export function upstreamErrorCode(era: Era): number {
  return era === "2026" ? -32603 : -32002;
}
