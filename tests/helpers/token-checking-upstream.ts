import { createServer, type IncomingMessage, type Server } from "node:http";
import { createRemoteJWKSet, jwtVerify, type JWTPayload } from "jose";
import { McpServer } from "@modelcontextprotocol/sdk/server/mcp.js";
import { StreamableHTTPServerTransport } from "@modelcontextprotocol/sdk/server/streamableHttp.js";
import { z } from "zod";

/** What the upstream saw of one request. */
export interface SeenRequest {
  /** The Authorization header as received (undefined when none came). */
  authorization?: string;
  /** Whether it verified as a token of `issuer` for `audience`. */
  verified: boolean;
  /** The JSON-RPC method of the request. */
  method?: string;
}

export interface TokenCheckingUpstream {
  /** The MCP endpoint, `http://127.0.0.1:<port>/mcp`. */
  url: string;
  seen(): SeenRequest[];
  close(): Promise<void>;
}

/**
 * A real MCP server (the TypeScript SDK, stateless Streamable HTTP) that is itself an OAuth resource server: with
 * `check`, every request must carry a JWT from `issuer` (verified with jose against its JWKS) whose `aud` holds
 * `audience`, or it is answered 401 before MCP sees it. Tools: `whoami` (the verified token's sub, act and aud, as
 * the upstream saw them) and `transfer` ({amount}). Without `check` it only records what arrived.
 */
export async function startTokenCheckingUpstream(options: { check?: { issuer: string; jwksUri: string; audience: string } } = {}): Promise<TokenCheckingUpstream> {
  const seen: SeenRequest[] = [];
  const keys = options.check ? createRemoteJWKSet(new URL(options.check.jwksUri)) : undefined;

  function mcpServer(claims: JWTPayload | undefined): McpServer {
    const server = new McpServer({ name: "token-checking-upstream", version: "1.0.0" });
    const text = (t: string) => ({ content: [{ type: "text" as const, text: t }] });
    server.registerTool("whoami", { description: "Who the upstream's caller is, by the token it received", inputSchema: {} }, async () =>
      text(claims ? JSON.stringify({ sub: claims.sub, act: claims.act, aud: claims.aud, iss: claims.iss }) : "no token"),
    );
    server.registerTool("transfer", { description: "Moves money", inputSchema: { amount: z.number() } }, async ({ amount }) => text(`transferred ${amount}`));
    return server;
  }

  async function verify(req: IncomingMessage): Promise<JWTPayload | undefined> {
    const match = /^Bearer (.+)$/.exec(req.headers.authorization ?? "");
    if (!match || !options.check) return undefined;
    try {
      return (await jwtVerify(match[1]!, keys!, { issuer: options.check.issuer, audience: options.check.audience })).payload;
    } catch {
      return undefined;
    }
  }

  const http: Server = createServer(async (req, res) => {
    const chunks: Buffer[] = [];
    for await (const chunk of req) chunks.push(chunk as Buffer);
    const text = Buffer.concat(chunks).toString("utf8");
    let body: unknown;
    try {
      body = text ? JSON.parse(text) : undefined;
    } catch {
      res.writeHead(400).end();
      return;
    }
    const claims = await verify(req);
    seen.push({ ...(req.headers.authorization !== undefined ? { authorization: req.headers.authorization } : {}), verified: claims !== undefined, method: (body as { method?: string } | undefined)?.method });
    if (options.check && !claims) {
      res.writeHead(401, { "content-type": "application/json", "www-authenticate": 'Bearer error="invalid_token"' }).end(JSON.stringify({ error: "invalid_token" }));
      return;
    }
    if (req.method !== "POST") {
      res.writeHead(405, { allow: "POST" }).end();
      return;
    }
    const transport = new StreamableHTTPServerTransport({ sessionIdGenerator: undefined, enableJsonResponse: true });
    const server = mcpServer(claims);
    res.on("close", () => {
      void transport.close();
      void server.close();
    });
    await server.connect(transport);
    await transport.handleRequest(req, res, body);
  });
  await new Promise<void>((resolve) => http.listen(0, "127.0.0.1", resolve));
  const port = (http.address() as { port: number }).port;
  return {
    url: `http://127.0.0.1:${port}/mcp`,
    seen: () => [...seen],
    async close() {
      http.closeAllConnections();
      await new Promise<void>((resolve) => http.close(() => resolve()));
    },
  };
}
