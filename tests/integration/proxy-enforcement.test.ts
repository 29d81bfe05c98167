import { after, before, describe, test } from "node:test";
import assert from "node:assert/strict";
import type { Client } from "@modelcontextprotocol/sdk/client/index.js";
import { startGateway, type TestGateway } from "../helpers/gateway.ts";
import { connect, rawPost, text } from "../helpers/mcp-client.ts";
import { serveOverHttp, startEverythingHttp, type EverythingHttp } from "../fixtures/everything-http.ts";
import { createEdgeServer } from "../fixtures/edge-server.ts";
import { ROOT } from "../helpers/cli.ts";

const EVERYTHING = ["node_modules/@modelcontextprotocol/server-everything/dist/index.js", "stdio"];
const EDGE = ["tests/fixtures/edge-server.ts"];

let gw: TestGateway;
let everythingHttp: EverythingHttp;
let edgeHttp: EverythingHttp;
const tokens: Record<string, string> = {};
const clients: Client[] = [];

async function grant(name: string, server: string, policy: string | null, extra: Record<string, unknown> = {}): Promise<string> {
  const r = await gw.admin.put<{ token: string }>("grants", name, { server, policy, ...extra });
  tokens[name] = r.value.token;
  return r.value.token;
}

async function client(grantName: string, server: string): Promise<Client> {
  const c = await connect(gw.proxyUrl, server, tokens[grantName]!);
  clients.push(c);
  return c;
}

const POLICY = {
  version: "1",
  default: "deny",
  hide: ["get-env"],
  tools: {
    echo: { require: [{ path: "args.message", op: "exists" }], deny_if: [{ path: "args.message", op: "regex", value: "secret", on_deny: "No secrets in echoes." }] },
    "get-sum": { deny_if: [{ conditions: [{ path: "args.a", op: "gt", value: 100 }, { path: "args.b", op: "gt", value: 100 }] }] },
    "get-env": {},
    ok: { limits: [{ counter: "ok_rate", window: "hour", max: 50 }] },
    fail: { limits: [{ counter: "fail_rate", window: "hour", max: 1 }] },
    hang: { limits: [{ counter: "hang_rate", window: "hour", max: 1 }] },
    crash: {},
  },
};

before(async () => {
  everythingHttp = await startEverythingHttp();
  edgeHttp = await serveOverHttp(() => ({ server: createEdgeServer() }));
  gw = await startGateway();
  await gw.admin.put("servers", "everything", { transport: { type: "stdio", command: process.execPath, args: EVERYTHING, cwd: ROOT } });
  await gw.admin.put("servers", "everything-http", { transport: { type: "streamable-http", url: everythingHttp.url, headers: { "X-Upstream-Key": "upstream-key-123" } } });
  await gw.admin.put("servers", "edge", { transport: { type: "stdio", command: process.execPath, args: EDGE, cwd: ROOT }, timeoutMs: 1500 });
  await gw.admin.put("servers", "edge-http", { transport: { type: "streamable-http", url: edgeHttp.url }, timeoutMs: 1500 });
  await gw.admin.put("policies", "main", { document: POLICY });
  await grant("alice", "everything", "main");
  await grant("alice-http", "everything-http", "main");
  await grant("edge", "edge", "main");
  await grant("edge-http", "edge-http", "main");
  await grant("nobody", "everything", null);
});

after(async () => {
  await Promise.all(clients.map((c) => c.close().catch(() => {})));
  assert.equal(await gw.stop(), 0);
  await everythingHttp.close();
  await edgeHttp.close();
});

for (const [grantName, server] of [["alice", "everything"], ["alice-http", "everything-http"]] as const) {
  describe(`enforcement through ${server}`, () => {
    test("allows a call the policy allows", async () => {
      const c = await client(grantName, server);
      assert.equal(text(await c.callTool({ name: "echo", arguments: { message: "hello" } })), "Echo: hello");
    });

    test("each kind of denial comes back as an isError tool result with its message", async () => {
      const c = await client(grantName, server);
      const cases: [string, Record<string, unknown>, string][] = [
        ["echo", {}, '[POLICY DENIED] Call to "echo" requires args.message exists'],
        ["echo", { message: "my secret" }, "[POLICY DENIED] No secrets in echoes."],
        ["get-sum", { a: 500, b: 500 }, '[POLICY DENIED] Call to "get-sum" denied because args.a gt 100 and args.b gt 100'],
        ["get-env", {}, '[POLICY DENIED] Tool "get-env" is hidden by policy'],
        ["trigger-long-running-operation", { duration: 1, steps: 1 }, '[POLICY DENIED] Tool "trigger-long-running-operation" is not permitted by policy'],
      ];
      for (const [name, args, expected] of cases) {
        const r = await c.callTool({ name, arguments: args });
        assert.deepEqual([r.isError, text(r)], [true, expected], name);
      }
      assert.equal(text(await c.callTool({ name: "get-sum", arguments: { a: 500, b: 1 } })), "The sum of 500 and 1 is 501.");
    });

    test("tools/list keeps default-denied tools listed (list: visible, as PolicyLayer); hidden ones are absent", async () => {
      const c = await client(grantName, server);
      const names = (await c.listTools()).tools.map((t) => t.name);
      assert.deepEqual(["echo", "get-sum", "trigger-long-running-operation", "get-env"].map((n) => names.includes(n)), [true, true, true, false]);
    });
  });
}

