import { test } from "node:test";
import assert from "node:assert/strict";
import { spawn } from "node:child_process";
import { mkdtempSync, readFileSync, readdirSync, statSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { DatabaseSync } from "node:sqlite";
import { startGateway } from "../helpers/gateway.ts";
import { connect, text } from "../helpers/mcp-client.ts";
import { BIN, ROOT, toolgate } from "../helpers/cli.ts";

const EDGE = { type: "stdio", command: process.execPath, args: ["tests/fixtures/edge-server.ts"], cwd: ROOT, env: { EDGE_SECRET: "env-secret-value-42" } };

test("a restart keeps servers, policies, grants, counters and audit", async () => {
  const dataDir = mkdtempSync(join(tmpdir(), "toolgate-restart-"));
  const first = await startGateway({ dataDir, adminToken: "restart-admin-token-0001" });
  await first.admin.put("servers", "edge", { transport: EDGE });
  await first.admin.put("policies", "p", { document: { version: "1", default: "deny", tools: { ok: { limits: [{ counter: "ok", window: "day", max: 3 }] } } } });
  const token = (await first.admin.put<{ token: string }>("grants", "g", { server: "edge", policy: "p" })).value.token;
  const c1 = await connect(first.proxyUrl, "edge", token);
  for (let i = 0; i < 2; i++) assert.equal(text(await c1.callTool({ name: "ok", arguments: {} })), "ok");
  await c1.close();
  assert.equal(await first.stop(), 0);

  const second = await startGateway({ dataDir, adminToken: "restart-admin-token-0001" });
  try {
    assert.deepEqual((await second.admin.get<{ version: number }>("servers", "edge"))?.value.version, 1);
    assert.deepEqual((await second.admin.get<{ version: number }>("policies", "p"))?.value.version, 1);
    const c2 = await connect(second.proxyUrl, "edge", token);
    assert.equal(text(await c2.callTool({ name: "ok", arguments: {} })), "ok", "the grant token still works");
    assert.match(text(await c2.callTool({ name: "ok", arguments: {} })), /^\[POLICY DENIED\] Rate limit reached: at most 3 calls per day/, "the counter survived the restart");
    await c2.close();
    const audit = await second.admin.getJson<{ items: { decision: string }[] }>("/v1/audit", { grant: "g" });
    assert.deepEqual(audit.items.map((i) => i.decision), ["allow", "allow", "allow", "deny"]);
  } finally {
    assert.equal(await second.stop(), 0);
  }
});

test("a second serve on the same data dir fails clearly", async () => {
  const gw = await startGateway();
  try {
    const r = await toolgate(["serve", "--data-dir", gw.dataDir, "--listen", "127.0.0.1:0", "--admin-listen", "127.0.0.1:0"], { env: { TOOLGATE_ADMIN_TOKEN: "another-admin-token-01" } });
    assert.equal(r.code, 1);
    assert.equal(r.stderr, `toolgate serve: the data directory ${gw.dataDir} is in use by another gateway (pid ${gw.child.pid}); stop it or use another --data-dir\n`);
  } finally {
    await gw.stop();
  }
});

test("without --admin-token one is generated into the data dir (mode 0600) and printed only on first start", async () => {
  const dataDir = mkdtempSync(join(tmpdir(), "toolgate-token-"));
  const env = { TOOLGATE_ADMIN_TOKEN: "" };
  const first = await startGateway({ dataDir, env, adminToken: "" });
  await first.stop();
  const stored = readFileSync(join(dataDir, "admin-token"), "utf8").trim();
  assert.match(stored, /^tga_[A-Za-z0-9_-]{43}$/);
  assert.equal(statSync(join(dataDir, "admin-token")).mode & 0o777, 0o600);
  assert.equal(statSync(join(dataDir, "secret.key")).mode & 0o777, 0o600);
  assert.ok(first.logs().includes(stored), "printed on first start");
  const second = await startGateway({ dataDir, env, adminToken: "" });
  await second.stop();
  assert.ok(!second.logs().includes(stored), "not printed again");
});

test("bad flags are all reported at once, without a stack trace", async () => {
  const r = await toolgate(["serve", "--listen", "nope", "--admin-listen", "127.0.0.1:99999", "--log-level", "loud"]);
  assert.equal(r.code, 1);
  assert.equal(r.stderr, [
    "toolgate serve: invalid configuration:",
    '  --listen must be host:port, e.g. 127.0.0.1:8787, got "nope"',
    '  --admin-listen must be host:port, e.g. 127.0.0.1:8787, got "127.0.0.1:99999"',
    '  --log-level must be one of fatal, error, warn, info, debug, trace, silent, got "loud"',
    "",
  ].join("\n"));
});

test("SIGTERM lets an in-flight call finish, then exits 0", async () => {
  const gw = await startGateway();
  await gw.admin.put("servers", "edge", { transport: EDGE, timeoutMs: 10_000 });
  await gw.admin.put("policies", "p", { document: { version: "1", default: "allow" } });
  const token = (await gw.admin.put<{ token: string }>("grants", "g", { server: "edge", policy: "p" })).value.token;
  const c = await connect(gw.proxyUrl, "edge", token);
  const call = c.callTool({ name: "slow", arguments: { ms: 1500 } });
  await new Promise((r) => setTimeout(r, 300));
  const exit = gw.stop();
  assert.equal(text(await call), "slept 1500");
  assert.equal(await exit, 0);
});

test("tokens and credential values never appear in logs, audit, the database or API responses", async () => {
  const gw = await startGateway({ env: { TOOLGATE_LOG_LEVEL: "debug" } });
  const seen: string[] = [];
  await gw.admin.put("servers", "edge", { transport: EDGE });
  await gw.admin.put("servers", "web", { transport: { type: "streamable-http", url: "http://127.0.0.1:9/mcp", headers: { "X-Api-Key": "header-secret-value-77" } } });
  await gw.admin.put("policies", "p", { document: { version: "1", default: "allow" } });
  const created = await gw.admin.put<{ token: string }>("grants", "g", { server: "edge", policy: "p" });
  const token = created.value.token;
  for (const path of ["/v1/servers", "/v1/servers/edge", "/v1/servers/web", "/v1/grants", "/v1/grants/g", "/metrics", "/openapi.json"]) {
    seen.push(await (await fetch(gw.adminUrl + path, { headers: { authorization: `Bearer ${gw.adminToken}` } })).text());
  }
  const c = await connect(gw.proxyUrl, "edge", token);
  await c.callTool({ name: "ok", arguments: { n: 424242 } });
  await c.close();
  seen.push(await (await fetch(`${gw.adminUrl}/v1/audit/export`, { headers: { authorization: `Bearer ${gw.adminToken}` } })).text());
  assert.equal(await gw.stop(), 0);
  const db = new DatabaseSync(join(gw.dataDir, "toolgate.db"), { readOnly: true });
  const dump = JSON.stringify([db.prepare("SELECT * FROM servers").all(), db.prepare("SELECT * FROM grants").all(), db.prepare("SELECT * FROM audit").all()]);
  db.close();
  const haystacks = { logs: gw.logs(), api: seen.join("\n"), database: dump, dataDirFiles: readdirSync(gw.dataDir).join(" ") };
  for (const [where, hay] of Object.entries(haystacks)) {
    for (const secret of [token, gw.adminToken, "env-secret-value-42", "header-secret-value-77", "424242"]) {
      assert.ok(!hay.includes(secret), `${secret.slice(0, 12)}… appears in ${where}`);
    }
  }
  assert.ok(dump.includes("tg1."), "credentials are stored sealed");
});

test("the binary runs on its own (spawned directly) and prints usage", async () => {
  const out = await new Promise<string>((resolve) => {
    const p = spawn(process.execPath, [BIN, "--help"], { cwd: ROOT });
    let s = "";
    p.stdout.on("data", (d: Buffer) => (s += d));
    p.on("exit", () => resolve(s));
  });
  assert.match(out, /^toolgate: MCP tool-call policy, managed as code/);
  assert.match(out, /serve {5}run the gateway/);
});
