// The MCP 2026-07-28 fixtures and clients, directly (no gateway): the TypeScript SDK v2 client pinned to
// 2026-07-28, in "auto" mode and on the 2025 handshake, raw 2026 requests, and the Python SDK client, against the
// dual-era fixture servers over Streamable HTTP and stdio. Proves the fixtures and clients the gateway tests build on.
import { after, before, describe, test } from "node:test";
import assert from "node:assert/strict";
import { mkdtempSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { SdkError, SdkErrorCode, type Client } from "@modelcontextprotocol/client";
import { serveFixtureHttp, type FixtureHttp } from "../fixtures/mcp2026/http-server.ts";
import type { FixtureRecord } from "../fixtures/mcp2026/server-tools.ts";
import { startEverythingHttp, type EverythingHttp } from "../fixtures/everything-http.ts";
import { connectHttp, connectStdio, postModern, resultText, runPythonClient, stdioFixture, type EraMode, type WireMessage } from "../helpers/mcp2026-client.ts";
import { eventually } from "../helpers/upstreams.ts";

const TOKEN = "fixture-token";
const ERAS: { mode: EraMode; era: "modern" | "legacy"; version: string }[] = [
  { mode: "pin", era: "modern", version: "2026-07-28" },
  { mode: "auto", era: "modern", version: "2026-07-28" },
  { mode: "legacy", era: "legacy", version: "2025-11-25" },
];
const TASKS = { extensions: { "io.modelcontextprotocol/tasks": {} }, elicitation: { form: {} } };

let http: FixtureHttp;

before(async () => {
  http = await serveFixtureHttp({ token: TOKEN });
});

after(async () => {
  await http.close();
});

/** The behaviour every era and transport shares: list, call, progress, cancellation, MRTR, a resource and a prompt. */
function sharedBehaviour(connect: (mode: EraMode) => Promise<Client>, records: () => FixtureRecord[]) {
  for (const { mode, era, version } of ERAS) {
    describe(`${mode} client`, () => {
      let client: Client;
      before(async () => {
        client = await connect(mode);
      });
      after(async () => {
        await client.close();
      });

      test(`lands on the ${era} era (${version})`, () => {
        assert.equal(client.getProtocolEra(), era);
        assert.equal(client.getNegotiatedProtocolVersion(), version);
        assert.deepEqual(client.getServerVersion(), { name: "mcp2026-fixture", version: "1.0.0" });
      });

      test("lists the tools, the hidden-to-be secret_tool among them", async () => {
        const { tools } = await client.listTools();
        assert.deepEqual(tools.map((t) => t.name), ["echo", "secret_tool", "slow", "ask", "batch_job", "add_tool"]);
      });

      test("calls a tool", async () => {
        assert.equal(resultText(await client.callTool({ name: "echo", arguments: { text: `hi ${mode}`, region: "eu" } })), `echo: hi ${mode}`);
        const call = records().findLast((r) => r.kind === "call" && r.tool === "echo");
        assert.deepEqual(call, { kind: "call", era, tool: "echo", args: { text: `hi ${mode}`, region: "eu" } });
      });

      test("reports progress", async () => {
        const progress: number[] = [];
        // 100 ms after the last notification: a client whose event loop is busy longer than that (a loaded CI machine)
        // reads it with the result in one chunk, and the SDK handles the result first and drops the notification.
        const result = await client.callTool({ name: "slow", arguments: { steps: 3, ms: 100 } }, { onprogress: (p) => void progress.push(p.progress) });
        assert.equal(resultText(result), "slept 3 x 100 ms");
        assert.deepEqual(progress, [1, 2, 3]);
      });

      test("cancels: the server stops the call", async () => {
        const before = records().filter((r) => r.kind === "cancelled" && r.era === era).length;
        const abort = new AbortController();
        const call = client.callTool({ name: "slow", arguments: { steps: 100, ms: 100 } }, { signal: abort.signal, onprogress: () => abort.abort("the user stopped it") });
        await assert.rejects(call);
        const cancelled = await eventually(async () => records().filter((r) => r.kind === "cancelled" && r.era === era).length, (n) => n > before);
        assert.equal(cancelled, before + 1);
      });

      test("asks the user mid-call (MRTR input_required in 2026, an elicitation request in 2025) and completes", async () => {
        assert.equal(resultText(await client.callTool({ name: "ask", arguments: { question: "Deploy?" } })), "Deploy? -> yes");
      });

      test("reads a resource and gets a prompt", async () => {
        const read = await client.readResource({ uri: "note://readme" });
        assert.deepEqual(read.contents, [{ uri: "note://readme", mimeType: "text/plain", text: "This is the mcp2026 fixture." }]);
        const prompt = await client.getPrompt({ name: "greet", arguments: { name: "Ada" } });
        assert.deepEqual(prompt.messages, [{ role: "user", content: { type: "text", text: "Say hello to Ada." } }]);
      });
    });
  }
}

describe("HTTP fixture, TypeScript SDK v2 client", () => {
  sharedBehaviour((mode) => connectHttp(http.url, { mode, token: TOKEN, answer: { answer: "yes" } }), () => http.records);

  test("a pinned client opens with server/discover and the 2025 client with initialize", async () => {
    const from = http.records.length;
    const pinned = await connectHttp(http.url, { mode: "pin", token: TOKEN });
    const legacy = await connectHttp(http.url, { mode: "legacy", token: TOKEN });
    const opening = http.records.slice(from).filter((r) => r.kind === "request").map((r) => r.kind === "request" && [r.era, r.method]);
    assert.deepEqual(opening, [["modern", "server/discover"], ["legacy", "initialize"], ["legacy", "notifications/initialized"]]);
    await Promise.all([pinned.close(), legacy.close()]);
  });

  test("2026 requests carry Mcp-Method, Mcp-Name and Mcp-Param-*; a client that has not listed the tool gets -32020, re-lists and resends", async () => {
    const pinned = await connectHttp(http.url, { mode: "pin", token: TOKEN });
    const from = http.records.length;
    assert.equal(resultText(await pinned.callTool({ name: "echo", arguments: { text: "x", region: "us-west1" } })), "echo: x");
    const seen = http.records.slice(from).flatMap((r) => (r.kind === "request" ? [[r.method, r.headers["mcp-method"], r.headers["mcp-name"], r.headers["mcp-param-region"]]] : []));
    assert.deepEqual(seen, [
      ["tools/call", "tools/call", "echo", undefined],
      ["tools/list", "tools/list", undefined, undefined],
      ["tools/call", "tools/call", "echo", "us-west1"],
    ]);
    await pinned.close();
  });

  test("2026: tools/list_changed arrives on a subscriptions/listen stream", async () => {
    // A server of its own: the tool it adds would show in every other test's list.
    const own = await serveFixtureHttp();
    const client = await connectHttp(own.url, { mode: "pin" });
    let changed = 0;
    client.setNotificationHandler("notifications/tools/list_changed", () => void changed++);
    const subscription = await client.listen({ toolsListChanged: true });
    assert.deepEqual(subscription.honoredFilter, { toolsListChanged: true });
    await client.callTool({ name: "add_tool", arguments: { name: "extra_http" } });
    assert.equal(await eventually(async () => changed, (n) => n > 0), 1);
    assert.ok((await client.listTools()).tools.some((t) => t.name === "extra_http"));
    await subscription.close();
    await client.close();
    await own.close();
  });

  test("an unauthorized client is refused with 401, in both eras", async () => {
    for (const mode of ["pin", "legacy"] as const) await assert.rejects(connectHttp(http.url, { mode, token: "wrong" }), /401|Unauthorized/);
  });
});

describe("HTTP fixture, raw 2026 requests", () => {
  test("the server checks Mcp-Name against the body (400, -32020) and names its versions for an unknown one (400, -32022)", async () => {
    const mismatch = await postModern(http.url, { method: "tools/call", params: { name: "echo", arguments: { text: "x" } } }, { token: TOKEN, headers: { "mcp-name": "secret_tool" } });
    assert.equal(mismatch.status, 400);
    assert.equal(mismatch.response?.error?.code, -32020);
    const unknown = await postModern(http.url, { method: "tools/list", params: { _meta: { "io.modelcontextprotocol/protocolVersion": "2099-01-01" } } }, { token: TOKEN, headers: { "mcp-protocol-version": "2099-01-01" } });
    assert.equal(unknown.status, 400);
    assert.deepEqual(unknown.response?.error, { code: -32022, message: "Unsupported protocol version: 2099-01-01", data: { supported: ["2026-07-28"], requested: "2099-01-01" } });
  });

  test("results carry resultType, serverInfo and cache hints", async () => {
    const list = await postModern(http.url, { method: "tools/list" }, { token: TOKEN });
    const result = list.response?.result ?? {};
    assert.deepEqual([result.resultType, result.ttlMs, result.cacheScope, result._meta], ["complete", 60000, "public", { "io.modelcontextprotocol/serverInfo": { name: "mcp2026-fixture", version: "1.0.0" } }]);
    const ask = await postModern(http.url, { method: "tools/call", params: { name: "ask", arguments: { question: "Go?" } } }, { token: TOKEN, capabilities: { elicitation: { form: {} } } });
    assert.equal(ask.response?.result?.resultType, "input_required");
    assert.deepEqual(Object.keys(ask.response?.result?.inputRequests as object), ["answer"]);
    assert.equal(typeof ask.response?.result?.requestState, "string");
  });

  test("a task: batch_job creates it, tasks/get polls it, tasks/update answers its question, and it completes", async () => {
    const created = await postModern(http.url, { method: "tools/call", params: { name: "batch_job", arguments: { items: 3 } } }, { token: TOKEN, capabilities: TASKS });
    const task = created.response?.result ?? {};
    assert.equal(task.resultType, "task");
    assert.equal(task.status, "working");
    const taskId = task.taskId as string;
    const get = () => postModern(http.url, { method: "tasks/get", params: { taskId } }, { token: TOKEN, capabilities: TASKS });
    const status = (a: { response?: WireMessage }) => a.response?.result?.status;
    const asking = await eventually(get, (a) => status(a) === "input_required");
    assert.deepEqual(Object.keys(asking.response?.result?.inputRequests as object), ["confirm"]);
    const update = await postModern(http.url, { method: "tasks/update", params: { taskId, inputResponses: { confirm: { action: "accept", content: { confirm: true } } } } }, { token: TOKEN, capabilities: TASKS });
    assert.equal(update.response?.result?.resultType, "complete");
    const done = await eventually(get, (a) => status(a) === "completed");
    assert.deepEqual(done.response?.result?.result, { content: [{ type: "text", text: "processed 3 items" }], isError: false });
    const wrongName = await postModern(http.url, { method: "tasks/get", params: { taskId } }, { token: TOKEN, capabilities: TASKS, headers: { "mcp-name": "another-task" } });
    assert.equal(wrongName.status, 400);
    assert.equal(wrongName.response?.error?.code, -32020);
  });

  test("without the tasks capability batch_job is an ordinary call", async () => {
    const call = await postModern(http.url, { method: "tools/call", params: { name: "batch_job", arguments: { items: 2 } } }, { token: TOKEN });
    assert.deepEqual(call.response?.result?.content, [{ type: "text", text: "processed 2 items" }]);
    assert.equal(call.response?.result?.resultType, "complete");
  });
});

describe("stdio fixture, TypeScript SDK v2 client", () => {
  const dir = mkdtempSync(join(tmpdir(), "toolgate-mcp2026-"));
  const log = join(dir, "records.jsonl");
  const records = (): FixtureRecord[] => {
    try {
      return readFileSync(log, "utf8").split("\n").filter((l) => l).map((l) => JSON.parse(l) as FixtureRecord);
    } catch {
      return [];
    }
  };
  after(() => rmSync(dir, { recursive: true, force: true }));

  sharedBehaviour((mode) => connectStdio(stdioFixture(log), { mode, answer: { answer: "yes" } }), records);

  test("2026: tools/list_changed arrives on a subscriptions/listen stream", async () => {
    const client = await connectStdio(stdioFixture(log), { mode: "pin" });
    let changed = 0;
    client.setNotificationHandler("notifications/tools/list_changed", () => void changed++);
    await client.listen({ toolsListChanged: true });
    await client.callTool({ name: "add_tool", arguments: { name: "extra_stdio" } });
    assert.equal(await eventually(async () => changed, (n) => n > 0), 1);
    await client.close();
  });
});

describe("a 2025-only server (server-everything)", () => {
  let everything: EverythingHttp;
  before(async () => {
    everything = await startEverythingHttp();
  });
  after(async () => {
    await everything.close();
  });

  test("the auto client falls back to initialize; the pinned client refuses to connect", async () => {
    const auto = await connectHttp(everything.url, { mode: "auto" });
    assert.equal(auto.getProtocolEra(), "legacy");
    await auto.close();
    await assert.rejects(connectHttp(everything.url, { mode: "pin" }), (e: unknown) => e instanceof SdkError && e.code === SdkErrorCode.EraNegotiationFailed);
  });
});

describe("Python SDK client (mcp from PyPI)", () => {
  for (const [mode, era, version] of [["auto", "modern", "2026-07-28"], ["2026-07-28", "modern", "2026-07-28"], ["legacy", "legacy", "2025-11-25"]] as const) {
    test(`${mode}: connects, lists, calls and reports each call`, async () => {
      const report = await runPythonClient({ url: http.url, token: TOKEN, mode, call: { name: "echo", arguments: { text: "py" } }, denied: { name: "secret_tool" } });
      assert.equal(report.era, era);
      assert.equal(report.protocolVersion, version);
      assert.deepEqual(report.tools, ["add_tool", "ask", "batch_job", "echo", "secret_tool", "slow"]);
      assert.deepEqual(report.call, { isError: false, text: "echo: py" });
      // No gateway here, so nothing denies it: the fixture runs it.
      assert.deepEqual(report.denied, { isError: false, text: "the secret is 42" });
    });
  }

  test("a wrong token fails to connect, naming why", async () => {
    await assert.rejects(runPythonClient({ url: http.url, token: "wrong", mode: "auto", call: { name: "echo" }, denied: { name: "secret_tool" } }), /Unauthorized/);
  });
});
