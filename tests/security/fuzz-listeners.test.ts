// Issue 13 §2: no input crashes the gateway or gets a 5xx. Property-based fuzzing of both listeners of a real
// `toolgate serve` with raw HTTP/1.1 bytes (so malformed targets, methods and headers reach the server as sent),
// with and without valid tokens; then unauthenticated slow headers and bodies, and the connection cap.
// FUZZ_SEED=<n> replays a run; FUZZ_RUNS=<n> changes the number of requests per listener (default 300).
import { after, before, test } from "node:test";
import assert from "node:assert/strict";
import { connect, type Socket } from "node:net";
import fc from "fast-check";
import { startGateway, type TestGateway } from "../helpers/gateway.ts";
import { serveLargeOverHttp } from "../fixtures/large-server.ts";
import { openSession } from "../fixtures/raw-mcp.ts";
import type { EverythingHttp } from "../fixtures/everything-http.ts";

const SEED = Number(process.env.FUZZ_SEED ?? 20_260_913);
const RUNS = Number(process.env.FUZZ_RUNS ?? 300);
const MAX_BODY = 65_536;
// Names longer than any the fuzzer makes, so admin requests cannot delete what the proxy fuzzing needs.
const SERVER = "fuzz-target-server-1";
const POLICY = "fuzz-target-policy-1";

let gw: TestGateway;
let upstream: EverythingHttp;
let grantToken: string;
/** The proxy session requests use (the fuzzer may end it with a DELETE: then a new one is opened). */
let sessionId: string;
/** Stands for the current session id in generated requests. */
const SESSION = "{session}";

before(async () => {
  upstream = await serveLargeOverHttp();
  gw = await startGateway({ args: ["--max-body-bytes", String(MAX_BODY), "--headers-timeout", "2000", "--request-timeout", "4000", "--max-connections", "16"] });
  await gw.admin.put("servers", SERVER, { transport: { type: "streamable-http", url: upstream.url }, timeoutMs: 2000 });
  await gw.admin.put("policies", POLICY, { document: { version: "1", default: "allow", tools: {} } });
  grantToken = (await gw.admin.put<{ token: string }>("grants", "fuzz-target-grant-1", { server: SERVER, policy: POLICY })).value.token;
  sessionId = await openSession(`${gw.proxyUrl}/mcp/${SERVER}`, grantToken);
});

after(async () => {
  await upstream?.close();
  if (gw) assert.equal(await gw.stop(), 0);
});

// ---------------------------------------------------------------------------------------------------------------
// Raw HTTP/1.1

interface Answer {
  status: number;
  headers: Map<string, string>;
  body: Buffer;
}

function endpoint(url: string): { host: string; port: number } {
  const u = new URL(url);
  return { host: u.hostname, port: Number(u.port) };
}

/**
 * Sends raw request bytes on a new connection; the response, or `closed` when the server closed the connection
 * without one. An event stream is read only up to its headers.
 */
function exchange(url: string, request: Buffer): Promise<Answer | "closed"> {
  const { host, port } = endpoint(url);
  return new Promise((resolve, reject) => {
    const socket = connect(port, host);
    let received = Buffer.alloc(0);
    let settled = false;
    const finish = (result: Answer | "closed" | Error) => {
      if (settled) return;
      settled = true;
      clearTimeout(timer);
      socket.destroy();
      if (result instanceof Error) reject(result);
      else resolve(result);
    };
    const timer = setTimeout(() => finish(new Error(`no complete answer in 20 s; received so far: ${JSON.stringify(received.subarray(0, 300).toString("latin1"))}`)), 20_000);
    socket.on("error", () => {}); // a reset after the answer is fine; a missing answer shows in parse()
    const head = request.subarray(0, 5).toString("latin1") === "HEAD ";
    socket.on("data", (chunk: Buffer) => {
      received = Buffer.concat([received, chunk]);
      try {
        const answer = parse(received, false, head);
        if (answer && (answer.complete || mediaType(answer.headers) === "text/event-stream")) finish(answer);
      } catch (error) {
        finish(error as Error);
      }
    });
    socket.on("close", () => {
      try {
        const answer = parse(received, true, head);
        finish(answer ?? (received.length === 0 ? "closed" : new Error(`unparseable response: ${JSON.stringify(received.subarray(0, 300).toString("latin1"))}`)));
      } catch (error) {
        finish(error as Error);
      }
    });
    socket.write(request);
  });
}

