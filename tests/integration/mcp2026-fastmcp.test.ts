// A FastMCP server not written here (the official Python SDK `mcp` 2.x, MCPServer over Streamable HTTP, serving
// 2026-07-28 and the 2025 handshake on one URL: tests/fixtures/mcp2026/fastmcp_server.py) behind a real
// `toolgate serve` (issue 17), with the TypeScript SDK v2 client (pinned to 2026-07-28, auto, 2025 handshake) and
// the Python SDK client. The server's own records show what reached it: the era of each request, nothing for a
// call the policy refused, a cancelled call seen cancelled, and an MRTR round trip's two rounds.
import { after, before, describe, test } from "node:test";
import assert from "node:assert/strict";
import { execFile, spawn } from "node:child_process";
import { join } from "node:path";
import { promisify } from "node:util";
import type { Client } from "@modelcontextprotocol/client";
import { ROOT } from "../helpers/cli.ts";
import { startGateway, type TestGateway } from "../helpers/gateway.ts";
import { connectHttp, postModern, pythonClientVenv, resultText, runPythonClient, type EraMode, type RawAnswer } from "../helpers/mcp2026-client.ts";
import { eventually, listeningUrl } from "../helpers/upstreams.ts";

const run = promisify(execFile);
const MODERN = "2026-07-28";
/** No test may hang on a relay that never answers: it fails with what it was waiting for. */
const T = { timeout: 60_000 };

const GUARDED = {
  version: "1",
  default: "allow",
  hide: ["secret_tool"],
  tools: { echo: { deny_if: [{ path: "args.text", op: "eq", value: "forbidden", on_deny: "Forbidden text." }] } },
};

type Era = "modern" | "legacy";
type FastMcpRecord =
  | { kind: "request"; era: Era; method: string; headers: Record<string, string> }
  | { kind: "call"; tool: string; args: Record<string, unknown>; answer?: string }
  | { kind: "cancelled"; era: Era; tool: string };

interface FastMcp {
  url: string;
  records(): Promise<FastMcpRecord[]>;
  close(): Promise<void>;
}

/** Starts fastmcp_server.py in the Python client's cached venv (the same `mcp` pin) on a free loopback port. */
async function startFastMcp(): Promise<FastMcp> {
  const python = await pythonClientVenv();
  const child = spawn(python, [join(ROOT, "tests/fixtures/mcp2026/fastmcp_server.py"), "--listen", "127.0.0.1:0"], { cwd: ROOT, stdio: ["ignore", "pipe", "pipe"] });
  const exited = new Promise<void>((r) => child.once("exit", () => r()));
  const url = await listeningUrl(child, "fastmcp_server.py");
  return {
    url,
    async records() {
      return (await (await fetch(new URL("/executions", url))).json()) as FastMcpRecord[];
    },
    async close() {
      if (child.exitCode === null && child.signalCode === null) child.kill("SIGTERM");
      // uvicorn waits for requests still in flight.
      const kill = setTimeout(() => child.kill("SIGKILL"), 5000);
      await exited;
      clearTimeout(kill);
    },
  };
}

/** What the Python SDK client got for a progress-reporting call, a resource and a prompt (PY_SESSION prints it). */
interface PySession {
  protocolVersion: string;
  progress: number[];
  slow: string;
  resource: { uri: string; mimeType: string | null; text: string }[];
  prompt: { role: string; text: string }[];
}

/** The Python SDK client in one mode: slow with a progress callback, then resources/read and prompts/get. */
const PY_SESSION = `
import asyncio, json, sys
import httpx2
from mcp import Client
from mcp.client.streamable_http import streamable_http_client

async def main(url, token, mode):
    progress = []
    async def on_progress(value, total, message):
        progress.append(value)
    async with httpx2.AsyncClient(headers={"Authorization": f"Bearer {token}"}, timeout=30) as http:
        async with Client(streamable_http_client(url, http_client=http), mode=mode, cache=None) as client:
            slow = await client.call_tool("slow", {"steps": 3, "ms": 50}, progress_callback=on_progress)
            read = await client.read_resource("note://readme")
            prompt = await client.get_prompt("greet", {"name": "Ada"})
            print(json.dumps({
                "protocolVersion": client.protocol_version,
                "progress": progress,
                "slow": "\\n".join(c.text for c in slow.content),
                "resource": [{"uri": str(c.uri), "mimeType": c.mime_type, "text": c.text} for c in read.contents],
                "prompt": [{"role": m.role, "text": m.content.text} for m in prompt.messages],
            }))

asyncio.run(main(*sys.argv[1:4]))
`;

