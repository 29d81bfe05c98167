// MCP 2026-07-28 beside 2025-11-25 through a real `toolgate serve` (issue 17): the clients of mcp2026-direct.test.ts
// (the TypeScript SDK v2 client pinned to 2026-07-28, in "auto" mode and on the 2025 handshake, raw 2026 requests,
// the Python SDK client) against the dual-era fixtures behind the gateway, asserting the relay's era decisions. The
// fixture's own records prove what reached the upstream: the recomputed MCP headers, and nothing for a refused call.
import { after, before, describe, test } from "node:test";
import assert from "node:assert/strict";
import { mkdtempSync, readFileSync, rmSync } from "node:fs";
import { createServer } from "node:http";
import type { AddressInfo } from "node:net";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { ProtocolError, UnsupportedProtocolVersionError, type Client } from "@modelcontextprotocol/client";
import { serveFixtureHttp, type FixtureHttp } from "../fixtures/mcp2026/http-server.ts";
import type { FixtureRecord } from "../fixtures/mcp2026/server-tools.ts";
import { startEverythingHttp, type EverythingHttp } from "../fixtures/everything-http.ts";
import { ROOT } from "../helpers/cli.ts";
import { freePort } from "../helpers/free-port.ts";
import { startGateway, type TestGateway } from "../helpers/gateway.ts";
import { connectHttp, postModern, resultText, runPythonClient, type EraMode, type RawAnswer, type RawOptions, type RawRequest } from "../helpers/mcp2026-client.ts";
import { eventually } from "../helpers/upstreams.ts";

const UPSTREAM_TOKEN = "fixture-upstream-token";
const MODERN = "2026-07-28";
const LEGACY_VERSIONS = ["2025-11-25", "2025-06-18", "2025-03-26"];
const TASKS = { extensions: { "io.modelcontextprotocol/tasks": {} }, elicitation: { form: {} } };
const ELICITATION = { elicitation: { form: {} } };
const ERAS: { mode: EraMode; era: "modern" | "legacy"; version: string }[] = [
  { mode: "pin", era: "modern", version: MODERN },
  { mode: "auto", era: "modern", version: MODERN },
  { mode: "legacy", era: "legacy", version: "2025-11-25" },
];
/** No test may hang on a relay that never answers: it fails with what it was waiting for. */
const T = { timeout: 30_000 };

/** Hides secret_tool, denies echo of "forbidden", limits echo, and denies reading note://private URIs. */
const GUARDED = {
  version: "1",
  default: "allow",
  hide: ["secret_tool"],
  tools: {
    echo: {
      deny_if: [{ path: "args.text", op: "eq", value: "forbidden", on_deny: "Forbidden text." }],
      limits: [{ counter: "echo_rate", window: "minute", max: 100_000, scope: "grant" }],
    },
  },
  resources: { default: "allow", deny_if: [{ uri_regex: "^note://private", on_deny: "Private notes are not readable through the gateway." }] },
};
/** Tight limits: two `ask` calls (MRTR rounds) and one `batch_job` (task) per day. */
const LIMITED = {
  version: "1",
  default: "allow",
  tools: {
    ask: { limits: [{ counter: "ask_rounds", window: "day", max: 2, scope: "grant" }] },
    batch_job: { limits: [{ counter: "tasks", window: "day", max: 1, scope: "grant" }] },
  },
};
const OPEN = { version: "1", default: "allow" };

/**
 * An upstream that shows what the gateway forwards for subscriptions/listen: it acknowledges exactly the filter it
 * received, then ends the subscription with its result. Anything else is answered 404.
 */
async function startListenRecorder(): Promise<{ url: string; received: { notifications?: unknown }[]; close(): Promise<void> }> {
  const received: { notifications?: unknown }[] = [];
  const server = createServer(async (req, res) => {
    let body = "";
    for await (const chunk of req) body += String(chunk);
    const m = (body ? JSON.parse(body) : {}) as { id?: string | number; method?: string; params?: { notifications?: unknown } };
    if (m.method !== "subscriptions/listen") {
      res.writeHead(404, { "content-type": "application/json" }).end(JSON.stringify({ jsonrpc: "2.0", id: m.id ?? null, error: { code: -32601, message: "Method not found" } }));
      return;
    }
    received.push({ notifications: m.params?.notifications });
    const tag = { "io.modelcontextprotocol/subscriptionId": m.id };
    const event = (message: unknown) => `event: message\ndata: ${JSON.stringify(message)}\n\n`;
    res.writeHead(200, { "content-type": "text/event-stream" });
    res.write(event({ jsonrpc: "2.0", method: "notifications/subscriptions/acknowledged", params: { notifications: m.params?.notifications, _meta: tag } }));
    res.end(event({ jsonrpc: "2.0", id: m.id, result: { resultType: "complete", _meta: tag } }));
  });
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  const { port } = server.address() as AddressInfo;
  return { url: `http://127.0.0.1:${port}/mcp`, received, close: () => new Promise((resolve) => server.close(() => resolve())) };
}

let gw: TestGateway;
let http: FixtureHttp;
/** A fixture of its own for subscriptions/listen: the tool its test adds would show in every other list. */
let listenHttp: FixtureHttp;
let everything: EverythingHttp;
let recorder: Awaited<ReturnType<typeof startListenRecorder>>;
const dir = mkdtempSync(join(tmpdir(), "toolgate-mcp2026-gw-"));
const stdioLog = join(dir, "stdio-records.jsonl");
const tokens: Record<string, string> = {};