/** Parses a response; undefined while the head is incomplete. Skips 1xx interim responses. */
function parse(bytes: Buffer, atEnd: boolean, head: boolean): (Answer & { complete: boolean }) | undefined {
  let offset = 0;
  for (;;) {
    const headEnd = bytes.indexOf("\r\n\r\n", offset);
    if (headEnd === -1) return undefined;
    const lines = bytes.subarray(offset, headEnd).toString("latin1").split("\r\n");
    const status = /^HTTP\/1\.[01] (\d{3})(?: .*)?$/.exec(lines[0] ?? "");
    if (!status) throw new Error(`malformed status line: ${JSON.stringify(lines[0])}`);
    const headers = new Map<string, string>();
    for (const line of lines.slice(1)) {
      const colon = line.indexOf(":");
      if (colon <= 0) throw new Error(`malformed header line: ${JSON.stringify(line)}`);
      headers.set(line.slice(0, colon).trim().toLowerCase(), line.slice(colon + 1).trim());
    }
    const code = Number(status[1]);
    const rest = bytes.subarray(headEnd + 4);
    if (code >= 100 && code < 200) {
      offset = headEnd + 4;
      continue;
    }
    if (head || code === 204 || code === 304) return { status: code, headers, body: Buffer.alloc(0), complete: true };
    if (headers.get("transfer-encoding")?.toLowerCase() === "chunked") {
      const decoded = dechunk(rest);
      return { status: code, headers, body: decoded.body, complete: decoded.complete || atEnd };
    }
    const length = headers.get("content-length");
    if (length !== undefined) return { status: code, headers, body: rest.subarray(0, Number(length)), complete: rest.length >= Number(length) || atEnd };
    return { status: code, headers, body: rest, complete: atEnd };
  }
}

function dechunk(bytes: Buffer): { body: Buffer; complete: boolean } {
  const parts: Buffer[] = [];
  let at = 0;
  for (;;) {
    const lineEnd = bytes.indexOf("\r\n", at);
    if (lineEnd === -1) return { body: Buffer.concat(parts), complete: false };
    const size = parseInt(bytes.subarray(at, lineEnd).toString("latin1"), 16);
    if (size === 0) return { body: Buffer.concat(parts), complete: true };
    parts.push(bytes.subarray(lineEnd + 2, lineEnd + 2 + size));
    at = lineEnd + 2 + size + 2;
    if (at > bytes.length) return { body: Buffer.concat(parts), complete: false };
  }
}

function mediaType(headers: Map<string, string>): string {
  return (headers.get("content-type") ?? "").split(";")[0]!.trim().toLowerCase();
}

interface Shape {
  method: string;
  target: string;
  headers: [string, string][];
  body: Buffer;
  chunked: boolean;
}

function serialize(url: string, shape: Shape): Buffer {
  const { host, port } = endpoint(url);
  const lines = [`${shape.method} ${shape.target} HTTP/1.1`, `Host: ${host}:${port}`, "Connection: close", ...shape.headers.map(([name, value]) => `${name}: ${value.replaceAll(SESSION, sessionId)}`)];
  if (shape.chunked) lines.push("Transfer-Encoding: chunked");
  else if (shape.body.length > 0 || shape.method === "POST" || shape.method === "PUT") lines.push(`Content-Length: ${shape.body.length}`);
  const head = Buffer.from(lines.join("\r\n") + "\r\n\r\n", "latin1");
  const body = shape.chunked && shape.body.length > 0 ? Buffer.concat([Buffer.from(shape.body.length.toString(16) + "\r\n"), shape.body, Buffer.from("\r\n0\r\n\r\n")]) : shape.chunked ? Buffer.from("0\r\n\r\n") : shape.body;
  return Buffer.concat([head, body]);
}

// ---------------------------------------------------------------------------------------------------------------
// What the fuzzer sends

