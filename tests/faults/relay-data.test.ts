// Issue 15, relay part: data through the relay is never changed, and every upstream failure reaches the agent as a
// JSON-RPC error with the request's id that says what happened. Real upstreams (the SDK's Streamable HTTP with SSE
// and with JSON answers, stdio, and a raw HTTP server that misbehaves) behind a real `toolgate serve`.
import { after, before, describe, test } from "node:test";
import assert from "node:assert/strict";
import { spawn } from "node:child_process";
import { createServer, type IncomingMessage, type Server, type ServerResponse } from "node:http";
import type { AddressInfo } from "node:net";
import { join } from "node:path";
import { ROOT } from "../helpers/cli.ts";
import { startGateway, type TestGateway } from "../helpers/gateway.ts";
import { eventually, isEventStream, mcpHeaders, openSession, settlesWithin, sseEvents, type JsonRpc } from "../fixtures/raw-mcp.ts";
import { activity, serveLargeOverHttp } from "../fixtures/large-server.ts";
import type { EverythingHttp } from "../fixtures/everything-http.ts";

const FIXTURE = join(ROOT, "tests", "fixtures", "large-server.ts");
const SIZES = [200_000, 1_000_000, 5_000_000];

let gw: TestGateway;
let sseUpstream: EverythingHttp;
let jsonUpstream: EverythingHttp;
let broken: { url: string; server: Server };
const tokens = new Map<string, string>();
const sessions = new Map<string, string>();

before(async () => {
  sseUpstream = await serveLargeOverHttp();
  jsonUpstream = await serveLargeOverHttp({ jsonResponse: true });
  broken = await startBrokenUpstream();
  gw = await startGateway();
  const stdio = { type: "stdio", command: process.execPath, args: [FIXTURE, "stdio"] };
  const servers: Record<string, Record<string, unknown>> = {
    "large-sse": { transport: { type: "streamable-http", url: sseUpstream.url } },
    "large-json": { transport: { type: "streamable-http", url: jsonUpstream.url } },
    "large-stdio": { transport: stdio },
    broken: { transport: { type: "streamable-http", url: broken.url } },
    "idle-http": { transport: { type: "streamable-http", url: sseUpstream.url }, timeoutMs: 1000 },
    "idle-stdio": { transport: stdio, timeoutMs: 1000 },
    "total-http": { transport: { type: "streamable-http", url: sseUpstream.url }, timeoutMs: 1000, totalTimeoutMs: 1500 },
    "total-stdio": { transport: stdio, timeoutMs: 1000, totalTimeoutMs: 1500 },
    crowded: { transport: { type: "streamable-http", url: sseUpstream.url }, timeoutMs: 120_000, maxInFlight: 3 },
  };
  await gw.admin.put("policies", "open", { document: { version: "1", default: "allow" } });
  for (const [name, spec] of Object.entries(servers)) {
    await gw.admin.put("servers", name, spec);
    tokens.set(name, (await gw.admin.put<{ token: string }>("grants", name, { server: name, policy: "open" })).value.token);
  }
});

after(async () => {
  await sseUpstream?.close();
  await jsonUpstream?.close();
  broken?.server.closeAllConnections();
  if (broken) await new Promise((r) => broken.server.close(r));
  if (gw) assert.equal(await gw.stop(), 0);
});

const urlOf = (server: string) => `${gw.proxyUrl}/mcp/${server}`;

/** One session per server, opened on first use (a stdio session is a process: reuse it). */
async function sessionFor(server: string): Promise<string> {
  let id = sessions.get(server);
  if (id === undefined) {
    id = await openSession(urlOf(server), tokens.get(server)!);
    sessions.set(server, id);
  }
  return id;
}

function toolCall(id: number, name: string, args: Record<string, unknown>, progressToken?: string): JsonRpc {
  return { jsonrpc: "2.0", id, method: "tools/call", params: { name, arguments: args, ...(progressToken ? { _meta: { progressToken } } : {}) } };
}

