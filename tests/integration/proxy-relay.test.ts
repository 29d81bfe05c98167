import { after, before, describe, test } from "node:test";
import assert from "node:assert/strict";
import { mkdirSync, mkdtempSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import type { Client } from "@modelcontextprotocol/sdk/client/index.js";
import { CreateMessageRequestSchema, ElicitRequestSchema, ListRootsRequestSchema, LoggingMessageNotificationSchema, ToolListChangedNotificationSchema } from "@modelcontextprotocol/sdk/types.js";
import { startGateway, type TestGateway } from "../helpers/gateway.ts";
import { connect, text } from "../helpers/mcp-client.ts";
import { startEverythingHttp, type EverythingHttp } from "../fixtures/everything-http.ts";
import { ROOT } from "../helpers/cli.ts";

let gw: TestGateway;
let everythingHttp: EverythingHttp;
const tokens: Record<string, string> = {};
const share = mkdtempSync(join(tmpdir(), "toolgate-fs-"));

before(async () => {
  mkdirSync(join(share, ".ssh"));
  writeFileSync(join(share, "notes.txt"), "hello from the share\n");
  everythingHttp = await startEverythingHttp();
  gw = await startGateway();
  await gw.admin.put("servers", "everything", { transport: { type: "stdio", command: process.execPath, args: ["node_modules/@modelcontextprotocol/server-everything/dist/index.js", "stdio"], cwd: ROOT } });
  await gw.admin.put("servers", "everything-http", { transport: { type: "streamable-http", url: everythingHttp.url } });
  await gw.admin.put("servers", "files", { transport: { type: "stdio", command: process.execPath, args: ["node_modules/@modelcontextprotocol/server-filesystem/dist/index.js", share], cwd: ROOT } });
  await gw.admin.put("policies", "open", { document: { version: "1", default: "allow", hide: ["get-env"], client_roots: "allow" } });
  await gw.admin.put("policies", "files", {
    document: {
      version: "1",
      default: "deny",
      tools: {
        read_text_file: {},
        list_directory: {},
        write_file: { deny_if: [{ path: "args.path", op: "regex", value: "(^|/)(\\.ssh|\\.aws|secrets)(/|$)", on_deny: "Writing to credential folders is not allowed." }] },
      },
    },
  });
  for (const [name, server, policy] of [["stdio", "everything", "open"], ["http", "everything-http", "open"], ["files", "files", "files"]] as const) {
    tokens[name] = (await gw.admin.put<{ token: string }>("grants", name, { server, policy })).value.token;
  }
});

after(async () => {
  assert.equal(await gw.stop(), 0);
  await everythingHttp.close();
});

async function capableClient(grant: string, server: string): Promise<{ client: Client; logs: string[]; listChanged: number[] }> {
  const logs: string[] = [];
  const listChanged: number[] = [];
  const client = await connect(gw.proxyUrl, server, tokens[grant]!, { capabilities: { sampling: {}, elicitation: {}, roots: { listChanged: true } } });
  client.setRequestHandler(CreateMessageRequestSchema, async (req) => ({
    model: "test-model",
    role: "assistant",
    content: { type: "text", text: `sampled: ${JSON.stringify((req.params.messages[0]!.content as { text: string }).text)}` },
  }));
  client.setRequestHandler(ElicitRequestSchema, async () => ({ action: "accept", content: { name: "Ada", check: true, email: "ada@example.com", integer: 7 } }));
  client.setRequestHandler(ListRootsRequestSchema, async () => ({ roots: [{ uri: "file:///workspace", name: "workspace" }] }));
  client.setNotificationHandler(LoggingMessageNotificationSchema, async (n) => void logs.push(String(n.params.level)));
  client.setNotificationHandler(ToolListChangedNotificationSchema, async () => void listChanged.push(Date.now()));
  return { client, logs, listChanged };
}

for (const [grant, server] of [["stdio", "everything"], ["http", "everything-http"]] as const) {
  describe(`MCP features pass through unchanged (${server})`, () => {
    test("sampling: the server's request reaches the client and the answer goes back", async () => {
      const { client } = await capableClient(grant, server);
      const r = await client.callTool({ name: "trigger-sampling-request", arguments: { prompt: "say hi", maxTokens: 5 } });
      assert.match(text(r), /"text": "sampled: .*say hi/);
      await client.close();
    });

    test("elicitation: the server asks the user and gets the answer", async () => {
      const { client } = await capableClient(grant, server);
      const r = await client.callTool({ name: "trigger-elicitation-request", arguments: {} });
      assert.match(text(r), /Ada/);
      await client.close();
    });

    test("roots: the server lists the client's roots", async () => {
      const { client } = await capableClient(grant, server);
      // server-everything asks for roots on its standalone GET stream; a request sent before the client's GET
      // stream is open is dropped by the upstream (no event store), so it asks again on the next call.
      let r;
      for (let attempt = 1; !r; attempt++) {
        try {
          r = await client.callTool({ name: "get-roots-list", arguments: {} }, undefined, { timeout: 3000 });
        } catch (error) {
          if (attempt === 3) throw error;
        }
      }
      assert.match(text(r), /file:\/\/\/workspace/);
      await client.close();
    });

    test("progress notifications arrive for a long-running call", async () => {
      const { client } = await capableClient(grant, server);
      const progress: number[] = [];
      const r = await client.callTool({ name: "trigger-long-running-operation", arguments: { duration: 1, steps: 3 } }, undefined, { onprogress: (p) => void progress.push(p.progress) });
      assert.match(text(r), /Long running operation completed/);
      assert.deepEqual(progress, [1, 2, 3]);
      await client.close();
    });

    test("logging notifications are relayed after logging/setLevel", async () => {
      const { client, logs } = await capableClient(grant, server);
      await client.setLoggingLevel("debug");
      await client.callTool({ name: "toggle-simulated-logging", arguments: {} });
      const deadline = Date.now() + 10_000;
      while (logs.length === 0 && Date.now() < deadline) await new Promise((r) => setTimeout(r, 100));
      assert.ok(logs.length > 0, "received a logging notification");
      await client.callTool({ name: "toggle-simulated-logging", arguments: {} });
      await client.close();
    });

    test("resources with pagination, templates, prompts and completion", async () => {
      const { client } = await capableClient(grant, server);
      const first = await client.listResources();
      assert.ok(first.resources.length > 0);
      if (first.nextCursor) {
        const next = await client.listResources({ cursor: first.nextCursor });
        assert.notDeepEqual(next.resources[0]?.uri, first.resources[0]?.uri);
      }
      const read = await client.readResource({ uri: first.resources[0]!.uri });
      assert.ok(read.contents.length > 0);
      assert.ok((await client.listResourceTemplates()).resourceTemplates.length > 0);
      const prompts = await client.listPrompts();
      assert.ok(prompts.prompts.some((p) => p.name === "simple-prompt"));
      const prompt = await client.getPrompt({ name: "simple-prompt" });
      assert.ok(prompt.messages.length > 0);
      const argsPrompt = prompts.prompts.find((p) => (p.arguments ?? []).length > 0);
      if (argsPrompt) {
        const completion = await client.complete({ ref: { type: "ref/prompt", name: argsPrompt.name }, argument: { name: argsPrompt.arguments![0]!.name, value: "" } });
        assert.ok(Array.isArray(completion.completion.values));
      }
      await client.close();
    });

    test("the hidden tool is absent from tools/list, including after list_changed", async () => {
      const { client } = await capableClient(grant, server);
      const names = (await client.listTools()).tools.map((t) => t.name);
      assert.ok(names.includes("echo") && names.includes("trigger-sampling-request"));
      assert.ok(!names.includes("get-env"));
      await client.close();
    });
  });
}

describe("server-filesystem over stdio", () => {
  test("reads are allowed; writes into credential folders are denied by a regex on the path", async () => {
    const client = await connect(gw.proxyUrl, "files", tokens.files!);
    assert.equal(text(await client.callTool({ name: "read_text_file", arguments: { path: join(share, "notes.txt") } })), "hello from the share\n");
    const denied = await client.callTool({ name: "write_file", arguments: { path: join(share, ".ssh", "authorized_keys"), content: "ssh-rsa AAAA" } });
    assert.deepEqual([denied.isError, text(denied)], [true, "[POLICY DENIED] Writing to credential folders is not allowed."]);
    const allowed = await client.callTool({ name: "write_file", arguments: { path: join(share, "todo.txt"), content: "ship it" } });
    assert.match(text(allowed), /Successfully wrote/);
    const listed = (await client.listTools()).tools.map((t) => t.name);
    assert.deepEqual(["list_directory", "read_text_file", "write_file", "move_file"].map((n) => listed.includes(n)), [true, true, true, true], "default-denied tools stay listed (list: visible)");
    await client.close();
  });
});

test("ending a session (DELETE) stops its stdio process", async () => {
  const metric = async () => {
    const body = await (await fetch(`${gw.adminUrl}/metrics`, { headers: { authorization: `Bearer ${gw.adminToken}` } })).text();
    return Number(/^toolgate_stdio_processes (\d+)$/m.exec(body)?.[1]);
  };
  const before = await metric();
  const client = await connect(gw.proxyUrl, "everything", tokens.stdio!);
  await client.callTool({ name: "echo", arguments: { message: "x" } });
  assert.equal(await metric(), before + 1);
  await (client.transport as unknown as { terminateSession(): Promise<void> }).terminateSession();
  await client.close();
  const deadline = Date.now() + 5000;
  while ((await metric()) !== before && Date.now() < deadline) await new Promise((r) => setTimeout(r, 50));
  assert.equal(await metric(), before);
});