const latin1Text = (max: number) => fc.string({ unit: fc.integer({ min: 0x20, max: 0xff }).filter((c) => c !== 0x7f).map((c) => String.fromCharCode(c)), maxLength: max });
const tokenChars = fc.string({ unit: fc.constantFrom(..."abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789-_.~+/="), minLength: 1, maxLength: 60 });
const pathSegment = fc.oneof(
  { weight: 10, arbitrary: fc.constantFrom("mcp", SERVER, "%", "%zz", "%E0%A4%A", "%E0%A4%A8", "%00", "%2F", "%FF%FE", "..", ".", "", "v1", "servers", "policies", "grants", "webhooks", "approvals", "audit", "export", "tools", "healthz", "metrics", "ui") },
  { weight: 10, arbitrary: fc.string({ unit: fc.constantFrom(..."abcxyz019-._~%!$&'()*+,;=:@"), maxLength: 12 }) },
  { weight: 1, arbitrary: fc.constant("a".repeat(9000)) },
);
const query = fc.option(fc.string({ unit: fc.constantFrom(..."abc=&%?#/+z9"), maxLength: 20 }).map((q) => `?${q}`), { freq: 3 }).map((q) => q ?? "");
const oddTarget = fc.oneof(
  { weight: 2, arbitrary: fc.constantFrom("*", "/mcp/%E0%A4%A", "//mcp//x", "http://127.0.0.1/mcp/x", "/mcp/x#frag", "/%", "/mcp/" + "%41".repeat(3000), `/mcp/${SERVER}/extra`, `/MCP/${SERVER}`) },
  { weight: 2, arbitrary: fc.tuple(fc.array(pathSegment, { minLength: 1, maxLength: 5 }), query).map(([segments, q]) => "/" + segments.join("/") + q) },
  { weight: 1, arbitrary: latin1Text(40).map((s) => "/" + s) },
);
const proxyTarget = fc.oneof({ weight: 8, arbitrary: fc.tuple(fc.constantFrom(`/mcp/${SERVER}`, `/mcp/${SERVER}/`, `/mcp/${encodeURIComponent(SERVER).replace("f", "%66")}`), query).map(([p, q]) => p + q) }, { weight: 2, arbitrary: oddTarget });
const adminName = fc.oneof(fc.stringMatching(/^[a-z0-9][a-z0-9._-]{0,9}$/), pathSegment);
const adminTarget = fc.oneof(
  {
    weight: 6,
    arbitrary: fc
      .tuple(fc.constantFrom("servers", "policies", "grants", "webhooks", "approvals", "audit"), fc.option(adminName, { freq: 4 }), fc.option(fc.constantFrom("tools", "tools/refresh", "tools/review", "rotate", "approve", "deny", "export"), { freq: 2 }), query)
      .map(([collection, name, action, q]) => `/v1/${collection}${name === null ? "" : `/${name}`}${action === null ? "" : `/${action}`}${q}`),
  },
  { weight: 1, arbitrary: fc.constantFrom("/healthz", "/readyz", "/metrics", "/openapi.json", "/ui", "/ui/", "/ui/app.js", "/v1/audit/export?format=%", "/v1/audit?limit=-1", "/v1/audit?limit=99999999999999999999", "/v1/audit?since=%zz") },
  { weight: 3, arbitrary: oddTarget },
);
const method = fc.oneof({ weight: 8, arbitrary: fc.constantFrom("POST", "POST", "POST", "GET", "PUT", "DELETE") }, { weight: 2, arbitrary: fc.constantFrom("HEAD", "OPTIONS", "PATCH", "TRACE", "PROPFIND", "get", "FOO", "P OST") });

/** Usually `usual` (null: the header is absent), sometimes one of `odd`: most requests get past the first checks. */
function mostly(name: string, usual: string | null, ...odd: fc.Arbitrary<string | null>[]): fc.Arbitrary<[string, string] | null> {
  return fc.oneof({ weight: 9, arbitrary: fc.constant(usual) }, { weight: 1, arbitrary: fc.oneof(...odd) }).map((v) => (v === null ? null : [name, v]));
}