async function runPySession(url: string, token: string, mode: string): Promise<PySession> {
  const python = await pythonClientVenv();
  try {
    const { stdout } = await run(python, ["-c", PY_SESSION, url, token, mode], { timeout: 60_000 });
    return JSON.parse(stdout) as PySession;
  } catch (error) {
    const e = error as Error & { stderr?: string };
    throw new Error(`the Python SDK session failed: ${e.stderr?.trim() || e.message}`, { cause: error });
  }
}

let gw: TestGateway;
let fastmcp: FastMcp;
let token: string;
const url = () => `${gw.proxyUrl}/mcp/fastmcp`;
const wire = (a: RawAnswer) => `HTTP ${a.status} ${a.headers.get("content-type") ?? ""}\n${a.body}`;

before(async () => {
  [fastmcp, gw] = await Promise.all([startFastMcp(), startGateway()]);
  await gw.admin.put("servers", "fastmcp", { transport: { type: "streamable-http", url: fastmcp.url } });
  await gw.admin.put("policies", "guarded", { document: GUARDED });
  token = (await gw.admin.put<{ token: string }>("grants", "agent", { server: "fastmcp", policy: "guarded" })).value.token;
});

after(async () => {
  assert.equal(await gw?.stop(), 0);
  await fastmcp?.close();
});

/** The records the server made since record `from`. */
async function since(from: number): Promise<FastMcpRecord[]> {
  return (await fastmcp.records()).slice(from);
}

/** The requests (era, method) the server received since record `from`. */
async function requestsSince(from: number): Promise<[Era, string][]> {
  return (await since(from)).flatMap((r) => (r.kind === "request" ? [[r.era, r.method] as [Era, string]] : []));
}

const ERAS: { mode: EraMode; era: Era; version: string }[] = [
  { mode: "pin", era: "modern", version: MODERN },
  { mode: "auto", era: "modern", version: MODERN },
  { mode: "legacy", era: "legacy", version: "2025-11-25" },
];

