// The load generator: MCP clients over Streamable HTTP (2025 sessions, or stateless 2026-07-28) calling one tool, either in a
// closed loop (each session waits for its answer before the next call) or at a fixed offered rate (latency
// measured from the scheduled send time, so a slow server cannot hide queueing: no coordinated omission).
import { performance } from "node:perf_hooks";
import { Agent, request } from "undici";
import { mediaType } from "../../gateway/http/media-type.ts";

export interface Target {
  url: string;
  /** Sent as `Authorization: Bearer <token>` (the gateway's grant token). */
  token?: string;
}

export interface LoadResult {
  calls: number;
  errors: number;
  seconds: number;
  callsPerSec: number;
  p50Ms: number;
  p99Ms: number;
  p999Ms: number;
  firstError?: string;
}

const agent = new Agent({ connections: 1024, pipelining: 1, keepAliveTimeout: 30_000 });
const PROTOCOL = "2025-06-18";

/** What the load loop drives: one client that makes one call at a time. */
export interface LoadSession {
  callTool(name: string, args: Record<string, unknown>): Promise<void>;
  close(): Promise<void>;
}

export class McpSession implements LoadSession {
  private nextId = 1;
  private readonly target: Target;
  private readonly sessionId: string | undefined;
  private constructor(target: Target, sessionId: string | undefined) {
    this.target = target;
    this.sessionId = sessionId;
  }

  static async open(target: Target): Promise<McpSession> {
    const headers = baseHeaders(target);
    const init = await request(target.url, {
      method: "POST",
      dispatcher: agent,
      headers,
      body: JSON.stringify({ jsonrpc: "2.0", id: 0, method: "initialize", params: { protocolVersion: PROTOCOL, capabilities: {}, clientInfo: { name: "toolgate-bench", version: "1" } } }),
    });
    const text = await init.body.text();
    if (init.statusCode !== 200) throw new Error(`initialize: HTTP ${init.statusCode}: ${text.slice(0, 200)}`);
    const sessionId = init.headers["mcp-session-id"] as string | undefined;
    const session = new McpSession(target, sessionId);
    const note = await request(target.url, { method: "POST", dispatcher: agent, headers: session.headers(), body: JSON.stringify({ jsonrpc: "2.0", method: "notifications/initialized" }) });
    await note.body.dump();
    return session;
  }

  private headers(): Record<string, string> {
    const h = baseHeaders(this.target);
    h["mcp-protocol-version"] = PROTOCOL;
    if (this.sessionId) h["mcp-session-id"] = this.sessionId;
    return h;
  }

  /** One tools/call; throws on a transport error, a JSON-RPC error or `isError: true`. */
  async callTool(name: string, args: Record<string, unknown>): Promise<void> {
    const id = this.nextId++;
    const res = await request(this.target.url, { method: "POST", dispatcher: agent, headers: this.headers(), body: JSON.stringify({ jsonrpc: "2.0", id, method: "tools/call", params: { name, arguments: args } }) });
    const text = await res.body.text();
    if (res.statusCode !== 200) throw new Error(`HTTP ${res.statusCode}: ${text.slice(0, 200)}`);
    const message = parseResponse(text, String(res.headers["content-type"] ?? ""), id);
    if (message.error) throw new Error(`JSON-RPC error ${JSON.stringify(message.error).slice(0, 200)}`);
    if (message.result?.isError) throw new Error(`tool error ${JSON.stringify(message.result).slice(0, 200)}`);
  }

  async close(): Promise<void> {
    if (!this.sessionId) return;
    const res = await request(this.target.url, { method: "DELETE", dispatcher: agent, headers: this.headers() }).catch(() => undefined);
    await res?.body.dump();
  }
}

const MODERN = "2026-07-28";

/**
 * A 2026-07-28 client: no initialize and no session; every tools/call is one stateless POST carrying the `_meta`
 * envelope and the MCP-Protocol-Version, Mcp-Method, Mcp-Name and Mcp-Param-* headers a conforming client sends.
 */
export class ModernClient implements LoadSession {
  private nextId = 1;
  private readonly target: Target;
  /** Argument name -> the `x-mcp-header` name it is mirrored in (plain ASCII values only). */
  private readonly mirrored: Record<string, string>;
  constructor(target: Target, mirrored: Record<string, string> = {}) {
    this.target = target;
    this.mirrored = mirrored;
  }