test("a grant without a policy sees no tools and every call is denied with (no policy)", async () => {
  const c = await client("nobody", "everything");
  assert.deepEqual((await c.listTools()).tools, []);
  const r = await c.callTool({ name: "echo", arguments: { message: "x" } });
  assert.equal(text(r), "[POLICY DENIED] No policy is attached to this grant, so every call is denied.");
  const audit = await gw.admin.getJson<{ items: { rule: string; grant: string }[] }>("/v1/audit", { grant: "nobody" });
  assert.deepEqual(audit.items.map((i) => i.rule), ["(no policy)"]);
});

test("audit has one row per decision with rule IDs and argument keys only", async () => {
  const c = await client("alice", "everything");
  await c.callTool({ name: "echo", arguments: { message: "audited value", extra: 1 } });
  await c.callTool({ name: "get-sum", arguments: { a: 101, b: 102 } });
  const rows = (await gw.admin.getJson<{ items: Record<string, unknown>[] }>("/v1/audit", { grant: "alice", limit: 500 })).items.slice(-2);
  assert.deepEqual(rows.map((r) => [r.tool, r.decision, r.rule, r.argumentKeys, r.policy, r.policyVersion]), [
    ["echo", "allow", "", ["extra", "message"], "main", 1],
    ["get-sum", "deny", "/tools/get-sum/deny_if/0", ["a", "b"], "main", 1],
  ]);
  const exported = await fetch(`${gw.adminUrl}/v1/audit/export?grant=alice`, { headers: { authorization: `Bearer ${gw.adminToken}` } });
  const body = await exported.text();
  assert.equal(exported.headers.get("content-type"), "application/x-ndjson");
  assert.ok(body.trim().split("\n").every((l) => JSON.parse(l).grant === "alice"));
  assert.doesNotMatch(body, /audited value/);
});

for (const [grantName, server] of [["edge", "edge"], ["edge-http", "edge-http"]] as const) {
  describe(`limits and failures through ${server}`, () => {
    test("200 concurrent calls against max 50 admit exactly 50", async () => {
      const c = await client(grantName, server);
      const results = await Promise.all(Array.from({ length: 200 }, (_, n) => c.callTool({ name: "ok", arguments: { n } })));
      const admitted = results.filter((r) => !r.isError).length;
      const denied = results.filter((r) => text(r).startsWith('[POLICY DENIED] Rate limit reached: at most 50 calls per hour (counter "ok_rate", grant scope).'));
      assert.deepEqual([admitted, denied.length], [50, 150]);
    });

    test("an isError result gives the slot back before the agent sees it: every immediate retry reaches the upstream", async () => {
      const c = await client(grantName, server);
      for (let i = 0; i < 20; i++) assert.deepEqual(text(await c.callTool({ name: "fail", arguments: {} })), "upstream says no", `call ${i} reached the upstream`);
    });

    test("an upstream that hangs times out with a clear error, and the call counts: it reached the upstream", async () => {
      const c = await client(grantName, server);
      await assert.rejects(c.callTool({ name: "hang", arguments: {} }), (e: Error) => e.message.includes(`Upstream server "${server}" sent nothing for 1500 ms (timeoutMs)`));
      const again = await c.callTool({ name: "hang", arguments: {} });
      assert.match(text(again), /^\[POLICY DENIED\] Rate limit reached: at most 1 call per hour \(counter "hang_rate", grant scope\)\./);
    });
  });
}

test("a crashing stdio upstream fails the call clearly; a new session gets a fresh process", async () => {
  const c = await client("edge", "edge");
  await assert.rejects(c.callTool({ name: "crash", arguments: {} }), (e: Error) => e.message.includes('Upstream server "edge" process exited with code 3'));
  const fresh = await client("edge", "edge");
  assert.equal(text(await fresh.callTool({ name: "fail", arguments: {} })), "upstream says no");
});