/** Request headers around a valid credential (`token`) and session, or with neither. */
function headerSet(token: string | undefined, session: string | undefined) {
  const badTokens = [tokenChars.map((t) => `Bearer ${t}`), fc.constantFrom("Bearer", "Bearer ", "Basic Zm9vOmJhcg==", "bearer x", "Bearer a b c", "Bearer " + "z".repeat(12_000)), latin1Text(80)];
  const nearTokens = token ? [fc.constantFrom(`bearer ${token}`, `Bearer ${token}x`, `Bearer  ${token}`, `Bearer ${token.slice(0, -1)}`)] : [];
  return fc
    .tuple(
      mostly("Authorization", token ? `Bearer ${token}` : null, fc.constant(null), ...badTokens, ...nearTokens),
      mostly("Content-Type", "application/json", fc.constant(null), fc.constantFrom("application/json; charset=utf-8", "APPLICATION/JSON", "application/json;charset=latin1", "text/plain", "application/x-www-form-urlencoded", "multipart/form-data; boundary=x", "application/json, text/html", "", "application/problem+json", "json"), latin1Text(60)),
      mostly("Accept", "application/json, text/event-stream", fc.constant(null), fc.constantFrom("text/event-stream", "application/json", "*/*", "text/html", "", "application/json;q=0, text/event-stream;q=0"), latin1Text(40)),
      mostly("Mcp-Session-Id", session ?? null, fc.constant(null), tokenChars, fc.constantFrom("x".repeat(5000), "a.b.c", `${session ?? "s"}.x`, `${session ?? "s"}\u00e9`)),
      mostly("Mcp-Protocol-Version", "2025-06-18", fc.constant(null), fc.constantFrom("2025-03-26", "2024-11-05", "1999-01-01", "garbage", "")),
      mostly("Last-Event-ID", null, latin1Text(30)),
      mostly("Origin", null, fc.constantFrom("http://evil.example", "null", "http://127.0.0.1", "file://"), latin1Text(30)),
      fc.array(fc.tuple(fc.string({ unit: fc.constantFrom(..."abcdefxyz-_"), minLength: 1, maxLength: 12 }), latin1Text(50)), { maxLength: 3 }),
      fc.oneof({ weight: 30, arbitrary: fc.constant(null) }, { weight: 1, arbitrary: fc.constant<[string, string]>(["X-Padding", "p".repeat(20_000)]) }),
    )
    .map(([a, ct, ac, sid, pv, lei, origin, extra, pad]) => [a, ct, ac, sid, pv, lei, origin, ...extra, pad].filter((h): h is [string, string] => h !== null));
}