for (const { mode, era, version } of ERAS) {
  describe(`FastMCP (Python mcp 2.x) through the gateway, TypeScript SDK v2 client, ${mode}`, () => {
    let client: Client | undefined;
    let opening: [Era, string][] = [];
    const c = () => client ?? assert.fail("the client did not connect (see the first test of this group)");
    before(async () => {
      const from = (await fastmcp.records()).length;
      client = await connectHttp(url(), { mode, token, answer: { answer: "yes" } });
      opening = await requestsSince(from);
    });
    after(async () => {
      await client?.close();
    });

    test(`opens with ${era === "modern" ? "server/discover" : "initialize"} and lands on ${version}`, T, () => {
      assert.equal(c().getProtocolEra(), era);
      assert.equal(c().getNegotiatedProtocolVersion(), version);
      assert.deepEqual(c().getServerVersion(), { name: "fastmcp-upstream", version: "1.0.0" });
      assert.deepEqual(opening, era === "modern" ? [["modern", "server/discover"]] : [["legacy", "initialize"], ["legacy", "notifications/initialized"]]);
    });

    test("tools/list leaves out the hidden secret_tool", T, async () => {
      assert.deepEqual((await c().listTools()).tools.map((t) => t.name).sort(), ["ask", "echo", "slow"]);
    });

    test("an allowed call runs upstream in the client's era", T, async () => {
      const from = (await fastmcp.records()).length;
      assert.equal(resultText(await c().callTool({ name: "echo", arguments: { text: `hi ${mode}` } })), `echo: hi ${mode}`);
      assert.deepEqual(await since(from), [
        { kind: "request", era, method: "tools/call", headers: era === "modern" ? { "mcp-protocol-version": MODERN, "mcp-method": "tools/call", "mcp-name": "echo" } : { "mcp-protocol-version": version } },
        { kind: "call", tool: "echo", args: { text: `hi ${mode}` } },
      ]);
    });

    // MCPServer declares an outputSchema for every tool (its results carry structuredContent); the gateway's denial
    // has none, which a client that has listed the tools accepts only because the denial is isError.
    test("a denied call and a hidden tool's call are results the client accepts, and neither reaches the server", T, async () => {
      const from = (await fastmcp.records()).length;
      const denied = await c().callTool({ name: "echo", arguments: { text: "forbidden" } });
      assert.deepEqual([denied.isError, resultText(denied)], [true, "[POLICY DENIED] Forbidden text."]);
      const hidden = await c().callTool({ name: "secret_tool", arguments: {} });
      assert.deepEqual([hidden.isError, resultText(hidden)], [true, '[POLICY DENIED] Tool "secret_tool" is hidden by policy']);
      assert.deepEqual(await since(from), []);
    });

    test("progress notifications arrive before the result", T, async () => {
      const progress: number[] = [];
      const result = await c().callTool({ name: "slow", arguments: { steps: 3, ms: 50 } }, { onprogress: (p) => void progress.push(p.progress) });
      assert.equal(resultText(result), "slept 3 x 50 ms");
      assert.deepEqual(progress, [1, 2, 3]);
    });

    // 2026 cancels by closing the response stream (the gateway closes its upstream one); 2025 also sends
    // notifications/cancelled. Either way the SDK cancels slow's task, which records it.
    test("cancelling reaches the server, which records the call cancelled", T, async () => {
      const from = (await fastmcp.records()).length;
      const abort = new AbortController();
      const call = c().callTool({ name: "slow", arguments: { steps: 100, ms: 100 } }, { signal: abort.signal, onprogress: () => abort.abort("the user stopped it") });
      await assert.rejects(call);
      const records = await eventually(() => since(from), (rs) => rs.some((r) => r.kind === "cancelled"));
      assert.deepEqual(records.filter((r) => r.kind !== "request"), [
        { kind: "call", tool: "slow", args: { steps: 100, ms: 100 } },
        { kind: "cancelled", era, tool: "slow" },
      ]);
    });

    // In 2026 the server answers input_required and the client retries with inputResponses and requestState: two
    // tools/call rounds, the tool body running once, on the second. In 2025 it is an elicitation/create request mid-call.
    test(`asks the user mid-call (${era === "modern" ? "MRTR" : "an elicitation request"}) and completes with the answer`, T, async () => {
      const from = (await fastmcp.records()).length;
      assert.equal(resultText(await c().callTool({ name: "ask", arguments: { question: "Deploy?" } })), "Deploy? -> yes");
      const records = await since(from);
      assert.deepEqual(records.flatMap((r) => (r.kind === "request" ? [[r.era, r.method]] : [])), era === "modern" ? [["modern", "tools/call"], ["modern", "tools/call"]] : [["legacy", "tools/call"]]);
      assert.deepEqual(records.filter((r) => r.kind === "call"), [{ kind: "call", tool: "ask", args: { question: "Deploy?" }, answer: "yes" }]);
    });

    test("reads a resource and gets a prompt", T, async () => {
      const read = await c().readResource({ uri: "note://readme" });
      assert.deepEqual(read.contents, [{ uri: "note://readme", mimeType: "text/plain", text: "This is the FastMCP upstream." }]);
      const prompt = await c().getPrompt({ name: "greet", arguments: { name: "Ada" } });
      assert.deepEqual(prompt.messages, [{ role: "user", content: { type: "text", text: "Say hello to Ada." } }]);
    });
  });
}

describe("FastMCP (Python mcp 2.x) through the gateway, Python SDK client", () => {
  const PY_ERAS: { mode: string; era: Era; version: string }[] = [
    { mode: MODERN, era: "modern", version: MODERN },
    { mode: "auto", era: "modern", version: MODERN },
    { mode: "legacy", era: "legacy", version: "2025-11-25" },
  ];
  for (const { mode, era, version } of PY_ERAS) {
    test(`${mode}: lands on ${version}, lists without secret_tool, the allowed call runs and the denied one is a result that never ran`, T, async () => {
      const from = (await fastmcp.records()).length;
      const report = await runPythonClient({ url: url(), token, mode, call: { name: "echo", arguments: { text: "py" } }, denied: { name: "echo", arguments: { text: "forbidden" } } });
      assert.deepEqual([report.era, report.protocolVersion], [era, version]);
      // A pinned Python client sends no server/discover, so it never learns the server's name.
      assert.deepEqual(report.serverInfo, mode === MODERN ? null : { name: "fastmcp-upstream", version: "1.0.0" });
      assert.deepEqual(report.tools, ["ask", "echo", "slow"]);
      assert.deepEqual(report.call, { isError: false, text: "echo: py" });
      assert.deepEqual(report.denied, { isError: true, text: "[POLICY DENIED] Forbidden text." });
      if (mode === "auto") assert.deepEqual(report.supportedVersions, [MODERN]);
      const records = await since(from);
      assert.deepEqual(records.filter((r) => r.kind === "call"), [{ kind: "call", tool: "echo", args: { text: "py" } }]);
      assert.deepEqual(records.flatMap((r) => (r.kind === "request" && r.method === "tools/call" ? [r.era] : [])), [era], "one tools/call (the allowed one) reached the server");
    });

    test(`${mode}: progress arrives, a resource is read and a prompt is got`, T, async () => {
      const session = await runPySession(url(), token, mode);
      assert.deepEqual(session, {
        protocolVersion: version,
        progress: [1, 2, 3],
        slow: "slept 3 x 50 ms",
        resource: [{ uri: "note://readme", mimeType: "text/plain", text: "This is the FastMCP upstream." }],
        prompt: [{ role: "user", text: "Say hello to Ada." }],
      });
    });
  }
});

