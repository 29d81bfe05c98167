// Clients for MCP 2026-07-28 beside the 2025 era: the official TypeScript SDK v2 client (pinned to 2026-07-28, in
// "auto" mode, or the 2025 handshake), raw 2026 requests with the standard headers (for what the SDK client does
// not send: tasks, mismatched headers), and the official Python SDK client (tests/fixtures/mcp2026/py_client.py)
// in a venv made from PyPI and cached.
import { execFile } from "node:child_process";
import { join } from "node:path";
import { promisify } from "node:util";
import { Client, StreamableHTTPClientTransport } from "@modelcontextprotocol/client";
import type { CallToolResult } from "@modelcontextprotocol/client";
import { StdioClientTransport, type StdioServerParameters } from "@modelcontextprotocol/client/stdio";
import { ROOT } from "./cli.ts";
import { pythonVenv } from "./upstreams.ts";

const run = promisify(execFile);

export const MODERN_VERSION = "2026-07-28";

/** How the SDK client picks the era: pinned to 2026-07-28, "auto" (server/discover, else initialize), or the 2025 handshake. */
export type EraMode = "pin" | "auto" | "legacy";

export interface ClientOptions {
  mode: EraMode;
  /** Bearer token for HTTP. */
  token?: string;
  /** When set, the client declares elicitation and accepts every elicitation with this content. */
  answer?: Record<string, string | number | boolean>;
}

function newClient(o: ClientOptions): Client {
  const versionNegotiation = { mode: o.mode === "pin" ? { pin: MODERN_VERSION } : o.mode };
  const client = new Client({ name: "toolgate-test", version: "1.0.0" }, { versionNegotiation, capabilities: o.answer ? { elicitation: { form: {} } } : {} });
  if (o.answer) {
    const content = o.answer;
    client.setRequestHandler("elicitation/create", async () => ({ action: "accept" as const, content }));
  }
  return client;
}

/** The TS SDK v2 client connected to a Streamable HTTP URL. */
export async function connectHttp(url: string, o: ClientOptions): Promise<Client> {
  const client = newClient(o);
  const headers: Record<string, string> = o.token ? { authorization: `Bearer ${o.token}` } : {};
  await client.connect(new StreamableHTTPClientTransport(new URL(url), { requestInit: { headers } }));
  return client;
}

/** The TS SDK v2 client connected to a stdio server it starts (in auto mode the SDK probes on a sibling process first). */
export async function connectStdio(server: StdioServerParameters, o: ClientOptions): Promise<Client> {
  const client = newClient(o);
  await client.connect(new StdioClientTransport({ stderr: "ignore", ...server }));
  return client;
}

/** tests/fixtures/mcp2026/stdio-server.ts as stdio parameters; its records go to `recordLog` when given. */
export function stdioFixture(recordLog?: string): StdioServerParameters {
  return { command: process.execPath, args: [join(ROOT, "tests/fixtures/mcp2026/stdio-server.ts")], cwd: ROOT, ...(recordLog ? { env: { RECORD_LOG: recordLog } } : {}) };
}

/** The text of a tool result, for literal assertions. */
export function resultText(result: CallToolResult): string {
  return result.content.map((c) => (c.type === "text" ? c.text : `[${c.type}]`)).join("\n");
}

/** One JSON-RPC message as a raw client sees it. */
export interface WireMessage {
  jsonrpc?: string;
  id?: string | number | null;
  method?: string;
  params?: Record<string, unknown>;
  result?: Record<string, unknown>;
  error?: { code: number; message: string; data?: unknown };
}

export interface RawAnswer {
  status: number;
  headers: Headers;
  /** The body as it came (for showing the wire bytes when an assertion fails). */
  body: string;
  /** Every JSON-RPC message in the body (one for JSON, each event's for an event stream). */
  messages: WireMessage[];
  /** The message answering the request, if any. */
  response?: WireMessage;
}

/** A header value as 2026 clients send it: plain when it is safe visible ASCII, else the `=?base64?…?=` sentinel. */
export function headerValue(value: string): string {
  const plain = /^[\x21-\x7e]([\x20-\x7e]*[\x21-\x7e])?$/.test(value) && !(value.startsWith("=?base64?") && value.endsWith("?="));
  return plain ? value : `=?base64?${Buffer.from(value, "utf8").toString("base64")}?=`;
}

const NAME_SOURCE: Record<string, string> = { "tools/call": "name", "prompts/get": "name", "resources/read": "uri", "tasks/get": "taskId", "tasks/update": "taskId", "tasks/cancel": "taskId" };

export interface RawRequest {
  id?: string | number;
  method: string;
  params?: Record<string, unknown>;
}

export interface RawOptions {
  token?: string;
  /** `io.modelcontextprotocol/clientCapabilities` (default {}). */
  capabilities?: Record<string, unknown>;
  /** Replaces or adds headers after the computed ones; a value of null removes that header. */
  headers?: Record<string, string | null>;
  signal?: AbortSignal;
}