test("a policy edit and a revocation take effect mid-session without reconnecting", async () => {
  await gw.admin.put("policies", "edit-me", { document: { version: "1", default: "deny", tools: { echo: {} } } });
  await grant("mid", "everything", "edit-me");
  const c = await client("mid", "everything");
  assert.equal(text(await c.callTool({ name: "echo", arguments: { message: "a" } })), "Echo: a");
  await gw.admin.put("policies", "edit-me", { document: { version: "1", default: "deny", hide: ["echo"], tools: { echo: {} } } });
  assert.equal(text(await c.callTool({ name: "echo", arguments: { message: "b" } })), '[POLICY DENIED] Tool "echo" is hidden by policy');
  await gw.admin.delete("grants", "mid");
  await assert.rejects(c.callTool({ name: "echo", arguments: { message: "c" } }), /401|Unknown or revoked grant token/);
});

describe("authentication and transport checks", () => {
  const url = () => `${gw.proxyUrl}/mcp/everything`;
  const init = { jsonrpc: "2.0", id: 1, method: "initialize", params: { protocolVersion: "2025-06-18", capabilities: {}, clientInfo: { name: "raw", version: "1" } } };

  test("no token, an unknown token, a grant for another server, an expired grant", async () => {
    const none = await rawPost(url(), init);
    assert.deepEqual([none.status, JSON.parse(none.body).error.message], [401, "Missing grant token: send Authorization: Bearer <token>"]);
    const wrong = await rawPost(url(), init, { authorization: "Bearer tg_not-a-real-token" });
    assert.deepEqual([wrong.status, JSON.parse(wrong.body).error.message], [401, "Unknown or revoked grant token"]);
    const other = await rawPost(`${gw.proxyUrl}/mcp/edge`, init, { authorization: `Bearer ${tokens.alice}` });
    assert.deepEqual([other.status, JSON.parse(other.body).error.message], [403, 'This grant is for server "everything", not "edge"']);
    await grant("expired", "everything", "main", { expiresAt: "2020-01-01T00:00:00Z" });
    const expired = await rawPost(url(), init, { authorization: `Bearer ${tokens.expired}` });
    assert.deepEqual([expired.status, JSON.parse(expired.body).error.message], [401, 'Grant "expired" expired at 2020-01-01T00:00:00.000Z']);
  });

  test("batches, bad JSON, wrong content type and huge bodies are rejected clearly", async () => {
    const auth = { authorization: `Bearer ${tokens.alice}` };
    const batch = await rawPost(url(), [init], auth);
    assert.deepEqual([batch.status, JSON.parse(batch.body).error], [400, { code: -32600, message: "Invalid request: batches (JSON arrays of messages) are not supported; send one message per request" }]);
    const bad = await rawPost(url(), "{not json", auth);
    assert.deepEqual([bad.status, JSON.parse(bad.body).error.code], [400, -32700]);
    const type = await rawPost(url(), init, { ...auth, "content-type": "text/plain" });
    assert.equal(type.status, 415);
    const huge = await rawPost(url(), { ...init, params: { pad: "x".repeat(5 * 1024 * 1024) } }, auth);
    assert.equal(huge.status, 413);
  });

  test("Origin and Host are checked against DNS rebinding", async () => {
    const auth = { authorization: `Bearer ${tokens.alice}` };
    const evil = await rawPost(url(), init, { ...auth, origin: "https://evil.example" });
    assert.deepEqual([evil.status, JSON.parse(evil.body).error.message], [403, 'Origin "https://evil.example" is not allowed (configure --allowed-origin)']);
    const local = await rawPost(url(), init, { ...auth, origin: "http://localhost:3000" });
    assert.equal(local.status, 200);
    const res = await new Promise<number>((resolve, reject) => {
      const u = new URL(url());
      import("node:http").then(({ request }) => {
        const r = request({ host: u.hostname, port: u.port, path: u.pathname, method: "POST", headers: { host: "attacker.example", "content-type": "application/json", ...auth } }, (x) => resolve(x.statusCode!));
        r.on("error", reject);
        r.end(JSON.stringify(init));
      });
    });
    assert.equal(res, 403);
  });

  test("the client's Authorization and Cookie never reach the upstream; the server's headers do", async () => {
    const before = everythingHttp.requests.length;
    const c = await client("alice-http", "everything-http");
    await c.callTool({ name: "echo", arguments: { message: "h" } });
    const seen = everythingHttp.requests.slice(before);
    assert.ok(seen.length >= 2);
    assert.ok(seen.every((h) => h["x-upstream-key"] === "upstream-key-123"));
    assert.ok(seen.every((h) => h.authorization === undefined && h.cookie === undefined));
  });
});
