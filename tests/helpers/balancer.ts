import { Buffer } from "node:buffer";
import { Agent, createServer, request, type IncomingHttpHeaders, type IncomingMessage, type OutgoingHttpHeaders, type ServerResponse } from "node:http";
import type { AddressInfo } from "node:net";

export interface TestBalancer {
  /** http://127.0.0.1:PORT */
  url: string;
  /** How many requests each target answered, in the order of `targets`. */
  counts(): number[];
  /** Closes the listener and every open connection. Safe to call more than once. */
  stop(): Promise<void>;
}

/** Never forwarded in either direction (RFC 9110 section 7.6.1), plus whatever the Connection header names. */
const HOP_BY_HOP = new Set(["connection", "keep-alive", "transfer-encoding", "upgrade", "te", "trailer"]);
/** Connection failures that mean the target did not take the request: try the next one (nginx `proxy_next_upstream error`). */
const RETRYABLE = new Set(["ECONNREFUSED", "ECONNRESET", "EPIPE", "EHOSTUNREACH", "ENETUNREACH"]);

/**
 * A round-robin HTTP reverse proxy on a free loopback port, standing in for nginx in front of several gateways.
 * Responses stream through unbuffered (Server-Sent Events arrive as written), a client disconnect aborts the
 * upstream request, and a target that refuses or resets the connection before answering is skipped for the next.
 */
export async function startBalancer(targets: string[]): Promise<TestBalancer> {
  if (targets.length === 0) throw new Error("startBalancer needs at least one target");
  const upstreams = targets.map((t) => new URL(t));
  const counts = targets.map(() => 0);
  // No keep-alive: a pooled socket the target closed while idle would fail like a dead target and skew round robin.
  const agent = new Agent({ keepAlive: false });
  let next = 0;

  const server = createServer((req, res) => {
    void readBody(req).then(
      (body) => forward(req, res, body),
      () => res.destroy(),
    );
  });

  const forward = (req: IncomingMessage, res: ServerResponse, body: Buffer) => {
    const first = next++ % upstreams.length;
    const headers = requestHeaders(req.headers, body, req.method ?? "GET");
    const errors: string[] = [];
    let clientGone = false;
    let current: ReturnType<typeof request> | undefined;
    res.once("close", () => {
      if (res.writableFinished) return;
      clientGone = true;
      current?.destroy();
    });

    const attempt = (n: number) => {
      if (clientGone) return;
      if (n >= upstreams.length) {
        const text = JSON.stringify({ error: "bad_gateway", message: "no target accepted the request", attempts: errors });
        res.writeHead(502, { "content-type": "application/json", "content-length": Buffer.byteLength(text) }).end(text);
        return;
      }
      const index = (first + n) % upstreams.length;
      const target = upstreams[index]!;
      const upstream = request({
        agent,
        protocol: target.protocol,
        hostname: target.hostname,
        port: target.port,
        method: req.method,
        path: target.pathname.replace(/\/$/, "") + (req.url ?? "/"),
        headers,
      });
      current = upstream;
      let responded = false;
      upstream.once("response", (up) => {
        responded = true;
        counts[index]!++;
        res.writeHead(up.statusCode ?? 502, up.statusMessage, responseHeaders(up.headers));
        // Send the status line and headers now, so an event stream's client sees them before the first event.
        res.flushHeaders();
        up.pipe(res);
        up.on("error", () => res.destroy());
        up.once("close", () => {
          if (!up.complete) res.destroy();
        });
      });
      upstream.on("error", (err: NodeJS.ErrnoException) => {
        if (clientGone) return;
        if (responded) {
          res.destroy(err);
          return;
        }
        errors.push(`${targets[index]}: ${err.code ?? err.message}`);
        if (err.code && RETRYABLE.has(err.code)) {
          attempt(n + 1);
          return;
        }
        const text = JSON.stringify({ error: "bad_gateway", message: err.message, attempts: errors });
        if (!res.headersSent) res.writeHead(502, { "content-type": "application/json", "content-length": Buffer.byteLength(text) });
        res.end(text);
      });
      upstream.end(body);
    };
    attempt(0);
  };

  await new Promise<void>((resolve, reject) => {
    server.once("error", reject);
    server.listen(0, "127.0.0.1", () => resolve());
  });
  const { port } = server.address() as AddressInfo;

  let stopped: Promise<void> | undefined;
  return {
    url: `http://127.0.0.1:${port}`,
    counts: () => [...counts],
    stop() {
      stopped ??= new Promise<void>((resolve) => {
        server.close(() => resolve());
        server.closeAllConnections();
        agent.destroy();
      });
      return stopped;
    },
  };
}

function readBody(req: IncomingMessage): Promise<Buffer> {
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    req.on("data", (c: Buffer) => chunks.push(c));
    req.once("end", () => resolve(Buffer.concat(chunks)));
    req.once("error", reject);
    req.once("close", () => {
      if (!req.complete) reject(new Error("client went away before sending the whole request"));
    });
  });
}

function dropHopByHop(headers: IncomingHttpHeaders): Record<string, string | string[]> {
  const named = new Set(
    String(headers.connection ?? "")
      .split(",")
      .map((s) => s.trim().toLowerCase())
      .filter(Boolean),
  );
  const out: Record<string, string | string[]> = {};
  for (const [name, value] of Object.entries(headers)) {
    if (value === undefined || HOP_BY_HOP.has(name) || named.has(name) || name.startsWith("proxy-")) continue;
    out[name] = value;
  }
  return out;
}

function requestHeaders(incoming: IncomingHttpHeaders, body: Buffer, method: string): OutgoingHttpHeaders {
  const headers: OutgoingHttpHeaders = dropHopByHop(incoming);
  // The target's own host (http.request fills it in), as nginx's default `proxy_set_header Host $proxy_host`.
  delete headers.host;
  // The body was buffered (so it can be re-sent), hence any chunked framing is gone: send its exact length.
  delete headers["content-length"];
  if (body.length > 0 || incoming["content-length"] !== undefined || !["GET", "HEAD", "DELETE", "OPTIONS"].includes(method)) {
    headers["content-length"] = body.length;
  }
  return headers;
}

function responseHeaders(incoming: IncomingHttpHeaders): OutgoingHttpHeaders {
  return dropHopByHop(incoming);
}
