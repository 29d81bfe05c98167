// Issue 13 §3: the client side cannot widen what a server may do. Roots are configuration, not agent input; stdio
// children do not see the data dir; a policy governs resources/read, prompts/get and completion/complete.
import { after, before, describe, test } from "node:test";
import assert from "node:assert/strict";
import { mkdtempSync, readFileSync, realpathSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join, relative, isAbsolute } from "node:path";
import { pathToFileURL } from "node:url";
import type { Client } from "@modelcontextprotocol/sdk/client/index.js";
import { ListRootsRequestSchema } from "@modelcontextprotocol/sdk/types.js";
import { serveOverHttp, type EverythingHttp } from "../fixtures/everything-http.ts";
import { foldKey } from "../../sdk/index.ts";
import { createProbeServer } from "../fixtures/probe-server.ts";
import { answerTo, isEventStream, openSession, post, PROTOCOL_VERSION, sseEvents, type JsonRpc } from "../fixtures/raw-mcp.ts";
import { serveRecordingRaw, type RawRecordingHttp } from "../fixtures/raw-recording-http.ts";
import { recordingEverything, type Received } from "../fixtures/recording-everything.ts";
import { ROOT } from "../helpers/cli.ts";
import { startGateway, type TestGateway } from "../helpers/gateway.ts";
import { connect, text } from "../helpers/mcp-client.ts";

const FILESYSTEM = join(ROOT, "node_modules/@modelcontextprotocol/server-filesystem/dist/index.js");
const PROBE = join(ROOT, "tests/fixtures/probe-server.ts");
const RECORDER = join(ROOT, "tests/fixtures/recording-everything.ts");

const allowedDir = realpathSync(mkdtempSync(join(tmpdir(), "toolgate-allowed-")));
const pinnedDir = realpathSync(mkdtempSync(join(tmpdir(), "toolgate-pinned-")));
const stdioRecord = join(mkdtempSync(join(tmpdir(), "toolgate-record-")), "received.jsonl");
const httpReceived: Received[] = [];
const pinnedRoots = [{ uri: pathToFileURL(pinnedDir).href, name: "pinned" }];
const runningAsRoot = process.getuid?.() === 0;

let gw: TestGateway;
let everythingHttp: EverythingHttp;
let probeHttp: RawRecordingHttp;
let secretKeyPath: string;
let secretKey: string;
const tokens: Record<string, string> = {};

before(async () => {
  writeFileSync(join(allowedDir, "notes.txt"), "allowed notes\n");
  writeFileSync(join(pinnedDir, "pinned.txt"), "pinned notes\n");
  everythingHttp = await serveOverHttp(() => recordingEverything((m) => void httpReceived.push(m)));
  probeHttp = await serveRecordingRaw(createProbeServer);
  gw = await startGateway();
  secretKeyPath = join(gw.dataDir, "secret.key");
  secretKey = readFileSync(secretKeyPath, "utf8").trim();

  const stdio = (script: string, ...args: string[]) => ({ type: "stdio", command: process.execPath, args: [script, ...args] });
  await gw.admin.put("servers", "files", { transport: stdio(FILESYSTEM, allowedDir) });
  await gw.admin.put("servers", "files-pinned", { transport: stdio(FILESYSTEM, allowedDir), roots: pinnedRoots });
  await gw.admin.put("servers", "probe", { transport: stdio(PROBE) });
  await gw.admin.put("servers", "probe-pinned", { transport: stdio(PROBE), roots: pinnedRoots });
  await gw.admin.put("servers", "probe-http-pinned", { transport: { type: "streamable-http", url: probeHttp.url }, roots: pinnedRoots });
  if (runningAsRoot) await gw.admin.put("servers", "probe-nobody", { transport: { ...stdio(PROBE), user: "nobody" } });
  await gw.admin.put("servers", "everything-stdio", { transport: stdio(RECORDER, stdioRecord) });
  await gw.admin.put("servers", "everything-http", { transport: { type: "streamable-http", url: everythingHttp.url } });

  await gw.admin.put("policies", "open", { document: { version: "1", default: "allow" } });
  await gw.admin.put("policies", "client-roots", { document: { version: "1", default: "allow", client_roots: "allow" } });
  await gw.admin.put("policies", "methods", {
    document: {
      version: "1",
      default: "allow",
      resources: { default: "deny", allow: [{ uri_regex: "^demo://resource/static/" }], deny_if: [{ uri_regex: "/architecture\\.md$", on_deny: "Architecture notes are internal." }] },
      prompts: { default: "deny", allow: [{ name: "simple-prompt" }, { name: "completable-prompt" }] },
    },
  });
  await gw.admin.put("policies", "no-completion", { document: { version: "1", default: "allow", completion: "deny" } });

  const grants: [string, string, string][] = [
    ["files", "files", "open"],
    ["files-pinned", "files-pinned", "client-roots"],
    ["probe", "probe", "open"],
    ["probe-client-roots", "probe", "client-roots"],
    ["probe-pinned", "probe-pinned", "client-roots"],
    ["probe-http-pinned", "probe-http-pinned", "open"],
    ["everything-stdio", "everything-stdio", "methods"],
    ["everything-http", "everything-http", "methods"],
    ["no-completion", "everything-http", "no-completion"],
  ];
  if (runningAsRoot) grants.push(["probe-nobody", "probe-nobody", "open"]);
  for (const [name, server, policy] of grants) tokens[name] = (await gw.admin.put<{ token: string }>("grants", name, { server, policy })).value.token;
});

