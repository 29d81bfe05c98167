import { Client } from "@modelcontextprotocol/sdk/client/index.js";
import { SSEClientTransport } from "@modelcontextprotocol/sdk/client/sse.js";
import { StreamableHTTPClientTransport } from "@modelcontextprotocol/sdk/client/streamableHttp.js";
import type { Transport } from "@modelcontextprotocol/sdk/shared/transport.js";
import type { ToolDefinition } from "../../sdk/index.ts";
import type { ServerTarget } from "../contracts.ts";
import { SDK_VERSION } from "../../sdk/index.ts";
import { spawnServer } from "../proxy/stdio-process.ts";
import { ProcessTransport } from "./process-transport.ts";

/** More pages than this, or a cursor that comes back, and the listing fails rather than pass for complete. */
export const MAX_TOOL_PAGES = 100;

/**
 * Lists every tool of an upstream with its own MCP session (for a stdio server, a short-lived child started as
 * the proxy starts agents' children, never inside `dataDir`), following `nextCursor` pages. Bounded by the
 * server's `timeoutMs` for each step. The result is the complete list or an error: the catalog removes whatever
 * a listing lacks.
 */
export async function listUpstreamTools(target: ServerTarget, dataDir?: string): Promise<ToolDefinition[]> {
  const t = target.transport;
  const transport: Transport =
    t.type === "streamable-http"
      ? new StreamableHTTPClientTransport(new URL(t.url), { requestInit: { headers: t.headers } })
      : t.type === "sse"
        ? // Legacy HTTP+SSE (2024-11-05): deprecated in the SDK as in the spec, still the way to reach such servers.
          new SSEClientTransport(new URL(t.url), { requestInit: { headers: t.headers } })
        : new ProcessTransport(spawnServer(t, dataDir));
  const client = new Client({ name: "toolgate-catalog", version: SDK_VERSION });
  const options = { timeout: target.timeoutMs };
  try {
    await client.connect(transport, options);
    const tools: ToolDefinition[] = [];
    const seen = new Set<string>();
    let cursor: string | undefined;
    for (let page = 1; ; page++) {
      const result = await client.listTools(cursor === undefined ? {} : { cursor }, options);
      tools.push(...(result.tools as ToolDefinition[]));
      cursor = result.nextCursor;
      if (!cursor) return tools;
      if (seen.has(cursor)) throw new Error(`tools/list returned the same cursor twice (after page ${page})`);
      if (page === MAX_TOOL_PAGES) throw new Error(`tools/list has more than ${MAX_TOOL_PAGES} pages`);
      seen.add(cursor);
    }
  } finally {
    await client.close().catch(() => {});
  }
}