/** POSTs a call through the gateway on the server's session. */
async function callThroughGateway(server: string, message: JsonRpc, init: { accept?: string; signal?: AbortSignal } = {}): Promise<Response> {
  const headers = mcpHeaders(tokens.get(server)!, await sessionFor(server));
  if (init.accept) headers.accept = init.accept;
  return fetch(urlOf(server), { method: "POST", headers, body: JSON.stringify(message), ...(init.signal ? { signal: init.signal } : {}) });
}

/** The JSON text of the message answering `id` (an event's data or the JSON body), decoded correctly. */
async function answerText(res: Response, id: number): Promise<string> {
  if (!isEventStream(res)) return res.text();
  for await (const event of sseEvents(res)) {
    const message = tryParse(event.data);
    if (message && message.id === id && message.method === undefined) return event.data;
  }
  throw new Error(`the stream ended without an answer to request ${id}`);
}

async function answer(res: Response, id: number): Promise<JsonRpc> {
  return JSON.parse(await answerText(res, id)) as JsonRpc;
}

function tryParse(text: string): JsonRpc | undefined {
  try {
    return JSON.parse(text) as JsonRpc;
  } catch {
    return undefined;
  }
}

function resultText(message: JsonRpc): string {
  return ((message.result?.content ?? []) as { text: string }[]).map((c) => c.text).join("");
}

/** A result of exactly `bytes` UTF-8 bytes that starts and ends the way the fixture writes it, with no U+FFFD. */
function assertIntactText(text: string, bytes: number): void {
  assert.equal(Buffer.byteLength(text), bytes);
  assert.ok(text.startsWith("é日本🙂 text é日本🙂 text "), text.slice(0, 40));
  assert.equal(text.includes("\uFFFD"), false, "no replacement characters");
}

/** The raw answer line a stdio server writes for a tools/call, asked directly (no gateway). */
async function directStdioLine(args: Record<string, unknown>): Promise<string> {
  const child = spawn(process.execPath, [FIXTURE, "stdio"], { stdio: ["pipe", "pipe", "inherit"] });
  try {
    const send = (m: unknown) => child.stdin.write(JSON.stringify(m) + "\n");
    send({ jsonrpc: "2.0", id: 1, method: "initialize", params: { protocolVersion: "2025-06-18", capabilities: {}, clientInfo: { name: "direct", version: "1" } } });
    send({ jsonrpc: "2.0", method: "notifications/initialized" });
    send(toolCall(2, "text", args));
    let pending = Buffer.alloc(0);
    for await (const chunk of child.stdout) {
      pending = Buffer.concat([pending, chunk as Buffer]);
      for (let end = pending.indexOf(0x0a); end !== -1; end = pending.indexOf(0x0a)) {
        const line = pending.subarray(0, end).toString("utf8");
        pending = pending.subarray(end + 1);
        if (tryParse(line)?.id === 2) return line;
      }
    }
    throw new Error("the stdio server ended without answering");
  } finally {
    child.kill();
  }
}

/** The raw answer text for a tools/call asked of an HTTP upstream directly (no gateway). */
async function directHttpText(url: string, args: Record<string, unknown>): Promise<string> {
  const session = await openSession(url, "direct");
  const res = await fetch(url, { method: "POST", headers: mcpHeaders("direct", session), body: JSON.stringify(toolCall(2, "text", args)) });
  return answerText(res, 2);
}

