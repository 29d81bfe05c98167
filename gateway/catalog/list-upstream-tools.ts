import { Client } from "@modelcontextprotocol/sdk/client/index.js";
import { getDefaultEnvironment, StdioClientTransport } from "@modelcontextprotocol/sdk/client/stdio.js";
import { StreamableHTTPClientTransport } from "@modelcontextprotocol/sdk/client/streamableHttp.js";
import type { Transport } from "@modelcontextprotocol/sdk/shared/transport.js";
import type { ToolDefinition } from "../../sdk/index.ts";
import type { ServerTarget } from "../contracts.ts";
import { SDK_VERSION } from "../../sdk/index.ts";

/**
 * Lists every tool of an upstream with its own MCP session (a short-lived child process for stdio servers),
 * following `nextCursor` pages. Bounded by the server's `timeoutMs` for each step.
 */
export async function listUpstreamTools(target: ServerTarget): Promise<ToolDefinition[]> {
  const t = target.transport;
  const transport: Transport =
    t.type === "streamable-http"
      ? new StreamableHTTPClientTransport(new URL(t.url), { requestInit: { headers: t.headers } })
      : new StdioClientTransport({ command: t.command, args: t.args, env: { ...getDefaultEnvironment(), ...t.env }, ...(t.cwd ? { cwd: t.cwd } : {}), stderr: "ignore" });
  const client = new Client({ name: "toolgate-catalog", version: SDK_VERSION });
  const options = { timeout: target.timeoutMs };
  try {
    await client.connect(transport, options);
    const tools: ToolDefinition[] = [];
    let cursor: string | undefined;
    for (let page = 0; page < 100; page++) {
      const result = await client.listTools(cursor ? { cursor } : {}, options);
      tools.push(...(result.tools as ToolDefinition[]));
      cursor = result.nextCursor;
      if (!cursor) break;
    }
    return tools;
  } finally {
    await client.close().catch(() => {});
  }
}