  /** One tools/call; throws on a transport error, a JSON-RPC error, `isError: true` or a result without `resultType`. */
  async callTool(name: string, args: Record<string, unknown>): Promise<void> {
    const id = this.nextId++;
    const headers: Record<string, string> = { ...baseHeaders(this.target), "mcp-protocol-version": MODERN, "mcp-method": "tools/call", "mcp-name": name };
    for (const [arg, header] of Object.entries(this.mirrored)) if (typeof args[arg] === "string") headers[`mcp-param-${header.toLowerCase()}`] = args[arg];
    const _meta = { "io.modelcontextprotocol/protocolVersion": MODERN, "io.modelcontextprotocol/clientCapabilities": {}, "io.modelcontextprotocol/clientInfo": { name: "toolgate-bench", version: "1" } };
    const res = await request(this.target.url, { method: "POST", dispatcher: agent, headers, body: JSON.stringify({ jsonrpc: "2.0", id, method: "tools/call", params: { name, arguments: args, _meta } }) });
    const text = await res.body.text();
    if (res.statusCode !== 200) throw new Error(`HTTP ${res.statusCode}: ${text.slice(0, 200)}`);
    const message = parseResponse(text, String(res.headers["content-type"] ?? ""), id);
    if (message.error) throw new Error(`JSON-RPC error ${JSON.stringify(message.error).slice(0, 200)}`);
    if (message.result?.isError || message.result?.resultType !== "complete") throw new Error(`not a complete result ${JSON.stringify(message.result).slice(0, 200)}`);
  }

  async close(): Promise<void> {}
}

function baseHeaders(target: Target): Record<string, string> {
  const h: Record<string, string> = { "content-type": "application/json", accept: "application/json, text/event-stream" };
  if (target.token) h.authorization = `Bearer ${target.token}`;
  return h;
}

interface JsonRpcResponse {
  id?: number;
  result?: { isError?: boolean; resultType?: string };
  error?: unknown;
}

function parseResponse(text: string, contentType: string, id: number): JsonRpcResponse {
  if (mediaType(contentType) === "text/event-stream") {
    for (const line of text.split("\n")) {
      if (!line.startsWith("data:")) continue;
      const message = JSON.parse(line.slice(5)) as JsonRpcResponse;
      if (message.id === id) return message;
    }
    throw new Error("no response in the event stream");
  }
  return JSON.parse(text) as JsonRpcResponse;
}

export async function openSessions(target: Target, count: number, parallel = 32): Promise<McpSession[]> {
  const sessions: McpSession[] = [];
  for (let i = 0; i < count; i += parallel) {
    sessions.push(...(await Promise.all(Array.from({ length: Math.min(parallel, count - i) }, () => McpSession.open(target)))));
  }
  return sessions;
}

export interface LoadOptions {
  sessions: LoadSession[];
  tool: string;
  args: Record<string, unknown>;
  warmupMs: number;
  durationMs: number;
  /** Calls per second offered (open loop). Absent: closed loop, one call in flight per session. */
  rate?: number;
}

export async function runLoad(options: LoadOptions): Promise<LoadResult> {
  const latencies: number[] = [];
  let errors = 0;
  let firstError: string | undefined;
  const start = performance.now();
  const measureFrom = start + options.warmupMs;
  const end = measureFrom + options.durationMs;
  const record = (scheduled: number, error?: unknown) => {
    const done = performance.now();
    if (scheduled < measureFrom || scheduled >= end) return;
    if (error) {
      errors++;
      firstError ??= error instanceof Error ? error.message : String(error);
    } else latencies.push(done - scheduled);
  };

  if (options.rate === undefined) {
    await Promise.all(
      options.sessions.map(async (session) => {
        while (performance.now() < end) {
          const t0 = performance.now();
          try {
            await session.callTool(options.tool, options.args);
            record(t0);
          } catch (error) {
            record(t0, error);
          }
        }
      }),
    );
  } else {
    const interval = 1000 / options.rate;
    const inFlight: Promise<void>[] = [];
    let n = 0;
    for (;;) {
      const scheduled = start + n * interval;
      if (scheduled >= end) break;
      const wait = scheduled - performance.now();
      if (wait > 0) await new Promise((r) => setTimeout(r, wait));
      const session = options.sessions[n % options.sessions.length]!;
      // Latency counts from the scheduled time (a generator running late still charges its lag), or from the
      // send when a timer fired a little early.
      const from = Math.min(scheduled, performance.now());
      inFlight.push(session.callTool(options.tool, options.args).then(() => record(from), (error: unknown) => record(from, error)));
      n++;
    }
    await Promise.all(inFlight);
  }

  latencies.sort((a, b) => a - b);
  const pct = (p: number) => (latencies.length ? latencies[Math.min(latencies.length - 1, Math.floor(p * latencies.length))]! : NaN);
  const seconds = options.durationMs / 1000;
  return { calls: latencies.length, errors, seconds, callsPerSec: latencies.length / seconds, p50Ms: pct(0.5), p99Ms: pct(0.99), p999Ms: pct(0.999), ...(firstError ? { firstError } : {}) };
}