const url = (server: string) => `${gw.proxyUrl}/mcp/${server}`;

before(async () => {
  [http, listenHttp, everything, recorder] = await Promise.all([serveFixtureHttp({ token: UPSTREAM_TOKEN }), serveFixtureHttp({ token: UPSTREAM_TOKEN }), startEverythingHttp(), startListenRecorder()]);
  gw = await startGateway();
  const headers = { authorization: `Bearer ${UPSTREAM_TOKEN}` };
  await gw.admin.put("servers", "fixture", { transport: { type: "streamable-http", url: http.url, headers } });
  await gw.admin.put("servers", "fixture-listen", { transport: { type: "streamable-http", url: listenHttp.url, headers } });
  await gw.admin.put("servers", "recorder", { transport: { type: "streamable-http", url: recorder.url } });
  await gw.admin.put("servers", "everything", { transport: { type: "streamable-http", url: everything.url } });
  // Nothing listens there: every call to it fails to connect.
  await gw.admin.put("servers", "unreachable", { transport: { type: "streamable-http", url: `http://127.0.0.1:${await freePort()}/mcp` } });
  await gw.admin.put("servers", "everything-stdio", { transport: { type: "stdio", command: process.execPath, args: ["node_modules/@modelcontextprotocol/server-everything/dist/index.js", "stdio"], cwd: ROOT } });
  await gw.admin.put("servers", "fixture-stdio", { transport: { type: "stdio", command: process.execPath, args: ["tests/fixtures/mcp2026/stdio-server.ts"], cwd: ROOT, env: { RECORD_LOG: stdioLog } } });
  await gw.admin.put("policies", "guarded", { document: GUARDED });
  await gw.admin.put("policies", "limited", { document: LIMITED });
  await gw.admin.put("policies", "open", { document: OPEN });
  await gw.admin.put("policies", "no-env", { document: { ...OPEN, hide: ["get-env"] } });
  const grants: [string, string, string][] = [
    ["agent", "fixture", "guarded"],
    ["other", "fixture", "guarded"],
    ["open", "fixture", "open"],
    ["limited", "fixture", "limited"],
    ["listen", "fixture-listen", "guarded"],
    ["everything", "everything", "open"],
    ["stdio", "fixture-stdio", "guarded"],
    ["unreachable", "unreachable", "open"],
    ["everything-stdio", "everything-stdio", "no-env"],
    ["recorder", "recorder", "guarded"],
  ];
  for (const [name, server, policy] of grants) tokens[name] = (await gw.admin.put<{ token: string }>("grants", name, { server, policy })).value.token;
  // The catalog has echo's definition (its x-mcp-header annotation) before any test relies on it.
  await gw.admin.postJson("/v1/servers/fixture/tools/refresh", {});
});

after(async () => {
  assert.equal(await gw?.stop(), 0);
  await Promise.all([http?.close(), listenHttp?.close(), everything?.close(), recorder?.close()]);
  rmSync(dir, { recursive: true, force: true });
});

type RequestRecord = Extract<FixtureRecord, { kind: "request" }>;

/** The requests the HTTP fixture received since record `from`. */
function requestsSince(fixture: FixtureHttp, from: number): RequestRecord[] {
  return fixture.records.slice(from).filter((r): r is RequestRecord => r.kind === "request");
}

/**
 * The 2026 requests the HTTP fixture received since record `from` (a 2025 client's notifications/cancelled may still
 * be on its way from an earlier test).
 */
function modernSince(fixture: FixtureHttp, from: number): RequestRecord[] {
  return requestsSince(fixture, from).filter((r) => r.era === "modern");
}

/** The tool calls started since record `from`. */
function callsSince(records: FixtureRecord[], from: number): FixtureRecord[] {
  return records.slice(from).filter((r) => r.kind === "call");
}

/** What the stdio fixture recorded (every process the gateway started appends to the same log). */
function stdioRecords(): FixtureRecord[] {
  try {
    return readFileSync(stdioLog, "utf8").split("\n").filter((l) => l).map((l) => JSON.parse(l) as FixtureRecord);
  } catch {
    return [];
  }
}

/** A raw 2026 request to one of the gateway's servers with a grant's token. */
function post(server: string, grant: string, request: RawRequest, o: RawOptions = {}): Promise<RawAnswer> {
  return postModern(url(server), request, { token: tokens[grant]!, ...o });
}

/** The wire bytes, for assertion messages: what the gateway actually answered. */
const wire = (a: RawAnswer) => `HTTP ${a.status} ${a.headers.get("content-type") ?? ""}\n${a.body}`;

/** A fixture server behind the gateway, and how to read what reached it. */
interface Behind {
  server: string;
  grant: string;
  records(): FixtureRecord[];
  /** The requests it received since record `from`, where the fixture records them (HTTP only). */
  requests?(from: number): RequestRecord[];
}