const id = fc.oneof(fc.integer(), fc.string({ maxLength: 8 }), fc.constantFrom<unknown>(null, 1.5, true, {}, []));
const jsonRpc = fc.oneof(
  fc.record({ jsonrpc: fc.constant("2.0"), id: fc.integer({ min: 0, max: 1e6 }), method: fc.constant("initialize"), params: fc.constant({ protocolVersion: "2025-06-18", capabilities: {}, clientInfo: { name: "fuzz", version: "1" } }) }),
  fc.record({ jsonrpc: fc.constant("2.0"), id, method: fc.constantFrom("ping", "tools/list", "resources/list", "prompts/list", "logging/setLevel", "resources/read", "prompts/get", "completion/complete", "nonexistent/method", "") }),
  fc.record({
    jsonrpc: fc.constantFrom("2.0", "2.0", "2.0", "1.0", "2.0 "),
    id,
    method: fc.constant("tools/call"),
    params: fc.oneof(
      fc.record({ name: fc.constant("text"), arguments: fc.record({ bytes: fc.integer({ min: 0, max: 20_000 }) }) }),
      fc.record({ name: fc.constantFrom("sleep", "progress"), arguments: fc.record({ ms: fc.integer({ min: 0, max: 50 }), steps: fc.integer({ min: 0, max: 2 }), everyMs: fc.integer({ min: 0, max: 10 }) }) }),
      fc.record({ name: fc.oneof(fc.string({ maxLength: 10 }), fc.constantFrom(null, 7, "")), arguments: fc.jsonValue({ maxDepth: 3 }) }, { requiredKeys: [] }),
    ),
  }),
  fc.record({ jsonrpc: fc.constant("2.0"), method: fc.constantFrom("notifications/initialized", "notifications/cancelled", "notifications/roots/list_changed", "notifications/progress", "tools/call"), params: fc.jsonValue({ maxDepth: 2 }) }, { requiredKeys: ["jsonrpc", "method"] }),
  fc.record({ jsonrpc: fc.constant("2.0"), id, result: fc.jsonValue({ maxDepth: 2 }) }),
  fc.record({ jsonrpc: fc.constant("2.0"), id, error: fc.record({ code: fc.integer(), message: fc.string() }) }),
);
const serializedJsonRpc = jsonRpc.map((m) => JSON.stringify(m));
const rawJsonRpc = fc.constantFrom(
  '{"jsonrpc":"2.0","id":1,"method":"tools/call","params":{"name":"text","Name":"sleep","arguments":{"bytes":1}}}',
  '{"jsonrpc":"2.0","id":1,"method":"ping","METHOD":"tools/call","params":{"name":"text"}}',
  '{"jsonrpc":"2.0","id":1,"Method":"tools/call","params":{"name":"text"}}',
  '{"jsonrpc":"2.0","id":1,"method":"tools/call","paramſ":{"name":"sleep"},"params":{"name":"text"}}',
  '{"jsonrpc":"2.0","id":1,"method":"tools/call","params":{"n\\u0061me":"sleep","name":"text"}}',
  '{"jsonrpc":"2.0","id":1,"method":"tools/call","params":{"name":"text","arguments":{"bytes":9007199254740993}}}',
  '{"jsonrpc":"2.0","id":1,"method":"tools/call","params":{"name":"text","arguments":{"bytes":1e999}}}',
  '[{"jsonrpc":"2.0","id":1,"method":"ping"},{"jsonrpc":"2.0","id":2,"method":"ping"}]',
  "[]",
  "null",
  '"x"',
  "{",
  '{"jsonrpc":"2.0","id":1,"method":"tools/call","params":' + "[".repeat(3000) + "]".repeat(3000) + "}",
  '{"jsonrpc":"2.0","id":1,"method":"tools/call","params":{"name":"text","arguments":{"a":' + '{"b":'.repeat(200) + "1" + "}".repeat(200) + "}}}",
  "\uFEFF{}",
);
const body = fc.oneof(
  { weight: 5, arbitrary: serializedJsonRpc.map((s) => Buffer.from(s)) },
  { weight: 2, arbitrary: rawJsonRpc.map((s) => Buffer.from(s)) },
  { weight: 1, arbitrary: fc.json({ maxDepth: 4 }).map((s) => Buffer.from(s)) },
  { weight: 1, arbitrary: fc.uint8Array({ maxLength: 200 }).map((b) => Buffer.from(b)) },
  { weight: 1, arbitrary: fc.constantFrom(Buffer.from([0x7b, 0x22, 0xc3, 0x28, 0x22, 0x3a, 0x31, 0x7d]), Buffer.from(`{"jsonrpc":"2.0","id":1,"method":"ping","pad":"${"x".repeat(MAX_BODY)}"}`), Buffer.alloc(0)) },
);

/** A server spec the admin API might accept: never one that runs a real command or reaches beyond loopback. */
const adminBody = fc.oneof(
  fc.record({ transport: fc.oneof(fc.constant({ type: "streamable-http", url: "http://127.0.0.1:9/mcp" }), fc.constant({ type: "stdio", command: "/nonexistent/fuzz-command" }), fc.jsonValue({ maxDepth: 2 })), timeoutMs: fc.oneof(fc.integer(), fc.constant("x")) }, { requiredKeys: [] }),
  fc.record({ document: fc.oneof(fc.constant({ version: "1", default: "deny" }), fc.jsonValue({ maxDepth: 3 })) }, { requiredKeys: [] }),
  fc.record({ server: fc.string({ maxLength: 10 }), policy: fc.string({ maxLength: 10 }), expiresAt: fc.oneof(fc.string(), fc.integer()) }, { requiredKeys: [] }),
  fc.record({ url: fc.constantFrom("http://127.0.0.1:9/hook", "http://169.254.169.254/", "file:///etc/passwd", "javascript:1"), events: fc.jsonValue({ maxDepth: 1 }) }, { requiredKeys: [] }),
  fc.jsonValue({ maxDepth: 3 }),
).map((v) => Buffer.from(JSON.stringify(v) ?? "null"));

const chunked = fc.oneof({ weight: 3, arbitrary: fc.constant(false) }, { weight: 1, arbitrary: fc.constant(true) });

/** Any request: odd targets, methods and headers around a credential (or none). */
function shapes(target: fc.Arbitrary<string>, token: string | undefined, session: string | undefined, bodies: fc.Arbitrary<Buffer>): fc.Arbitrary<Shape> {
  return fc.record({ method, target, headers: headerSet(token, session), body: fc.oneof({ weight: 1, arbitrary: fc.constant(Buffer.alloc(0)) }, { weight: 4, arbitrary: bodies }), chunked });
}

