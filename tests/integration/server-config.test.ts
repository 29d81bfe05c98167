import { after, before, test } from "node:test";
import assert from "node:assert/strict";
import { mkdtempSync, readdirSync, readFileSync, realpathSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import type { CatalogToolList } from "../../sdk/index.ts";
import { ROOT } from "../helpers/cli.ts";
import { startGateway, type TestGateway } from "../helpers/gateway.ts";
import { connect, text } from "../helpers/mcp-client.ts";

const READ_ONLY = "readonly-token-0123456789";
const SECRET_DIR = realpathSync(mkdtempSync(join(tmpdir(), "toolgate-secret-arg-")));
const FILES = "node_modules/@modelcontextprotocol/server-filesystem/dist/index.js";

let gw: TestGateway;
before(async () => {
  gw = await startGateway({ args: ["--read-only-token", READ_ONLY] });
});
after(async () => assert.equal(await gw.stop(), 0));

async function request(method: string, path: string, body?: unknown, token = gw.adminToken) {
  const res = await fetch(gw.adminUrl + path, {
    method,
    headers: { authorization: `Bearer ${token}`, ...(body === undefined ? {} : { "content-type": "application/json" }) },
    body: body === undefined ? undefined : JSON.stringify(body),
  });
  const raw = await res.text();
  return { status: res.status, raw, body: raw ? JSON.parse(raw) : undefined };
}

/** Every stored byte of the data dir, to check that secrets are sealed at rest. */
const dataDirBytes = () => readdirSync(gw.dataDir).filter((f) => f.startsWith("toolgate.db")).map((f) => readFileSync(join(gw.dataDir, f)).toString("latin1")).join("");

const FILES_SERVER = {
  transport: { type: "stdio", command: process.execPath, args: [FILES], secretArgs: [SECRET_DIR], cwd: ROOT, user: "toolgate", group: 1001 },
  roots: [{ uri: "file:///srv/data", name: "data" }, { uri: "https://example.com/repo" }],
  timeoutMs: 10_000,
  totalTimeoutMs: 120_000,
  maxInFlight: 16,
};

test("server fields round-trip through the admin API; secretArgs are sealed and shown only as a count, to every token", async () => {
  const created = await request("PUT", "/v1/servers/files", FILES_SERVER);
  assert.equal(created.status, 201, created.raw);
  const expected = {
    transport: { type: "stdio", command: process.execPath, args: [FILES], secretArgs: ["[redacted]"], cwd: ROOT, user: "toolgate", group: 1001 },
    roots: [{ uri: "file:///srv/data", name: "data" }, { uri: "https://example.com/repo" }],
    timeoutMs: 10_000,
    totalTimeoutMs: 120_000,
    maxInFlight: 16,
  };
  for (const token of [gw.adminToken, READ_ONLY]) {
    const read = await request("GET", "/v1/servers/files", undefined, token);
    assert.equal(read.status, 200);
    const { transport, roots, timeoutMs, totalTimeoutMs, maxInFlight } = read.body;
    assert.deepEqual({ transport, roots, timeoutMs, totalTimeoutMs, maxInFlight }, expected);
    const listed = await request("GET", "/v1/servers", undefined, token);
    assert.ok(!listed.raw.includes(SECRET_DIR), "lists never show secret arguments");
  }
  assert.ok(!created.raw.includes(SECRET_DIR));
  assert.ok(!dataDirBytes().includes(SECRET_DIR), "secret arguments are sealed at rest");
  assert.ok(!gw.logs().includes(SECRET_DIR), "secret arguments are never logged");

  const again = await request("PUT", "/v1/servers/files", FILES_SERVER);
  assert.deepEqual([again.status, again.body.version, again.body.credentialsDigest], [200, 1, created.body.credentialsDigest]);
  const rotated = await request("PUT", "/v1/servers/files", { ...FILES_SERVER, transport: { ...FILES_SERVER.transport, secretArgs: [SECRET_DIR, "--extra"] } });
  assert.equal(rotated.body.version, 2);
  assert.notEqual(rotated.body.credentialsDigest, created.body.credentialsDigest);
  assert.deepEqual(rotated.body.transport.secretArgs, ["[redacted]", "[redacted]"]);

  // Optional: a server without them reads back without them.
  const plain = await request("PUT", "/v1/servers/plain", { transport: { type: "streamable-http", url: "http://127.0.0.1:9/mcp" } });
  assert.equal(plain.status, 201, plain.raw);
  assert.deepEqual(Object.keys(plain.body).filter((k) => ["roots", "totalTimeoutMs", "maxInFlight"].includes(k)), []);
});

test("a stdio transport's stateful flag round-trips through the admin API; changing it is a new version; a non-boolean is a 400", async () => {
  const transport = { type: "stdio", command: process.execPath, args: [FILES] };
  const created = await request("PUT", "/v1/servers/stateful", { transport: { ...transport, stateful: true } });
  assert.equal(created.status, 201, created.raw);
  assert.deepEqual(created.body.transport, { ...transport, stateful: true });
  assert.deepEqual((await request("GET", "/v1/servers/stateful", undefined, READ_ONLY)).body.transport, { ...transport, stateful: true });
  const again = await request("PUT", "/v1/servers/stateful", { transport: { ...transport, stateful: true } });
  assert.deepEqual([again.status, again.body.version], [200, 1]);
  const shared = await request("PUT", "/v1/servers/stateful", { transport: { ...transport, stateful: false } });
  assert.deepEqual([shared.status, shared.body.version, shared.body.transport], [200, 2, { ...transport, stateful: false }]);
  const unset = await request("PUT", "/v1/servers/stateful", { transport });
  assert.deepEqual([unset.status, unset.body.version, unset.body.transport], [200, 3, transport]);
  const bad = await request("PUT", "/v1/servers/stateful", { transport: { ...transport, stateful: "yes" } });
  assert.equal(bad.status, 400);
  assert.deepEqual(bad.body.issues, [{ path: "/transport/stateful", message: 'stateful must be true or false, got "yes"' }]);
  assert.equal((await request("GET", "/v1/servers/stateful")).body.version, 3);
});

test("bad server fields are 400s naming each field, never echoing secret arguments", async () => {
  const bad = await request("PUT", "/v1/servers/bad", {
    transport: { type: "stdio", command: "x", secretArgs: ["sk-live-0123456789", 42], user: "1000", group: -1 },
    roots: [{ uri: "not a uri" }, { uri: "file:///ok", name: 5 }],
    maxInFlight: 0,
  });
  assert.equal(bad.status, 400);
  assert.deepEqual(bad.body.issues.map((i: { path: string }) => i.path), ["/maxInFlight", "/roots/0/uri", "/roots/1/name", "/transport/group", "/transport/secretArgs/1", "/transport/user"]);
  assert.ok(!bad.raw.includes("sk-live"));
  const tooMany = await request("PUT", "/v1/servers/bad", { transport: { type: "stdio", command: "x" }, roots: Array.from({ length: 101 }, (_, i) => ({ uri: `file:///d${i}` })), maxInFlight: 1025 });
  assert.deepEqual(tooMany.body.issues, [
    { path: "/maxInFlight", message: "maxInFlight must be at most 1024" },
    { path: "/roots", message: "roots must have at most 100 entries" },
  ]);
  const timeouts = await request("PUT", "/v1/servers/bad", { transport: { type: "stdio", command: "x" }, timeoutMs: 20_000, totalTimeoutMs: 10_000 });
  assert.deepEqual(timeouts.body.issues, [{ path: "/totalTimeoutMs", message: "totalTimeoutMs must be at least timeoutMs (20000)" }]);
  const tooLong = await request("PUT", "/v1/servers/bad", { transport: { type: "stdio", command: "x" }, totalTimeoutMs: 3_600_001 });
  assert.deepEqual(tooLong.body.issues, [{ path: "/totalTimeoutMs", message: "totalTimeoutMs must be at most 3600000 (one hour)" }]);
});

test("secretArgs reach the stdio child after args: the catalog and an agent see the server they configure", async () => {
  const { user: _user, group: _group, ...transport } = FILES_SERVER.transport;
  await request("PUT", "/v1/servers/files", { ...FILES_SERVER, transport, roots: undefined });
  const deadline = Date.now() + 15_000;
  let tools: string[] = [];
  while (tools.length === 0 && Date.now() < deadline) {
    tools = (await gw.admin.getJson<CatalogToolList>("/v1/servers/files/tools")).items.map((t) => t.name);
    if (tools.length === 0) await new Promise((r) => setTimeout(r, 100));
  }
  assert.ok(tools.includes("list_allowed_directories"), tools.join(", "));
  await gw.admin.put("policies", "files-open", { document: { version: "1", default: "allow" } });
  const token = (await gw.admin.put<{ token: string }>("grants", "files-agent", { server: "files", policy: "files-open" })).value.token;
  const agent = await connect(gw.proxyUrl, "files", token);
  try {
    assert.equal(text(await agent.callTool({ name: "list_allowed_directories", arguments: {} })), `Allowed directories:\n${SECRET_DIR}`);
  } finally {
    await agent.close();
  }
  assert.ok(!gw.logs().includes(SECRET_DIR), "secret arguments are never logged");
});
