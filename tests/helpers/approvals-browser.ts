import { existsSync } from "node:fs";
import { McpServer } from "@modelcontextprotocol/sdk/server/mcp.js";
import { chromium, type Browser } from "playwright-core";
import { z } from "zod";
import { serveOverHttp, type EverythingHttp } from "../fixtures/everything-http.ts";

/** Debian's Chromium (installed by .ci/run), or CHROMIUM_PATH. */
const CHROMIUM = process.env.CHROMIUM_PATH ?? "/usr/bin/chromium";

/** Headless Chromium for the approvals page tests; a clear error when it is not installed. */
export async function launchChromium(): Promise<Browser> {
  if (!existsSync(CHROMIUM)) throw new Error(`Chromium not found at ${CHROMIUM}: install Debian's chromium (apt-get install chromium) or set CHROMIUM_PATH`);
  return chromium.launch({
    executablePath: CHROMIUM,
    args: ["--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run", "--disable-background-networking", "--disable-component-update", "--disable-sync"],
  });
}

/** The upstream of the approval tests: one tool, `wire_transfer`, that counts the transfers it really made. */
export async function serveBank(): Promise<{ http: EverythingHttp; transfers(): number }> {
  let transfers = 0;
  const http = await serveOverHttp(() => {
    const server = new McpServer({ name: "bank", version: "1.0.0" });
    server.registerTool("wire_transfer", { inputSchema: { amount: z.number(), to: z.string() } }, async ({ amount, to }) => {
      transfers++;
      return { content: [{ type: "text", text: `sent ${amount} to ${to}` }] };
    });
    return { server };
  });
  return { http, transfers: () => transfers };
}

/** Calls above 1000 wait for a person's approval. */
export const TREASURY_POLICY = { version: "1", default: "deny", tools: { wire_transfer: { approval: { when: [{ path: "args.amount", op: "gt", value: 1000 }] } } } };