describe("large results pass through unchanged", () => {
  for (const [server, upstream] of [["large-sse", () => sseUpstream.url], ["large-json", () => jsonUpstream.url]] as const) {
    test(`multi-byte text of 0.2, 1 and 5 MB is byte-identical to the direct answer (HTTP upstream, ${server === "large-sse" ? "SSE" : "JSON"} answers)`, async () => {
      for (const bytes of SIZES) {
        const direct = await directHttpText(upstream(), { bytes });
        const relayed = await answerText(await callThroughGateway(server, toolCall(2, "text", { bytes })), 2);
        assert.ok(relayed === direct, `${bytes} bytes: the relayed answer differs from the direct one`);
        assertIntactText(resultText(JSON.parse(relayed) as JsonRpc), bytes);
      }
    });
  }

  test("multi-byte text of 0.2, 1 and 5 MB is byte-identical to the direct answer (stdio upstream)", async () => {
    for (const bytes of SIZES) {
      const direct = await directStdioLine({ bytes });
      const relayed = await answerText(await callThroughGateway("large-stdio", toolCall(2, "text", { bytes })), 2);
      assert.ok(relayed === direct, `${bytes} bytes: the relayed answer differs from the direct one`);
      assertIntactText(resultText(JSON.parse(relayed) as JsonRpc), bytes);
    }
  });

  test("a 5 MB stdio answer that needs no stream is plain application/json (clients cap SSE events at 1 MiB)", async () => {
    const res = await callThroughGateway("large-stdio", toolCall(3, "text", { bytes: 5_000_000 }), { accept: "application/json, text/event-stream" });
    assert.equal(res.status, 200);
    assert.equal(res.headers.get("content-type")?.split(";")[0], "application/json");
    const message = (await res.json()) as JsonRpc;
    assert.equal(message.id, 3);
    assertIntactText(resultText(message), 5_000_000);
  });
});

describe("upstream failures are JSON-RPC errors with the request's id", () => {
  const failure = async (tool: string, id: number) => {
    const res = await callThroughGateway("broken", toolCall(id, tool, {}));
    assert.ok(res.status < 500, `HTTP ${res.status}`);
    return answer(res, id);
  };

  test("invalid JSON from the upstream", async () => {
    const message = await failure("invalid-json", 41);
    assert.equal(message.id, 41);
    assert.equal(message.error?.code, -32002);
    assert.match(message.error?.message ?? "", /"broken".*sent invalid JSON/);
  });

  test("an upstream answering HTTP 500 or 503", async () => {
    for (const [tool, status] of [["http-500", 500], ["http-503", 503]] as const) {
      const message = await failure(tool, status);
      assert.equal(message.id, status);
      assert.equal(message.error?.code, -32002);
      assert.match(message.error?.message ?? "", new RegExp(`"broken".*answered HTTP ${status}`));
      assert.doesNotMatch(message.error?.message ?? "", /internal detail/, "the upstream's body is not passed on raw");
    }
  });

  test("an upstream closing the connection mid-response, in an event stream or a JSON body", async () => {
    for (const [tool, id] of [["close-sse", 51], ["close-json", 52]] as const) {
      const message = await failure(tool, id);
      assert.equal(message.id, id);
      assert.equal(message.error?.code, -32002);
      assert.match(message.error?.message ?? "", /"broken".*closed the connection mid-response/, tool);
    }
  });
});

describe("timeoutMs is an idle timeout on both transports", () => {
  for (const transport of ["http", "stdio"] as const) {
    test(`progress keeps a long call alive past timeoutMs (${transport})`, async () => {
      // 8 steps of 400 ms: 3.2 s in all, never 1 s (timeoutMs) without a progress notification.
      const message = await answer(await callThroughGateway(`idle-${transport}`, toolCall(61, "progress", { steps: 8, everyMs: 400 }, "p-61")), 61);
      assert.equal(resultText(message), "done after 8 steps");
    });

    test(`an upstream silent for timeoutMs fails the call, saying so (${transport})`, async () => {
      const message = await answer(await callThroughGateway(`idle-${transport}`, toolCall(62, "sleep", { ms: 5000 })), 62);
      assert.equal(message.id, 62);
      assert.equal(message.error?.code, -32002);
      assert.match(message.error?.message ?? "", new RegExp(`"idle-${transport}".*sent nothing for 1000 ms \\(timeoutMs\\)`));
    });

    test(`totalTimeoutMs bounds a call even while it reports progress (${transport})`, async () => {
      const message = await answer(await callThroughGateway(`total-${transport}`, toolCall(63, "progress", { steps: 10, everyMs: 400 }, "p-63")), 63);
      assert.equal(message.id, 63);
      assert.equal(message.error?.code, -32002);
      assert.match(message.error?.message ?? "", new RegExp(`"total-${transport}".*totalTimeoutMs`));
    });
  }
});