/** A well-formed MCP POST on the grant's session: only the JSON-RPC body varies, so it reaches the parser and the upstream. */
function mcpPosts(token: string): fc.Arbitrary<Shape> {
  const headers: [string, string][] = [["Authorization", `Bearer ${token}`], ["Content-Type", "application/json"], ["Accept", "application/json, text/event-stream"], ["Mcp-Protocol-Version", "2025-06-18"]];
  return fc.record({
    method: fc.constant("POST"),
    target: fc.constant(`/mcp/${SERVER}`),
    headers: fc.boolean().map((withSession) => (withSession ? [...headers, ["Mcp-Session-Id", SESSION] as [string, string]] : headers)),
    body,
    chunked,
  });
}

// ---------------------------------------------------------------------------------------------------------------
// Properties

/** The checks every answer must pass. */
function checkAnswer(answer: Answer | "closed", shape: Shape, secrets: string[]): void {
  const what = `${shape.method} ${shape.target.slice(0, 80)}`;
  assert.notEqual(answer, "closed", `${what}: the connection was closed without an answer`);
  if (answer === "closed") return;
  assert.ok(answer.status >= 200 && answer.status < 500, `${what}: HTTP ${answer.status} ${answer.body.toString("utf8").slice(0, 300)}`);
  const text = answer.body.toString("utf8");
  const type = mediaType(answer.headers);
  if ((type === "application/json" || type.endsWith("+json")) && text.trim() !== "") assert.doesNotThrow(() => JSON.parse(text), `${what}: ${type} body is not JSON: ${text.slice(0, 200)}`);
  assert.doesNotMatch(text, /\n\s+at .+:\d+:\d+\)?/, `${what}: a stack trace in the answer`);
  for (const secret of secrets) assert.equal(text.includes(secret), false, `${what}: a token in the answer`);
}

async function fuzz(url: string, arbitrary: fc.Arbitrary<Shape>, secrets: string[]): Promise<void> {
  await fc.assert(
    fc.asyncProperty(arbitrary, async (shape) => {
      const answer = await exchange(url, serialize(url, shape));
      checkAnswer(answer, shape, secrets);
      if (url === gw.proxyUrl && shape.method === "DELETE" && answer !== "closed" && answer.status < 300) sessionId = await openSession(`${gw.proxyUrl}/mcp/${SERVER}`, grantToken);
      assert.equal(gw.child.exitCode, null, "the gateway process is alive");
    }),
    { seed: SEED, numRuns: RUNS, endOnFailure: true },
  );
}

test("GET /mcp/%E0%A4%A (a malformed percent-escape) without a token is a 400, and the process lives", async () => {
  const answer = await exchange(gw.proxyUrl, Buffer.from(`GET /mcp/%E0%A4%A HTTP/1.1\r\nHost: ${endpoint(gw.proxyUrl).host}\r\nConnection: close\r\n\r\n`));
  assert.notEqual(answer, "closed");
  if (answer !== "closed") assert.equal(answer.status, 400);
  assert.equal(gw.child.exitCode, null);
});

test("the proxy listener answers any request, with or without a grant token, with no 5xx and no crash", async () => {
  await fuzz(gw.proxyUrl, fc.oneof({ weight: 2, arbitrary: mcpPosts(grantToken) }, { weight: 2, arbitrary: shapes(proxyTarget, grantToken, SESSION, body) }, { weight: 1, arbitrary: shapes(proxyTarget, undefined, undefined, body) }), [grantToken, gw.adminToken]);
  assert.equal(gw.child.exitCode, null);
});

test("the admin listener answers any request, with or without the admin token, with no 5xx and no crash", async () => {
  await fuzz(gw.adminUrl, fc.oneof({ weight: 3, arbitrary: shapes(adminTarget, gw.adminToken, undefined, adminBody) }, { weight: 1, arbitrary: shapes(adminTarget, undefined, undefined, adminBody) }, { weight: 1, arbitrary: shapes(adminTarget, gw.adminToken, undefined, body) }), [grantToken, gw.adminToken]);
  const health = await fetch(`${gw.adminUrl}/healthz`);
  assert.equal(health.status, 200);
});