/** What every era's client must get through the gateway from a dual-era fixture, over HTTP and stdio alike. */
function clientBehaviour(behind: () => Behind) {
  for (const { mode, era, version } of ERAS) {
    describe(`${mode} client`, () => {
      let client: Client | undefined;
      let opening: RequestRecord[] | undefined;
      const c = () => client ?? assert.fail("the client did not connect (see the first test of this group)");
      const b = () => behind();
      before(async () => {
        const from = b().records().length;
        client = await connectHttp(url(b().server), { mode, token: tokens[b().grant]!, answer: { answer: "yes" } });
        opening = b().requests?.(from);
      });
      after(async () => {
        await client?.close();
      });

      test(`opens with ${era === "modern" ? "server/discover" : "initialize"} and lands on the ${era} era (${version})`, T, () => {
        assert.equal(c().getProtocolEra(), era);
        assert.equal(c().getNegotiatedProtocolVersion(), version);
        assert.deepEqual(c().getServerVersion(), { name: "mcp2026-fixture", version: "1.0.0" });
        const expected = era === "modern" ? [["modern", "server/discover"]] : [["legacy", "initialize"], ["legacy", "notifications/initialized"]];
        if (opening) assert.deepEqual(opening.map((r) => [r.era, r.method]), expected);
      });

      test("tools/list leaves out the hidden secret_tool", T, async () => {
        const { tools } = await c().listTools();
        assert.deepEqual(tools.map((t) => t.name), ["echo", "slow", "ask", "batch_job", "add_tool"]);
      });

      test("an allowed call reaches the upstream with its arguments", T, async () => {
        const from = b().records().length;
        assert.equal(resultText(await c().callTool({ name: "echo", arguments: { text: `hi ${mode}`, region: "eu" } })), `echo: hi ${mode}`);
        assert.deepEqual(callsSince(b().records(), from), [{ kind: "call", era, tool: "echo", args: { text: `hi ${mode}`, region: "eu" } }]);
      });

      test("a denied call and a hidden tool's call are results the client accepts, and neither reaches the upstream", T, async () => {
        const from = b().records().length;
        const denied = await c().callTool({ name: "echo", arguments: { text: "forbidden" } });
        assert.deepEqual([denied.isError, resultText(denied)], [true, "[POLICY DENIED] Forbidden text."]);
        const hidden = await c().callTool({ name: "secret_tool", arguments: {} });
        assert.deepEqual([hidden.isError, resultText(hidden)], [true, '[POLICY DENIED] Tool "secret_tool" is hidden by policy']);
        assert.deepEqual((b().requests?.(from) ?? []).filter((r) => r.method === "tools/call"), []);
        assert.deepEqual(callsSince(b().records(), from), []);
      });

      test("progress notifications arrive", T, async () => {
        const progress: number[] = [];
        const result = await c().callTool({ name: "slow", arguments: { steps: 3, ms: 50 } }, { onprogress: (p) => void progress.push(p.progress) });
        assert.equal(resultText(result), "slept 3 x 50 ms");
        assert.deepEqual(progress, [1, 2, 3]);
      });

      test("cancelling reaches the upstream, which stops the call", T, async () => {
        const cancelled = () => b().records().filter((r) => r.kind === "cancelled" && r.era === era).length;
        const before = cancelled();
        const abort = new AbortController();
        const call = c().callTool({ name: "slow", arguments: { steps: 100, ms: 100 } }, { signal: abort.signal, onprogress: () => abort.abort("the user stopped it") });
        await assert.rejects(call);
        assert.equal(await eventually(async () => cancelled(), (n) => n > before), before + 1);
      });

      test("asks the user mid-call (MRTR in 2026, an elicitation request in 2025) and completes", T, async () => {
        assert.equal(resultText(await c().callTool({ name: "ask", arguments: { question: "Deploy?" } })), "Deploy? -> yes");
      });

      test("reads a resource and gets a prompt; a resource the policy denies is -32010 and never reaches the upstream", T, async () => {
        const read = await c().readResource({ uri: "note://readme" });
        assert.deepEqual(read.contents, [{ uri: "note://readme", mimeType: "text/plain", text: "This is the mcp2026 fixture." }]);
        const prompt = await c().getPrompt({ name: "greet", arguments: { name: "Ada" } });
        assert.deepEqual(prompt.messages, [{ role: "user", content: { type: "text", text: "Say hello to Ada." } }]);
        const from = b().records().length;
        await assert.rejects(c().readResource({ uri: "note://private" }), (e: unknown) => {
          assert.ok(e instanceof ProtocolError, `expected a JSON-RPC error, got ${String(e)}`);
          assert.equal(e.code, -32010);
          assert.match(e.message, /\[POLICY DENIED\] Private notes are not readable through the gateway\./);
          return true;
        });
        assert.deepEqual((b().requests?.(from) ?? []).filter((r) => r.method === "resources/read"), []);
      });
    });
  }
}

describe("HTTP fixture through the gateway, TypeScript SDK v2 client", () => {
  clientBehaviour(() => ({ server: "fixture", grant: "agent", records: () => http.records, requests: (from) => requestsSince(http, from) }));
});

describe("the fixture's stdio server (dual-era) through the gateway, TypeScript SDK v2 client", () => {
  clientBehaviour(() => ({ server: "fixture-stdio", grant: "stdio", records: stdioRecords }));
});