test("a hung upstream with its in-flight limit reached: further calls fail fast as busy, a healthy call is answered", async () => {
  await sessionFor("crowded");
  const aborts = [0, 1, 2].map(() => new AbortController());
  for (const [k, abort] of aborts.entries()) void callThroughGateway("crowded", toolCall(70 + k, "sleep", { ms: 110_000 }), { signal: abort.signal }).catch(() => undefined);
  try {
    assert.equal(await eventually(() => activity.sleeping === 3, 20_000), true, "the upstream is running the three calls");
    // Bounded, so that a gateway without the limit fails here instead of waiting out the sleep.
    const busy = await answer(await callThroughGateway("crowded", toolCall(80, "sleep", { ms: 110_000 }), { signal: AbortSignal.timeout(30_000) }), 80);
    assert.equal(busy.id, 80);
    assert.equal(busy.error?.code, -32002);
    assert.match(busy.error?.message ?? "", /"crowded" is busy: 3 calls in flight \(limit 3\b/);

    // Either a result or the busy error, but an answer: never a wait behind the hung calls.
    const healthy = callThroughGateway("crowded", toolCall(81, "text", { bytes: 18 })).then((res) => answer(res, 81));
    assert.equal(await settlesWithin(healthy, 20_000), true, "the healthy call was answered");
    const message = await healthy;
    assert.ok(resultText(message) === "é日本🙂 text " || /is busy/.test(message.error?.message ?? ""), JSON.stringify(message));
  } finally {
    for (const abort of aborts) abort.abort();
  }
});

/**
 * A raw Streamable HTTP upstream that misbehaves on tools/call by tool name: invalid-json, http-500, http-503,
 * close-sse (an event stream cut inside an event), close-json (a JSON body cut short of its Content-Length).
 */
async function startBrokenUpstream(): Promise<{ url: string; server: Server }> {
  const tools = ["invalid-json", "http-500", "http-503", "close-sse", "close-json"].map((name) => ({ name, inputSchema: { type: "object" } }));
  const server = createServer(async (req: IncomingMessage, res: ServerResponse) => {
    if (req.method !== "POST") {
      res.writeHead(req.method === "DELETE" ? 200 : 405).end();
      return;
    }
    const chunks: Buffer[] = [];
    for await (const chunk of req) chunks.push(chunk as Buffer);
    const message = JSON.parse(Buffer.concat(chunks).toString("utf8")) as JsonRpc;
    const reply = (result: unknown) => res.writeHead(200, { "content-type": "application/json", "mcp-session-id": "broken-session" }).end(JSON.stringify({ jsonrpc: "2.0", id: message.id, result }));
    if (message.id === undefined) res.writeHead(202).end();
    else if (message.method === "initialize") reply({ protocolVersion: "2025-06-18", capabilities: { tools: {} }, serverInfo: { name: "broken", version: "1" } });
    else if (message.method === "tools/list") reply({ tools });
    else if (message.method !== "tools/call") reply({});
    else {
      const start = `{"jsonrpc":"2.0","id":${JSON.stringify(message.id)},"result":{"content":[{"type":"text","text":"é日本`;
      switch (message.params?.name) {
        case "invalid-json":
          res.writeHead(200, { "content-type": "application/json" }).end(start);
          break;
        case "http-500":
        case "http-503":
          res.writeHead(message.params.name === "http-500" ? 500 : 503, { "content-type": "text/html" }).end("<h1>internal detail</h1>");
          break;
        case "close-sse":
          res.writeHead(200, { "content-type": "text/event-stream" });
          res.write(`event: message\ndata: ${start}`, () => setTimeout(() => res.destroy(), 50));
          break;
        default:
          res.writeHead(200, { "content-type": "application/json", "content-length": 1000 });
          res.write(start, () => setTimeout(() => res.destroy(), 50));
      }
    }
  });
  await new Promise<void>((r) => server.listen(0, "127.0.0.1", r));
  return { url: `http://127.0.0.1:${(server.address() as AddressInfo).port}/mcp`, server };
}