// ---------------------------------------------------------------------------------------------------------------
// Slow clients and the connection cap

/** Resolves true when the server closes the socket within `ms`. */
function closedWithin(socket: Socket, ms: number): Promise<boolean> {
  return new Promise((resolve) => {
    const timer = setTimeout(() => resolve(false), ms);
    const done = () => {
      clearTimeout(timer);
      resolve(true);
    };
    socket.once("close", done);
    socket.once("end", done);
  });
}

/** Opens a socket and drips `head` then `drip` at one byte per second (until closed); a status line the server sent, if any. */
function slowClient(url: string, head: string, drip: string): { socket: Socket; status: () => number | undefined; stop: () => void } {
  const { host, port } = endpoint(url);
  const socket = connect(port, host);
  socket.on("error", () => {});
  let received = "";
  socket.on("data", (d: Buffer) => (received += d.toString("latin1")));
  socket.write(head);
  let at = 0;
  const timer = setInterval(() => {
    if (socket.destroyed || socket.writableEnded) return;
    socket.write(drip[at % drip.length]!);
    at++;
  }, 1000);
  socket.once("close", () => clearInterval(timer));
  return {
    socket,
    status: () => {
      const m = /^HTTP\/1\.1 (\d{3})/.exec(received);
      return m ? Number(m[1]) : undefined;
    },
    stop: () => {
      clearInterval(timer);
      socket.destroy();
    },
  };
}

test("unauthenticated slow headers and slow bodies are cut off on both listeners", async () => {
  const clients = [gw.proxyUrl, gw.adminUrl].flatMap((url) => {
    const host = `Host: ${endpoint(url).host}\r\n`;
    return [
      { name: `${url} slow headers`, client: slowClient(url, `GET /mcp/${SERVER} HTTP/1.1\r\n${host}`, "X-Slow-Header-Line: abcdefghijklmnopqrstuvwxyz\r\n") },
      { name: `${url} slow body`, client: slowClient(url, `POST /mcp/${SERVER} HTTP/1.1\r\n${host}Content-Type: application/json\r\nContent-Length: 100000\r\n\r\n{"jsonrpc":"2.0",`, "          ") },
    ];
  });
  try {
    // --headers-timeout 2000 and --request-timeout 4000: a generous bound, not a timing measurement.
    const closed = await Promise.all(clients.map(({ client }) => closedWithin(client.socket, 60_000)));
    assert.deepEqual(closed, clients.map(() => true), clients.filter((_, k) => !closed[k]).map((c) => c.name).join(", ") + " still open");
    for (const { name, client } of clients) {
      const status = client.status();
      assert.ok(status === undefined || (status >= 400 && status < 500), `${name}: HTTP ${status}`);
    }
  } finally {
    for (const { client } of clients) client.stop();
  }
  assert.equal(gw.child.exitCode, null);
});

test("connections beyond --max-connections are refused, and the listener serves again once they go", async () => {
  const { host, port } = endpoint(gw.proxyUrl);
  const open = async () => {
    const socket = connect(port, host);
    await new Promise((resolve, reject) => socket.once("connect", resolve).once("error", reject));
    socket.on("error", () => {});
    socket.write(`GET /mcp/${SERVER} HTTP/1.1\r\nHost: ${host}\r\n`); // headers never finished
    return socket;
  };
  const held: Socket[] = [];
  try {
    for (let k = 0; k < 16; k++) held.push(await open());
    const extra = await open();
    held.push(extra);
    assert.equal(await closedWithin(extra, 10_000), true, "the 17th connection is closed");
  } finally {
    for (const socket of held) socket.destroy();
  }
  // The server learns of the closed sockets asynchronously: ask a few times.
  let again: Answer | "closed" = "closed";
  for (let attempt = 0; attempt < 10 && again === "closed"; attempt++) {
    if (attempt > 0) await new Promise((r) => setTimeout(r, 300));
    again = await exchange(gw.proxyUrl, Buffer.from(`GET /nothing-here HTTP/1.1\r\nHost: ${host}\r\nConnection: close\r\n\r\n`));
  }
  assert.notEqual(again, "closed", "the listener serves again");
  if (again !== "closed") assert.equal(again.status, 404);
});