after(async () => {
  await gw?.stop();
  await everythingHttp?.close();
  await probeHttp?.close();
});

/** An agent with the roots capability that answers roots/list with the whole disk, counting how often it is asked. */
async function rootsAgent(grant: string, server: string): Promise<{ client: Client; asked: () => number }> {
  let asked = 0;
  const client = await connect(gw.proxyUrl, server, tokens[grant]!, { capabilities: { roots: { listChanged: true } } });
  client.setRequestHandler(ListRootsRequestSchema, async () => {
    asked++;
    return { roots: [{ uri: "file:///", name: "everything" }] };
  });
  return { client, asked: () => asked };
}

async function callText(client: Client, name: string, args: Record<string, unknown> = {}): Promise<{ text: string; isError: boolean }> {
  const r = await client.callTool({ name, arguments: args });
  return { text: text(r), isError: r.isError === true };
}

describe("roots are configuration, not agent input (reference filesystem server over stdio)", () => {
  test("an agent answering roots/list with file:/// cannot read the gateway's secret key", async () => {
    const { client, asked } = await rootsAgent("files", "files");
    try {
      const answers: string[] = [];
      // The server asks for roots right after initialization and again on list_changed: give the attack time to land.
      for (let attempt = 0; attempt < 15; attempt++) {
        if (attempt === 5) await client.sendRootsListChanged();
        const read = await callText(client, "read_text_file", { path: secretKeyPath });
        answers.push(read.text);
        assert.equal(read.isError, true, `attempt ${attempt}: the server refuses the path`);
        await new Promise((r) => setTimeout(r, 200));
      }
      const dirs = await callText(client, "list_allowed_directories");
      answers.push(dirs.text);
      assert.equal(dirs.text, `Allowed directories:\n${allowedDir}`);
      assert.equal((await callText(client, "read_text_file", { path: join(allowedDir, "notes.txt") })).text, "allowed notes\n");
      assert.equal(asked(), 0, "the agent is never asked for roots on behalf of a stdio server");
      assert.ok(!answers.some((a) => a.includes(secretKey)), "the key's bytes appear in no answer");
    } finally {
      await client.close();
    }
  });

  test("with pinned roots the server sees only them, whatever the agent answers; the agent's list_changed is dropped", async () => {
    const { client, asked } = await rootsAgent("files-pinned", "files-pinned");
    try {
      const expected = `Allowed directories:\n${pinnedDir}`;
      let dirs = "";
      for (let attempt = 0; attempt < 50 && dirs !== expected; attempt++) {
        dirs = (await callText(client, "list_allowed_directories")).text;
        if (dirs !== expected) await new Promise((r) => setTimeout(r, 200));
      }
      assert.equal(dirs, expected);
      await client.sendRootsListChanged();
      assert.equal((await callText(client, "list_allowed_directories")).text, expected);
      const key = await callText(client, "read_text_file", { path: secretKeyPath });
      assert.equal(key.isError, true);
      assert.ok(!key.text.includes(secretKey));
      assert.equal((await callText(client, "read_text_file", { path: join(pinnedDir, "pinned.txt") })).text, "pinned notes\n");
      assert.equal(asked(), 0, "the agent is never asked for roots of a server that pins them");
    } finally {
      await client.close();
    }
  });

  test("a stdio server that asks for roots gets none by default; the agent is not asked", async () => {
    const { client, asked } = await rootsAgent("probe", "probe");
    try {
      assert.deepEqual(JSON.parse((await callText(client, "client_roots")).text), { roots: [] });
      assert.equal(asked(), 0);
    } finally {
      await client.close();
    }
  });

  test('a policy with client_roots: "allow" relays the agent\'s roots', async () => {
    const { client, asked } = await rootsAgent("probe-client-roots", "probe");
    try {
      assert.deepEqual(JSON.parse((await callText(client, "client_roots")).text), { roots: [{ uri: "file:///", name: "everything" }] });
      assert.equal(asked(), 1);
    } finally {
      await client.close();
    }
  });

  test("pinned roots win over a policy that allows client roots; the agent's list_changed never reaches the server", async () => {
    const { client, asked } = await rootsAgent("probe-pinned", "probe-pinned");
    try {
      assert.deepEqual(JSON.parse((await callText(client, "client_roots")).text), { roots: pinnedRoots });
      await client.sendRootsListChanged();
      assert.equal((await callText(client, "roots_changes")).text, "0");
      assert.equal(asked(), 0);
    } finally {
      await client.close();
    }
  });
});

