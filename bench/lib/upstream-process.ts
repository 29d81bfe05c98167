// An upstream MCP server for the benchmarks, run as its own process so it does not share an event loop with the
// load generator. `node bench/lib/upstream-process.ts echo|everything` prints its URL as one JSON line.
import { McpServer } from "@modelcontextprotocol/sdk/server/mcp.js";
import { z } from "zod";
import { serveOverHttp, startEverythingHttp } from "../../tests/fixtures/everything-http.ts";

const kind = process.argv[2] ?? "echo";

/** The cheapest useful MCP server: one `echo` tool, JSON responses, so the gateway's own cost is what shows. */
function echoServer(): { server: McpServer } {
  const server = new McpServer({ name: "bench-echo", version: "1.0.0" });
  server.registerTool("echo", { description: "Echoes its input", inputSchema: { message: z.string() } }, async ({ message }) => ({ content: [{ type: "text", text: message }] }));
  return { server };
}

const upstream = kind === "everything" ? await startEverythingHttp() : await serveOverHttp(echoServer, { jsonResponse: true, recordRequests: false });
process.stdout.write(JSON.stringify({ url: upstream.url }) + "\n");
process.on("SIGTERM", () => void upstream.close().then(() => process.exit(0)));