describe("HTTP fixture through the gateway, raw 2026 requests", () => {
  test("server/discover is relayed, with the upstream's versions and capabilities", T, async () => {
    const from = http.records.length;
    const a = await post("fixture", "agent", { method: "server/discover" });
    const result = a.response?.result ?? {};
    assert.equal(a.status, 200, wire(a));
    assert.deepEqual([result.resultType, result.supportedVersions], ["complete", [MODERN]], wire(a));
    assert.deepEqual(Object.keys(result.capabilities as object).sort(), ["extensions", "prompts", "resources", "tools"], wire(a));
    assert.deepEqual(modernSince(http, from).map((r) => r.headers), [{ "mcp-protocol-version": MODERN, "mcp-method": "server/discover" }]);
  });

  test("tools/list filtered by the grant's policy is private with ttlMs capped at 30 s; an unfiltered grant keeps the upstream's cache hints", T, async () => {
    const filtered = await post("fixture", "agent", { method: "tools/list" });
    const f = filtered.response?.result ?? {};
    assert.deepEqual([f.resultType, f.cacheScope, f.ttlMs], ["complete", "private", 30000], wire(filtered));
    assert.deepEqual((f.tools as { name: string }[]).map((t) => t.name), ["echo", "slow", "ask", "batch_job", "add_tool"]);
    const open = await post("fixture", "open", { method: "tools/list" });
    const o = open.response?.result ?? {};
    assert.deepEqual([o.resultType, o.cacheScope, o.ttlMs], ["complete", "public", 60000], wire(open));
    assert.deepEqual((o.tools as { name: string }[]).map((t) => t.name), ["echo", "secret_tool", "slow", "ask", "batch_job", "add_tool"]);
  });

  test("a denied call is a complete 2026 result, and nothing reaches the upstream", T, async () => {
    const from = http.records.length;
    const a = await post("fixture", "agent", { id: 5, method: "tools/call", params: { name: "echo", arguments: { text: "forbidden" } } });
    assert.equal(a.status, 200, wire(a));
    const r = a.response?.result ?? {};
    assert.deepEqual({ resultType: r.resultType, content: r.content, isError: r.isError }, { resultType: "complete", content: [{ type: "text", text: "[POLICY DENIED] Forbidden text." }], isError: true }, wire(a));
    assert.equal(a.response?.id, 5);
    assert.deepEqual(modernSince(http, from), []);
  });

  test("the upstream gets MCP-Protocol-Version, Mcp-Method, Mcp-Name and Mcp-Param-* recomputed from the decided message", T, async () => {
    const from = http.records.length;
    // The agent encodes values the spec lets it send plain: the upstream still gets the canonical encoding.
    const zurich = await post("fixture", "agent", { method: "tools/call", params: { name: "echo", arguments: { text: "z", region: "Zürich" } } }, { headers: { "mcp-name": "=?base64?ZWNobw==?=", "mcp-param-region": "=?base64?WsO8cmljaA==?=" } });
    assert.deepEqual(zurich.response?.result?.content, [{ type: "text", text: "echo: z" }], wire(zurich));
    const us = await post("fixture", "agent", { method: "tools/call", params: { name: "echo", arguments: { text: "u", region: "us-west1" } } }, { headers: { "mcp-param-region": "=?base64?dXMtd2VzdDE=?=" } });
    assert.equal(us.status, 200, wire(us));
    const read = await post("fixture", "agent", { method: "resources/read", params: { uri: "note://readme" } });
    assert.equal(read.status, 200, wire(read));
    const prompt = await post("fixture", "agent", { method: "prompts/get", params: { name: "greet", arguments: { name: "Ada" } } });
    assert.equal(prompt.status, 200, wire(prompt));
    const list = await post("fixture", "agent", { method: "tools/list" });
    assert.equal(list.status, 200, wire(list));
    assert.deepEqual(
      modernSince(http, from).map((r) => [r.method, r.headers]),
      [
        ["tools/call", { "mcp-protocol-version": MODERN, "mcp-method": "tools/call", "mcp-name": "echo", "mcp-param-region": "=?base64?WsO8cmljaA==?=" }],
        ["tools/call", { "mcp-protocol-version": MODERN, "mcp-method": "tools/call", "mcp-name": "echo", "mcp-param-region": "us-west1" }],
        ["resources/read", { "mcp-protocol-version": MODERN, "mcp-method": "resources/read", "mcp-name": "note://readme" }],
        ["prompts/get", { "mcp-protocol-version": MODERN, "mcp-method": "prompts/get", "mcp-name": "greet" }],
        ["tools/list", { "mcp-protocol-version": MODERN, "mcp-method": "tools/list" }],
      ],
    );
    assert.deepEqual(callsSince(http.records, from), [
      { kind: "call", era: "modern", tool: "echo", args: { text: "z", region: "Zürich" } },
      { kind: "call", era: "modern", tool: "echo", args: { text: "u", region: "us-west1" } },
    ]);
  });

  test("an agent header that contradicts the body is refused with 400 -32020 naming the header, and nothing reaches the upstream", T, async () => {
    // Every case is right but for one header: echo's args.region is mirrored as Mcp-Param-Region.
    const echo = { method: "tools/call", params: { name: "echo", arguments: { text: "x", region: "eu" } } };
    const region = { "mcp-param-region": "eu" };
    const cases: [string, RawRequest, Record<string, string | null>, RegExp][] = [
      ["Mcp-Name names another tool", echo, { ...region, "mcp-name": "secret_tool" }, /Mcp-Name/i],
      ["Mcp-Name is a malformed sentinel", echo, { ...region, "mcp-name": "=?base64?***?=" }, /Mcp-Name/i],
      ["Mcp-Name is missing", echo, { ...region, "mcp-name": null }, /Mcp-Name/i],
      ["Mcp-Method names another method", echo, { ...region, "mcp-method": "tools/list" }, /Mcp-Method/i],
      ["Mcp-Method is missing", { method: "tools/list" }, { "mcp-method": null }, /Mcp-Method/i],
      ["Mcp-Param-Region differs from args.region", echo, { "mcp-param-region": "us-east1" }, /Mcp-Param-Region/i],
      ["MCP-Protocol-Version differs from the _meta claim", echo, { ...region, "mcp-protocol-version": "2025-11-25" }, /MCP-Protocol-Version/i],
    ];
    for (const [what, request, headers, names] of cases) {
      const from = http.records.length;
      const a = await post("fixture", "agent", request, { headers });
      assert.equal(a.status, 400, `${what}: ${wire(a)}`);
      assert.equal(a.response?.error?.code, -32020, `${what}: ${wire(a)}`);
      assert.match(a.response?.error?.message ?? "", names, `${what}: ${wire(a)}`);
      assert.deepEqual(modernSince(http, from), [], `${what}: reached the upstream`);
    }
  });

  test("a modern MCP-Protocol-Version without the _meta claim is refused with 400 -32602", T, async () => {
    const from = http.records.length;
    const res = await fetch(url("fixture"), {
      method: "POST",
      headers: { authorization: `Bearer ${tokens.agent}`, "content-type": "application/json", accept: "application/json, text/event-stream", "mcp-protocol-version": MODERN, "mcp-method": "tools/list" },
      body: JSON.stringify({ jsonrpc: "2.0", id: 1, method: "tools/list", params: {} }),
    });
    const body = await res.text();
    assert.equal(res.status, 400, body);
    assert.equal((JSON.parse(body) as { error?: { code?: number } }).error?.code, -32602, body);
    assert.deepEqual(modernSince(http, from), []);
  });

  test("an unsupported claimed version is refused with 400 -32022 listing the versions the gateway relays", T, async () => {
    const from = http.records.length;
    const a = await post("fixture", "agent", { method: "tools/list", params: { _meta: { "io.modelcontextprotocol/protocolVersion": "2099-01-01" } } }, { headers: { "mcp-protocol-version": "2099-01-01" } });
    assert.equal(a.status, 400, wire(a));
    assert.equal(a.response?.error?.code, -32022, wire(a));
    assert.match(a.response?.error?.message ?? "", /Unsupported protocol version/, wire(a));
    assert.deepEqual(a.response?.error?.data, { supported: [MODERN, ...LEGACY_VERSIONS], requested: "2099-01-01" }, wire(a));
    assert.deepEqual(modernSince(http, from), []);
  });

  test("MRTR: input_required is relayed unchanged and the retry's requestState reaches the upstream byte for byte", T, async () => {
    const first = await post("fixture", "agent", { id: 1, method: "tools/call", params: { name: "ask", arguments: { question: "Go?" } } }, { capabilities: ELICITATION });
    const r = first.response?.result ?? {};
    assert.equal(r.resultType, "input_required", wire(first));
    const requestedSchema = { type: "object", properties: { answer: { type: "string" } }, required: ["answer"], $schema: "https://json-schema.org/draft/2020-12/schema" };
    assert.deepEqual(r.inputRequests, { answer: { method: "elicitation/create", params: { mode: "form", message: "Go?", requestedSchema } } }, wire(first));
    assert.equal(typeof r.requestState, "string", wire(first));
    const retry = await post("fixture", "agent", { id: 2, method: "tools/call", params: { name: "ask", arguments: { question: "Go?" }, inputResponses: { answer: { action: "accept", content: { answer: "yes" } } }, requestState: r.requestState } }, { capabilities: ELICITATION });
    assert.deepEqual(retry.response?.result?.content, [{ type: "text", text: "Go? -> yes" }], wire(retry));
    assert.equal(retry.response?.result?.resultType, "complete", wire(retry));
  });

  test("a task: created and polled through the gateway, its id bound to the grant; another grant's tasks/get with the same id is -32602", T, async () => {
    const from = http.records.length;
    const created = await post("fixture", "agent", { method: "tools/call", params: { name: "batch_job", arguments: { items: 3 } } }, { capabilities: TASKS });
    const task = created.response?.result ?? {};
    assert.deepEqual([task.resultType, task.status], ["task", "working"], wire(created));
    assert.deepEqual(callsSince(http.records, from), [{ kind: "call", era: "modern", tool: "batch_job", args: { items: 3 } }]);
    const taskId = task.taskId as string;
    const get = (grant: string, id = taskId) => post("fixture", grant, { method: "tasks/get", params: { taskId: id } }, { capabilities: TASKS });

    const asking = await eventually(() => get("agent"), (a) => a.response?.result?.status !== "working");
    assert.equal(asking.response?.result?.status, "input_required", wire(asking));
    assert.equal(asking.response?.result?.taskId, taskId, `the id in tasks/get results is the agent's: ${wire(asking)}`);
    assert.deepEqual(Object.keys(asking.response?.result?.inputRequests as object), ["confirm"], wire(asking));
    const polled = modernSince(http, from).filter((r) => r.method === "tasks/get");
    assert.ok(polled.length > 0, "tasks/get reached the upstream");
    const upstreamId = polled[0]!.headers["mcp-name"]!;
    assert.notEqual(taskId, upstreamId, "the agent's task id is wrapped");
    assert.ok(taskId.startsWith(`${upstreamId}.`), `the agent's task id ${taskId} wraps the upstream's ${upstreamId}`);
    assert.deepEqual(polled[0]!.headers, { "mcp-protocol-version": MODERN, "mcp-method": "tasks/get", "mcp-name": upstreamId });

    const update = await post("fixture", "agent", { method: "tasks/update", params: { taskId, inputResponses: { confirm: { action: "accept", content: { confirm: true } } } } }, { capabilities: TASKS });
    assert.equal(update.response?.result?.resultType, "complete", wire(update));
    const done = await eventually(() => get("agent"), (a) => a.response?.result?.status === "completed");
    assert.deepEqual(done.response?.result?.result, { content: [{ type: "text", text: "processed 3 items" }], isError: false }, wire(done));

    const before = http.records.length;
    const refusals: [string, string, string][] = [
      ["other", "tasks/get", taskId],
      ["other", "tasks/cancel", taskId],
      ["other", "tasks/update", taskId],
      ["agent", "tasks/get", upstreamId],
      ["agent", "tasks/get", `${upstreamId}.forged`],
    ];
    for (const [who, method, id] of refusals) {
      const refused = await post("fixture", who, { method, params: { taskId: id, ...(method === "tasks/update" ? { inputResponses: {} } : {}) } }, { capabilities: TASKS });
      assert.equal(refused.response?.error?.code, -32602, `${who} ${method} ${id}: ${wire(refused)}`);
      assert.match(refused.response?.error?.message ?? "", /Task not found/, `${who} ${method} ${id}: ${wire(refused)}`);
    }
    assert.deepEqual(modernSince(http, before), []);
  });

  test("a task is cancelled through the gateway with its wrapped id", T, async () => {
    // Without elicitation the fixture's task just works for a while (taskWorkMs), long enough to cancel it.
    const capabilities = { extensions: { "io.modelcontextprotocol/tasks": {} } };
    const created = await post("fixture", "agent", { method: "tools/call", params: { name: "batch_job", arguments: { items: 9 } } }, { capabilities });
    const taskId = created.response?.result?.taskId as string;
    assert.equal(typeof taskId, "string", wire(created));
    const from = http.records.length;
    const cancel = await post("fixture", "agent", { method: "tasks/cancel", params: { taskId } }, { capabilities });
    assert.equal(cancel.response?.result?.resultType, "complete", wire(cancel));
    const got = await post("fixture", "agent", { method: "tasks/get", params: { taskId } }, { capabilities });
    assert.deepEqual([got.response?.result?.taskId, got.response?.result?.status], [taskId, "cancelled"], wire(got));
    const [cancelled] = modernSince(http, from);
    assert.deepEqual([cancelled?.method, cancelled?.headers["mcp-name"]], ["tasks/cancel", taskId.slice(0, taskId.lastIndexOf("."))]);
  });

  test("GET and DELETE without a session are 405 with Allow: POST (2026 has no GET stream or session)", T, async () => {
    for (const method of ["GET", "DELETE"]) {
      const res = await fetch(url("fixture"), { method, headers: { authorization: `Bearer ${tokens.agent}`, accept: "application/json, text/event-stream", "mcp-protocol-version": MODERN } });
      const body = await res.text();
      assert.equal(res.status, 405, `${method}: ${body}`);
      assert.equal(res.headers.get("allow"), "POST", `${method}: HTTP ${res.status} ${[...res.headers].map(([k, v]) => `${k}: ${v}`).join("; ")} ${body}`);
    }
  });

  test("a task-creating call and each MRTR round are limited like any other call", T, async () => {
    const from = http.records.length;
    const task = await post("fixture", "limited", { method: "tools/call", params: { name: "batch_job", arguments: { items: 1 } } }, { capabilities: TASKS });
    assert.equal(task.response?.result?.resultType, "task", wire(task));
    const second = await post("fixture", "limited", { method: "tools/call", params: { name: "batch_job", arguments: { items: 2 } } }, { capabilities: TASKS });
    assert.equal(second.response?.result?.resultType, "complete", wire(second));
    assert.equal(second.response?.result?.isError, true, wire(second));
    assert.match(JSON.stringify(second.response?.result?.content), /\[POLICY DENIED\] Rate limit reached: at most 1 call per day \(counter \\"tasks\\", grant scope\)/, wire(second));

    const round1 = await post("fixture", "limited", { method: "tools/call", params: { name: "ask", arguments: { question: "Ship?" } } }, { capabilities: ELICITATION });
    const state = round1.response?.result?.requestState;
    assert.equal(round1.response?.result?.resultType, "input_required", wire(round1));
    const round2 = await post("fixture", "limited", { method: "tools/call", params: { name: "ask", arguments: { question: "Ship?" }, inputResponses: { answer: { action: "accept", content: { answer: "no" } } }, requestState: state } }, { capabilities: ELICITATION });
    assert.deepEqual(round2.response?.result?.content, [{ type: "text", text: "Ship? -> no" }], wire(round2));
    const third = await post("fixture", "limited", { method: "tools/call", params: { name: "ask", arguments: { question: "Ship?" } } }, { capabilities: ELICITATION });
    assert.equal(third.response?.result?.isError, true, wire(third));
    assert.match(JSON.stringify(third.response?.result?.content), /Rate limit reached: at most 2 calls per day \(counter \\"ask_rounds\\"/, wire(third));
    assert.deepEqual(modernSince(http, from).map((r) => r.method), ["tools/call", "tools/call", "tools/call"], "the task and both rounds reached the upstream, the refused calls did not");
  });

  test("subscriptions/listen receives notifications/tools/list_changed after add_tool", T, async () => {
    const client = await connectHttp(url("fixture-listen"), { mode: "pin", token: tokens.listen! });
    try {
      let changed = 0;
      client.setNotificationHandler("notifications/tools/list_changed", () => void changed++);
      const from = listenHttp.records.length;
      const subscription = await client.listen({ toolsListChanged: true });
      assert.deepEqual(subscription.honoredFilter, { toolsListChanged: true });
      assert.equal(resultText(await client.callTool({ name: "add_tool", arguments: { name: "extra_gw" } })), "added extra_gw");
      assert.equal(await eventually(async () => changed, (n) => n > 0), 1);
      assert.ok((await client.listTools()).tools.some((t) => t.name === "extra_gw"));
      assert.deepEqual(modernSince(listenHttp, from)[0]?.headers, { "mcp-protocol-version": MODERN, "mcp-method": "subscriptions/listen" });
      await subscription.close();
    } finally {
      await client.close();
    }
  });
});

describe("subscriptions/listen resourceSubscriptions are decided per URI", () => {
  test("a URI the policy denies is dropped from the filter the upstream gets, and the agent sees the honoured subset", T, async () => {
    const from = recorder.received.length;
    const a = await post("recorder", "recorder", { id: 21, method: "subscriptions/listen", params: { notifications: { toolsListChanged: true, resourceSubscriptions: ["note://readme", "note://private"] } } });
    assert.deepEqual(recorder.received.slice(from), [{ notifications: { toolsListChanged: true, resourceSubscriptions: ["note://readme"] } }], wire(a));
    const ack = a.messages.find((m) => m.method === "notifications/subscriptions/acknowledged");
    assert.deepEqual(ack?.params?.notifications, { toolsListChanged: true, resourceSubscriptions: ["note://readme"] }, wire(a));
    assert.deepEqual([a.response?.id, a.response?.result?.resultType], [21, "complete"], wire(a));
  });
});

describe("an unreachable upstream", () => {
  test("a 2026 call gets -32603 naming the failure in data (2026 forbids -32002); a 2025 initialize keeps -32002", T, async () => {
    const modern = await post("unreachable", "unreachable", { id: 3, method: "tools/call", params: { name: "echo", arguments: { text: "x" } } });
    assert.equal(modern.response?.error?.code, -32603, wire(modern));
    assert.deepEqual(modern.response?.error?.data, { toolgate: "upstream", failure: "connect" }, wire(modern));
    assert.match(modern.response?.error?.message ?? "", /Upstream server "unreachable" is unreachable/, wire(modern));
    const res = await fetch(url("unreachable"), {
      method: "POST",
      headers: { authorization: `Bearer ${tokens.unreachable}`, "content-type": "application/json", accept: "application/json, text/event-stream" },
      body: JSON.stringify({ jsonrpc: "2.0", id: 4, method: "initialize", params: { protocolVersion: "2025-11-25", capabilities: {}, clientInfo: { name: "toolgate-test", version: "1.0.0" } } }),
    });
    const body = await res.text();
    const legacy = JSON.parse(body) as { error?: { code?: number; data?: unknown } };
    assert.deepEqual([legacy.error?.code, legacy.error?.data], [-32002, undefined], body);
  });
});

describe("Python SDK client (mcp from PyPI) through the gateway", () => {
  for (const [mode, era, version] of [["auto", "modern", MODERN], [MODERN, "modern", MODERN], ["legacy", "legacy", "2025-11-25"]] as const) {
    test(`${mode}: connects, lists without the hidden tool, calls, and gets the denial as a result`, T, async () => {
      const from = http.records.length;
      const report = await runPythonClient({ url: url("fixture"), token: tokens.agent!, mode, call: { name: "echo", arguments: { text: "py", region: "eu" } }, denied: { name: "echo", arguments: { text: "forbidden" } } });
      assert.deepEqual([report.era, report.protocolVersion], [era, version]);
      assert.deepEqual(report.tools, ["add_tool", "ask", "batch_job", "echo", "slow"]);
      assert.deepEqual(report.call, { isError: false, text: "echo: py" });
      assert.deepEqual(report.denied, { isError: true, text: "[POLICY DENIED] Forbidden text." });
      assert.deepEqual(callsSince(http.records, from), [{ kind: "call", era, tool: "echo", args: { text: "py", region: "eu" } }]);
      if (mode === "auto") assert.deepEqual(report.supportedVersions, [MODERN]);
    });
  }
});

describe("a 2025-only HTTP server (server-everything) through the gateway", () => {
  test("server/discover is answered for it with only 2025 versions", T, async () => {
    const a = await post("everything", "everything", { method: "server/discover" });
    assert.equal(a.status, 200, wire(a));
    assert.deepEqual(a.response?.result, { resultType: "complete", supportedVersions: LEGACY_VERSIONS, capabilities: {}, ttlMs: 0, cacheScope: "private" }, wire(a));
  });

  test("the auto client falls back to 2025 and works; the pinned client fails clearly", T, async () => {
    const auto = await connectHttp(url("everything"), { mode: "auto", token: tokens.everything! });
    try {
      assert.equal(auto.getProtocolEra(), "legacy");
      assert.ok((await auto.listTools()).tools.some((t) => t.name === "echo"));
      assert.equal(resultText(await auto.callTool({ name: "echo", arguments: { message: "through" } })), "Echo: through");
    } finally {
      await auto.close();
    }
    // The SDK's own error for a discover result that lists no version it may use: -32022 naming what the server has.
    await assert.rejects(connectHttp(url("everything"), { mode: "pin", token: tokens.everything! }), (e: unknown) => {
      assert.ok(e instanceof UnsupportedProtocolVersionError, `expected UnsupportedProtocolVersionError, got ${String(e)}`);
      assert.deepEqual([e.code, e.data], [-32022, { supported: LEGACY_VERSIONS, requested: MODERN }]);
      return true;
    });
  });
});

describe("the fixture's stdio server (dual-era) through the gateway, raw 2026 and Python", () => {
  test("a raw 2026 call runs in the 2026 era and gets a complete result", T, async () => {
    const from = stdioRecords().length;
    const a = await post("fixture-stdio", "stdio", { id: "s1", method: "tools/call", params: { name: "echo", arguments: { text: "modern", region: "eu" } } }, { headers: { "mcp-param-region": "eu" } });
    assert.equal(a.status, 200, wire(a));
    assert.equal(a.response?.id, "s1", wire(a));
    assert.deepEqual([a.response?.result?.resultType, a.response?.result?.content], ["complete", [{ type: "text", text: "echo: modern" }]], wire(a));
    assert.deepEqual(callsSince(stdioRecords(), from), [{ kind: "call", era: "modern", tool: "echo", args: { text: "modern", region: "eu" } }]);
  });

  test("the auto Python client lands on 2026 and works", T, async () => {
    const report = await runPythonClient({ url: url("fixture-stdio"), token: tokens.stdio!, mode: "auto", call: { name: "echo", arguments: { text: "py stdio" } }, denied: { name: "secret_tool" } });
    assert.deepEqual([report.era, report.protocolVersion], ["modern", MODERN]);
    assert.deepEqual(report.tools, ["add_tool", "ask", "batch_job", "echo", "slow"]);
    assert.deepEqual(report.call, { isError: false, text: "echo: py stdio" });
    assert.deepEqual(report.denied, { isError: true, text: '[POLICY DENIED] Tool "secret_tool" is hidden by policy' });
  });
});

describe("a 2025-only stdio server (server-everything over stdio) through the gateway", () => {
  test("a 2026 request is answered 400 -32022 with the 2025 versions", T, async () => {
    const a = await post("everything-stdio", "everything-stdio", { method: "tools/call", params: { name: "echo", arguments: { message: "modern" } } });
    assert.equal(a.status, 400, wire(a));
    assert.equal(a.response?.error?.code, -32022, wire(a));
    assert.deepEqual((a.response?.error?.data as { supported?: unknown } | undefined)?.supported, LEGACY_VERSIONS, wire(a));
  });

  test("the auto TypeScript client falls back to 2025 and works; the pinned client fails clearly", T, async () => {
    const auto = await connectHttp(url("everything-stdio"), { mode: "auto", token: tokens["everything-stdio"]! });
    try {
      assert.deepEqual([auto.getProtocolEra(), auto.getNegotiatedProtocolVersion()], ["legacy", "2025-11-25"]);
      assert.equal(resultText(await auto.callTool({ name: "echo", arguments: { message: "stdio" } })), "Echo: stdio");
    } finally {
      await auto.close();
    }
    await assert.rejects(connectHttp(url("everything-stdio"), { mode: "pin", token: tokens["everything-stdio"]! }), (e: unknown) => {
      assert.ok(e instanceof UnsupportedProtocolVersionError, `expected UnsupportedProtocolVersionError, got ${String(e)}`);
      assert.deepEqual([e.code, (e.data as { supported?: unknown }).supported], [-32022, LEGACY_VERSIONS]);
      return true;
    });
  });

  test("the auto Python client falls back to 2025 and works", T, async () => {
    const report = await runPythonClient({ url: url("everything-stdio"), token: tokens["everything-stdio"]!, mode: "auto", call: { name: "echo", arguments: { message: "py" } }, denied: { name: "get-env" } });
    assert.deepEqual([report.era, report.protocolVersion], ["legacy", "2025-11-25"]);
    assert.deepEqual(report.call, { isError: false, text: "Echo: py" });
    assert.deepEqual(report.denied, { isError: true, text: '[POLICY DENIED] Tool "get-env" is hidden by policy' });
  });
});