test("an agent cannot hand an HTTP server other roots than the pinned ones in a case-variant key (Go servers read Roots as roots)", async () => {
  const url = `${gw.proxyUrl}/mcp/probe-http-pinned`;
  const token = tokens["probe-http-pinned"]!;
  const sessionId = await openSession(url, token, PROTOCOL_VERSION, { roots: { listChanged: true } });
  const call = await post(url, token, sessionId, { jsonrpc: "2.0", id: 2, method: "tools/call", params: { name: "client_roots", arguments: {} } });
  assert.ok(isEventStream(call), "the server's roots/list comes on the call's stream");
  for await (const event of sseEvents(call)) {
    const message = JSON.parse(event.data) as JsonRpc;
    if (message.method === "roots/list") {
      const smuggled = await post(url, token, sessionId, { jsonrpc: "2.0", id: message.id, result: { Roots: [{ uri: "file:///", name: "everything" }] } });
      await smuggled.arrayBuffer();
    }
    if (message.id === 2) break;
  }
  const answers = probeHttp.bodies.map((b) => JSON.parse(b) as JsonRpc).filter((m) => m.result !== undefined);
  for (const m of answers) {
    const keys = Object.keys(m.result!).filter((k) => foldKey(k) === foldKey("roots"));
    assert.deepEqual(keys.map((k) => [k, m.result![k]]), keys.length ? [["roots", pinnedRoots]] : [], "the server received no roots but the pinned ones, under no spelling");
  }
});

describe("stdio children do not see the data dir", () => {
  test("a stdio server without a configured cwd starts in an empty directory outside the data dir", async () => {
    const client = await connect(gw.proxyUrl, "probe", tokens.probe!);
    try {
      const where = JSON.parse((await callText(client, "whereami")).text) as { cwd: string; entries: string[] };
      const fromDataDir = relative(realpathSync(gw.dataDir), realpathSync(where.cwd));
      assert.ok(fromDataDir.startsWith("..") || isAbsolute(fromDataDir), `cwd ${where.cwd} is outside the data dir`);
      assert.notEqual(realpathSync(where.cwd), realpathSync(ROOT), "not the gateway's own working directory");
      assert.deepEqual(where.entries, [], "relative paths reach nothing of the gateway's");
    } finally {
      await client.close();
    }
  });

  test("a stdio server with user set (gateway running as root) cannot read the data dir's files", { skip: runningAsRoot ? false : "needs a gateway running as root; see docs/security.md" }, async () => {
    const client = await connect(gw.proxyUrl, "probe-nobody", tokens["probe-nobody"]!);
    try {
      const where = JSON.parse((await callText(client, "whereami")).text) as { uid: number; entries: unknown };
      assert.equal(where.uid, 65534, "the child runs as nobody");
      assert.deepEqual(where.entries, [], "its fresh working directory is its own to use");
      const key = await callText(client, "read_file", { path: secretKeyPath });
      assert.deepEqual(key, { text: "cannot read: EACCES", isError: true });
    } finally {
      await client.close();
    }
  });
});

function stdioReceived(): Received[] {
  return readFileSync(stdioRecord, { encoding: "utf8", flag: "a+" }).split("\n").filter(Boolean).map((l) => JSON.parse(l) as Received);
}

