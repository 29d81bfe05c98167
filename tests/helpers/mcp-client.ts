import { Client } from "@modelcontextprotocol/sdk/client/index.js";
import { StreamableHTTPClientTransport } from "@modelcontextprotocol/sdk/client/streamableHttp.js";
import type { CallToolResult } from "@modelcontextprotocol/sdk/types.js";

/** An MCP SDK client connected to `<proxyUrl>/mcp/<server>` with a grant token. */
export async function connect(proxyUrl: string, server: string, token: string, options: ConstructorParameters<typeof Client>[1] = {}): Promise<Client> {
  const client = new Client({ name: "toolgate-test", version: "1.0.0" }, options);
  await client.connect(new StreamableHTTPClientTransport(new URL(`${proxyUrl}/mcp/${server}`), { requestInit: { headers: { Authorization: `Bearer ${token}` } } }));
  return client;
}

/** The text of a tool result, for literal assertions. */
export function text(result: unknown): string {
  return ((result as CallToolResult).content ?? []).map((c) => (c.type === "text" ? c.text : `[${c.type}]`)).join("\n");
}

/** POSTs one raw JSON-RPC message to the proxy and returns status, headers and body text. */
export async function rawPost(url: string, body: unknown, headers: Record<string, string> = {}): Promise<{ status: number; headers: Headers; body: string }> {
  const res = await fetch(url, { method: "POST", headers: { "content-type": "application/json", accept: "application/json, text/event-stream", ...headers }, body: typeof body === "string" ? body : JSON.stringify(body) });
  return { status: res.status, headers: res.headers, body: await res.text() };
}