describe("FastMCP (Python mcp 2.x) through the gateway, raw 2026 requests", () => {
  test("server/discover is the server's own answer, relayed", T, async () => {
    const a = await postModern(url(), { method: "server/discover" }, { token });
    assert.equal(a.status, 200, wire(a));
    const r = a.response?.result ?? {};
    assert.deepEqual([r.resultType, r.supportedVersions, r._meta], ["complete", [MODERN], { "io.modelcontextprotocol/serverInfo": { name: "fastmcp-upstream", version: "1.0.0" } }], wire(a));
  });

  test("tools/list filtered by the policy stays private, and keeps the server's ttlMs of 0", T, async () => {
    const a = await postModern(url(), { method: "tools/list" }, { token });
    const r = a.response?.result ?? {};
    assert.deepEqual([r.resultType, r.cacheScope, r.ttlMs], ["complete", "private", 0], wire(a));
    assert.deepEqual((r.tools as { name: string }[]).map((t) => t.name), ["echo", "slow", "ask"], wire(a));
  });

  test("MRTR: the server's input_required is relayed, and the retry with inputResponses and requestState completes", T, async () => {
    const from = (await fastmcp.records()).length;
    const capabilities = { elicitation: { form: {} } };
    const call = { name: "ask", arguments: { question: "Go?" } };
    const first = await postModern(url(), { id: 1, method: "tools/call", params: call }, { token, capabilities });
    const r = first.response?.result ?? {};
    assert.equal(r.resultType, "input_required", wire(first));
    const requestedSchema = { type: "object", properties: { answer: { title: "Answer", type: "string" } }, required: ["answer"] };
    // The SDK keys each question by its resolver (module:function).
    assert.deepEqual(r.inputRequests, { "__main__:ask_user": { method: "elicitation/create", params: { mode: "form", message: "Go?", requestedSchema } } }, wire(first));
    assert.equal(typeof r.requestState, "string", wire(first));
    assert.deepEqual(await since(from).then((rs) => rs.filter((x) => x.kind === "call")), [], "the tool body waits for the answer");
    const inputResponses = { "__main__:ask_user": { action: "accept", content: { answer: "no" } } };
    const retry = await postModern(url(), { id: 2, method: "tools/call", params: { ...call, inputResponses, requestState: r.requestState } }, { token, capabilities });
    assert.deepEqual([retry.response?.result?.resultType, retry.response?.result?.content], ["complete", [{ type: "text", text: "Go? -> no" }]], wire(retry));
    assert.deepEqual((await since(from)).filter((x) => x.kind === "call"), [{ kind: "call", tool: "ask", args: { question: "Go?" }, answer: "no" }]);
  });

  test("a denied call is a complete 2026 result, and nothing reaches the server", T, async () => {
    const from = (await fastmcp.records()).length;
    const a = await postModern(url(), { id: 7, method: "tools/call", params: { name: "echo", arguments: { text: "forbidden" } } }, { token });
    assert.equal(a.status, 200, wire(a));
    assert.deepEqual(a.response, { jsonrpc: "2.0", id: 7, result: { resultType: "complete", content: [{ type: "text", text: "[POLICY DENIED] Forbidden text." }], isError: true } }, wire(a));
    assert.deepEqual(await since(from), []);
  });
});