for (const [kind, grant, received] of [
  ["stdio", "everything-stdio", stdioReceived],
  ["HTTP", "everything-http", () => httpReceived],
] as const) {
  describe(`a policy governs resources/read, prompts/get and completion/complete (server-everything over ${kind})`, () => {
    let url: string;
    let sessionId: string;
    let nextId = 100;
    /** Sends one request; the HTTP status and the JSON-RPC answer. */
    async function request(method: string, params: Record<string, unknown>): Promise<{ status: number; answer: JsonRpc; id: number }> {
      const id = nextId++;
      const res = await post(url, tokens[grant]!, sessionId, { jsonrpc: "2.0", id, method, params });
      return { status: res.status, answer: await answerTo(res, id), id };
    }
    const asked = (method: string, key: "uri" | "name" | "ref", value: unknown) =>
      received().some((m) => m.method === method && JSON.stringify((m.params as Record<string, unknown> | undefined)?.[key]) === JSON.stringify(value));

    before(async () => {
      url = `${gw.proxyUrl}/mcp/${grant === "everything-stdio" ? "everything-stdio" : "everything-http"}`;
      sessionId = await openSession(url, tokens[grant]!);
    });

    test("a denied resource URI (read or subscribe) gets the policy's JSON-RPC error and never reaches the server; an allowed one is read", async () => {
      const internal = "demo://resource/static/document/architecture.md";
      const denied = await request("resources/read", { uri: internal });
      assert.deepEqual({ status: denied.status, answer: denied.answer }, {
        status: 200,
        answer: { jsonrpc: "2.0", id: denied.id, error: { code: -32010, message: "[POLICY DENIED] Architecture notes are internal.", data: { rule: "/resources/deny_if/0" } } },
      });
      const subscribe = await request("resources/subscribe", { uri: internal });
      assert.deepEqual(subscribe.answer.error, { code: -32010, message: "[POLICY DENIED] Architecture notes are internal.", data: { rule: "/resources/deny_if/0" } }, "subscribing is reading too");
      const dynamic = "demo://resource/dynamic/text/1";
      const unlisted = await request("resources/read", { uri: dynamic });
      assert.deepEqual(unlisted.answer.error, { code: -32010, message: `[POLICY DENIED] Resource "${dynamic}" is not permitted by policy`, data: { rule: "(resources default deny)" } });

      const allowed = "demo://resource/static/document/features.md";
      const read = await request("resources/read", { uri: allowed });
      assert.equal((read.answer.result?.contents as { uri: string }[])[0]!.uri, allowed);
      assert.ok(asked("resources/read", "uri", allowed), "the allowed read reached the server");
      assert.ok(!asked("resources/read", "uri", internal) && !asked("resources/subscribe", "uri", internal) && !asked("resources/read", "uri", dynamic), "the denied requests never reached it");
    });

    test("a prompt the policy does not allow is refused, also through completion/complete; allowed ones work", async () => {
      const denied = await request("prompts/get", { name: "args-prompt", arguments: { city: "Paris" } });
      assert.deepEqual(denied.answer.error, { code: -32010, message: '[POLICY DENIED] Prompt "args-prompt" is not permitted by policy', data: { rule: "(prompts default deny)" } });
      const deniedRef = { type: "ref/prompt", name: "args-prompt" };
      const completion = await request("completion/complete", { ref: deniedRef, argument: { name: "city", value: "Pa" } });
      assert.deepEqual(completion.answer.error, { code: -32010, message: '[POLICY DENIED] Prompt "args-prompt" is not permitted by policy', data: { rule: "(prompts default deny)" } });

      const prompt = await request("prompts/get", { name: "simple-prompt" });
      assert.deepEqual((prompt.answer.result?.messages as { content: unknown }[])[0]!.content, { type: "text", text: "This is a simple prompt without arguments." });
      const completed = await request("completion/complete", { ref: { type: "ref/prompt", name: "completable-prompt" }, argument: { name: "department", value: "Eng" } });
      assert.deepEqual((completed.answer.result?.completion as { values: string[] }).values, ["Engineering"]);

      assert.ok(asked("prompts/get", "name", "simple-prompt"), "the allowed prompt reached the server");
      assert.ok(!asked("prompts/get", "name", "args-prompt") && !asked("completion/complete", "ref", deniedRef), "the denied ones never reached it");
    });
  });
}

test('completion: "deny" refuses every completion request before the server sees it', async () => {
  const url = `${gw.proxyUrl}/mcp/everything-http`;
  const sessionId = await openSession(url, tokens["no-completion"]!);
  const ref = { type: "ref/prompt", name: "completable-prompt" };
  const res = await post(url, tokens["no-completion"]!, sessionId, { jsonrpc: "2.0", id: 7, method: "completion/complete", params: { ref, argument: { name: "department", value: "Sa" } } });
  assert.equal(res.status, 200);
  assert.deepEqual(await answerTo(res, 7), { jsonrpc: "2.0", id: 7, error: { code: -32010, message: "[POLICY DENIED] Completions are not permitted by policy", data: { rule: "/completion" } } });
  assert.ok(!httpReceived.some((m) => m.method === "completion/complete" && JSON.stringify((m.params as { argument?: unknown }).argument) === JSON.stringify({ name: "department", value: "Sa" })));
});