/**
 * POSTs one 2026-07-28 request as a conforming client would: `_meta` protocol version, client info and
 * capabilities in the body; MCP-Protocol-Version, Mcp-Method and Mcp-Name (name, uri or taskId) headers.
 */
export async function postModern(url: string, request: RawRequest, o: RawOptions = {}): Promise<RawAnswer> {
  const params = request.params ?? {};
  const meta = { "io.modelcontextprotocol/protocolVersion": MODERN_VERSION, "io.modelcontextprotocol/clientInfo": { name: "toolgate-raw", version: "1.0.0" }, "io.modelcontextprotocol/clientCapabilities": o.capabilities ?? {}, ...(params._meta as object | undefined) };
  const body = { jsonrpc: "2.0", id: request.id ?? 1, method: request.method, params: { ...params, _meta: meta } };
  const headers: Record<string, string> = {
    "content-type": "application/json",
    accept: "application/json, text/event-stream",
    "mcp-protocol-version": MODERN_VERSION,
    "mcp-method": request.method,
  };
  const source = NAME_SOURCE[request.method];
  const name = source ? params[source] : undefined;
  if (typeof name === "string") headers["mcp-name"] = headerValue(name);
  if (o.token) headers.authorization = `Bearer ${o.token}`;
  for (const [k, v] of Object.entries(o.headers ?? {})) {
    if (v === null) delete headers[k.toLowerCase()];
    else headers[k.toLowerCase()] = v;
  }
  const res = await fetch(url, { method: "POST", headers, body: JSON.stringify(body), ...(o.signal ? { signal: o.signal } : {}) });
  const text = await res.text();
  const messages = parseMessages(res.headers.get("content-type") ?? "", text);
  const response = messages.find((m) => m.method === undefined && ("result" in m || "error" in m));
  return { status: res.status, headers: res.headers, body: text, messages, ...(response ? { response } : {}) };
}

/** The JSON-RPC messages in a JSON body or an event stream. */
export function parseMessages(contentType: string, body: string): WireMessage[] {
  const texts = contentType.split(";")[0]!.trim().toLowerCase() === "text/event-stream"
    ? body.split(/\r?\n\r?\n/).map((event) => event.split(/\r?\n/).filter((l) => l.startsWith("data:")).map((l) => l.slice(5).trimStart()).join("\n"))
    : [body];
  const out: WireMessage[] = [];
  for (const t of texts) {
    if (!t.trim()) continue;
    try {
      out.push(JSON.parse(t) as WireMessage);
    } catch {
      // Not a JSON-RPC message (an SSE comment or a non-JSON error page): nothing to collect.
    }
  }
  return out;
}

const PY_DIR = join(ROOT, "tests/fixtures/mcp2026");

/**
 * A venv with the official Python MCP SDK (tests/fixtures/mcp2026/requirements.txt, pinned) installed from PyPI;
 * built once under `<cacheRoot>/mcp2026-py/<hash of requirements.txt>/`. Returns its python.
 */
export function pythonClientVenv(): Promise<string> {
  return pythonVenv("mcp2026-py", PY_DIR, "the Python MCP client");
}

/** What a tool call came to in the Python client: a result, a JSON-RPC error, or an exception the SDK raised. */
export type PyOutcome = { isError: boolean; text: string } | { error: { code: number; message: string } } | { exception: string; message: string };

/** The JSON py_client.py prints. */
export interface PyReport {
  mode: string;
  protocolVersion: string;
  era: "modern" | "legacy";
  supportedVersions: string[] | null;
  serverInfo: { name: string; version: string } | null;
  tools: string[];
  call: PyOutcome;
  denied: PyOutcome;
}

export interface PyRun {
  url: string;
  token: string;
  /** The SDK's mode: "auto", "legacy" or a pinned version such as "2026-07-28". */
  mode: string;
  call: { name: string; arguments?: Record<string, unknown> };
  denied: { name: string; arguments?: Record<string, unknown> };
}

/** Runs py_client.py with the Python SDK and returns its report; rejects with its stderr when it could not connect. */
export async function runPythonClient(r: PyRun): Promise<PyReport> {
  const python = await pythonClientVenv();
  const args = [join(PY_DIR, "py_client.py"), "--url", r.url, "--token", r.token, "--mode", r.mode, "--call", r.call.name, "--args", JSON.stringify(r.call.arguments ?? {}), "--denied", r.denied.name, "--denied-args", JSON.stringify(r.denied.arguments ?? {})];
  try {
    const { stdout } = await run(python, args, { timeout: 60_000 });
    return JSON.parse(stdout) as PyReport;
  } catch (error) {
    const e = error as Error & { stderr?: string };
    throw new Error(`py_client.py failed: ${e.stderr?.trim() || e.message}`, { cause: error });
  }
}
