import { createServer, request, type IncomingHttpHeaders, type ServerResponse } from "node:http";
import type { AddressInfo } from "node:net";

export interface LossyProxy {
  url: string;
  /** The next request with this method and path reaches the target, but its answer is lost (the connection is cut). */
  loseNextAnswer(method: string, path: string): void;
  /** Requests with this method and path wait unanswered and unsent, as at a frozen gateway... */
  freeze(method: string, path: string): void;
  /** ...until the gateway resumes: they reach it in the order they came, long after their senders gave up. */
  resume(): Promise<void>;
  close(): Promise<void>;
}

interface Held {
  method: string;
  url: string;
  headers: IncomingHttpHeaders;
  body: Buffer;
}

/**
 * An HTTP proxy on 127.0.0.1 in front of `target` that loses answers: the write happens, the client never hears
 * of it, as when an answer is lost on the network or arrives after the client gave up.
 */
export async function startLossyProxy(target: string): Promise<LossyProxy> {
  const lose: string[] = [];
  const frozen = new Set<string>();
  const held: Held[] = [];
  const forward = (r: Held, res: ServerResponse | undefined) =>
    new Promise<void>((resolve) => {
      const upstream = request(new URL(r.url, target), { method: r.method, headers: r.headers }, (answer) => {
        if (res) {
          res.writeHead(answer.statusCode!, answer.headers);
          answer.pipe(res);
        } else answer.resume();
        answer.once("end", resolve);
      });
      upstream.once("error", () => {
        res?.socket?.destroy();
        resolve();
      });
      upstream.end(r.body);
    });
  const server = createServer(async (req, res) => {
    const chunks: Buffer[] = [];
    for await (const chunk of req) chunks.push(chunk as Buffer);
    const r: Held = { method: req.method!, url: req.url!, headers: req.headers, body: Buffer.concat(chunks) };
    const what = `${r.method} ${r.url}`;
    if (frozen.has(what)) return void held.push(r);
    const lost = lose.indexOf(what);
    if (lost < 0) return forward(r, res);
    lose.splice(lost, 1);
    await forward(r, undefined);
    res.socket?.destroy();
  });
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  return {
    url: `http://127.0.0.1:${(server.address() as AddressInfo).port}`,
    loseNextAnswer: (method, path) => void lose.push(`${method} ${path}`),
    freeze: (method, path) => void frozen.add(`${method} ${path}`),
    async resume() {
      frozen.clear();
      for (const r of held.splice(0)) await forward(r, undefined);
    },
    async close() {
      server.closeAllConnections();
      await new Promise<void>((resolve) => server.close(() => resolve()));
    },
  };
}
