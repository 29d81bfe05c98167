import { test, before, after } from "node:test";
import assert from "node:assert/strict";
import { randomBytes } from "node:crypto";
import { chmodSync, mkdtempSync, readdirSync, statSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { McpServer } from "@modelcontextprotocol/sdk/server/mcp.js";
import { z } from "zod";
import type { ApprovalList } from "../../sdk/index.ts";
import { serveOverHttp, type EverythingHttp } from "../fixtures/everything-http.ts";
import { toolgate } from "../helpers/cli.ts";
import { startGateway, type TestGateway } from "../helpers/gateway.ts";
import { connect, text } from "../helpers/mcp-client.ts";

let gw: TestGateway;
let bank: EverythingHttp;
let token: string;
let upstreamCalls = 0;

before(async () => {
  bank = await serveOverHttp(() => {
    const server = new McpServer({ name: "bank", version: "1.0.0" });
    server.registerTool("wire_transfer", { inputSchema: { amount: z.number() } }, async ({ amount }) => {
      upstreamCalls++;
      return { content: [{ type: "text", text: `sent ${amount}` }] };
    });
    return { server };
  });
  gw = await startGateway({ args: ["--max-pending-approvals-per-grant", "2"] });
  await gw.admin.put("servers", "bank", { transport: { type: "streamable-http", url: bank.url } });
  await gw.admin.put("policies", "treasury", { document: { version: "1", default: "deny", tools: { wire_transfer: { approval: {} } } } });
  token = (await gw.admin.put<{ token: string }>("grants", "treasurer", { server: "bank", policy: "treasury" })).value.token;
});

after(async () => {
  assert.equal(await gw.stop(), 0);
  await bank.close();
});

async function send(method: string, path: string, body: string, target = gw): Promise<{ status: number; text: string; json: { code?: string; detail?: string; issues?: { path: string; message: string }[] } }> {
  const res = await fetch(`${target.adminUrl}${path}`, { method, headers: { authorization: `Bearer ${target.adminToken}`, "content-type": "application/json" }, body });
  const text = await res.text();
  return { status: res.status, text, json: JSON.parse(text) };
}

const ALLOW_HINT = "webhooks reach only public addresses unless the operator allows the target with --webhook-allow (TOOLGATE_WEBHOOK_ALLOW)";
const SECRET = "whsec_hardening_0123456789";

test("webhook URLs to loopback, link-local and private targets are refused, whatever their spelling", async () => {
  const cases: [url: string, problem: string][] = [
    ["http://127.0.0.1:9000/hook", "127.0.0.1 is a loopback address (127.0.0.0/8)"],
    ["http://2130706433/", "127.0.0.1 is a loopback address (127.0.0.0/8)"],
    ["http://0x7f.1/", "127.0.0.1 is a loopback address (127.0.0.0/8)"],
    ["http://[::ffff:127.0.0.1]/", "::ffff:7f00:1 is a loopback address (127.0.0.0/8)"],
    ["http://[::1]:8080/", "::1 is a loopback address (::1/128)"],
    ["http://169.254.169.254/latest/meta-data/", "169.254.169.254 is a link-local address (169.254.0.0/16)"],
    ["http://10.1.2.3/hook", "10.1.2.3 is a private address (10.0.0.0/8)"],
    ["http://[fd00::1]/", "fd00::1 is a unique local (private) address (fc00::/7)"],
    ["http://100.64.0.1/", "100.64.0.1 is a carrier-grade NAT address (100.64.0.0/10)"],
    ["http://localhost:8080/hook", 'host "localhost" resolves to 127.0.0.1, a loopback address (127.0.0.0/8)'],
  ];
  for (const [url, problem] of cases) {
    const r = await send("PUT", "/v1/webhooks/internal", JSON.stringify({ url, secret: SECRET }));
    assert.equal(r.status, 400, url);
    assert.deepEqual(r.json.issues, [{ path: "/url", message: `${problem}; ${ALLOW_HINT}` }], url);
  }
  assert.equal(await gw.admin.get("webhooks", "internal"), undefined, "nothing was stored");
});

test("the operator's --webhook-allow lets a private target through, and only that one", async () => {
  const allowed = await startGateway({ env: { TOOLGATE_WEBHOOK_ALLOW: "127.0.0.1, 10.20.0.0/16" } });
  try {
    assert.equal((await send("PUT", "/v1/webhooks/local", JSON.stringify({ url: "http://127.0.0.1:9000/hook", secret: SECRET }), allowed)).status, 201);
    assert.equal((await send("PUT", "/v1/webhooks/office", JSON.stringify({ url: "http://10.20.1.1/hook", secret: SECRET }), allowed)).status, 201);
    const other = await send("PUT", "/v1/webhooks/other", JSON.stringify({ url: "http://10.21.1.1/hook", secret: SECRET }), allowed);
    assert.deepEqual([other.status, other.json.issues], [400, [{ path: "/url", message: `10.21.1.1 is a private address (10.0.0.0/8); ${ALLOW_HINT}` }]]);
  } finally {
    await allowed.stop();
  }
});

test("validation errors never echo secrets, URL credentials or the body", async () => {
  const wrongTypes = await send("PUT", "/v1/webhooks/hook", JSON.stringify({ url: "ftp://ops:hunter2hunter2@hooks.example.com/x", secret: 987654321098765 }));
  assert.equal(wrongTypes.status, 400);
  assert.deepEqual(wrongTypes.json.issues, [
    { path: "/secret", message: "secret must be a string, got number" },
    { path: "/url", message: 'url must be an http(s) URL, got scheme "ftp:"' },
    { path: "/url", message: "url must not contain credentials (user:password@); deliveries are signed with the secret instead" },
  ]);
  const listSecret = await send("PUT", "/v1/webhooks/hook", JSON.stringify({ url: "https://hooks.example.com/x", secret: ["whsec_in_a_list_0123456789"] }));
  assert.deepEqual(listSecret.json.issues?.[0], { path: "/secret", message: "secret must be a string, got a list" });
  const credentials = await send("PUT", "/v1/webhooks/hook", JSON.stringify({ url: "https://ops:hunter2hunter2@hooks.example.com/x", secret: SECRET }));
  assert.deepEqual(credentials.json.issues, [{ path: "/url", message: "url must not contain credentials (user:password@); deliveries are signed with the secret instead" }]);
  const server = await send("PUT", "/v1/servers/leaky", JSON.stringify({ transport: { type: "streamable-http", url: "gopher://ops:hunter2hunter2@upstream.example/" } }));
  assert.deepEqual(server.json.issues, [
    { path: "/transport/url", message: 'url must be an http(s) URL, got scheme "gopher:"' },
    { path: "/transport/url", message: "url must not contain credentials; put them in headers" },
  ]);
  const args = await send("PUT", "/v1/servers/leaky", JSON.stringify({ transport: { type: "stdio", command: "mcp", args: "--api-key=hunter2hunter2" } }));
  assert.deepEqual(args.json.issues, [{ path: "/transport/args", message: "args must be a list of strings, got string" }]);
  const malformed = await send("PUT", "/v1/webhooks/hook", `{"url": "https://hooks.example.com/x", "secret": "whsec_malformed_0123456789`);
  assert.deepEqual([malformed.status, malformed.json.code], [400, "invalid_json"]);
  assert.match(String(malformed.json.detail), /^The body is not valid JSON( \(at character \d+\))?$/);
  for (const r of [wrongTypes, listSecret, credentials, server, args, malformed]) {
    for (const secret of ["987654321098765", "hunter2", "whsec_in_a_list", "whsec_malformed"]) assert.ok(!r.text.includes(secret), `${secret} was echoed: ${r.text}`);
  }
});

test("bodies nested 3,000 levels deep are refused with a 400 that names the limit, on every write", async () => {
  const arrays = "[".repeat(3000) + "]".repeat(3000);
  const objects = '{"a":'.repeat(3000) + "1" + "}".repeat(3000);
  const writes: [method: string, path: string, wrap: (deep: string) => string][] = [
    ["PUT", "/v1/policies/deep", (d) => `{"document":{"version":"1","default":"deny","tools":{"t":{"deny_if":[{"path":"args.x","op":"eq","value":${d}}]}}}}`],
    ["PUT", "/v1/servers/deep", (d) => `{"transport":{"type":"stdio","command":"x"},"labels":${d}}`],
    ["PUT", "/v1/grants/deep", (d) => `{"server":"bank","description":${d}}`],
    ["PUT", "/v1/webhooks/deep", (d) => `{"url":"https://hooks.example.com/","secret":"${SECRET}","events":${d}}`],
    ["POST", "/v1/approvals/apr_deep/approve", (d) => `{"by":"alice","reason":${d}}`],
    ["POST", "/v1/approvals/apr_deep/deny", (d) => `{"by":"alice","reason":"no","extra":${d}}`],
  ];
  for (const [method, path, wrap] of writes) {
    for (const deep of [arrays, objects, wrap(arrays), wrap(objects)]) {
      const r = await send(method, path, deep);
      assert.deepEqual([r.status, r.json.code, r.json.detail], [400, "too_deep", "Request body is nested deeper than 64 levels"], `${method} ${path}`);
    }
  }
  const ok = await send("PUT", "/v1/policies/shallow", JSON.stringify({ document: { version: "1", default: "deny", tools: { t: { deny_if: [{ path: "args.x", op: "eq", value: "y" }] } } } }));
  assert.equal(ok.status, 201, "ordinary documents are not affected");
});

test("a grant with the most pending approvals gets no new approval: the call is denied and nobody is asked", async () => {
  const answers: string[] = [];
  const agent = await connect(gw.proxyUrl, "bank", token);
  try {
    for (const amount of [1, 2, 3]) answers.push(text(await agent.callTool({ name: "wire_transfer", arguments: { amount } })));
  } finally {
    await agent.close();
  }
  assert.match(answers[0]!, /^\[APPROVAL REQUIRED\]/);
  assert.match(answers[1]!, /^\[APPROVAL REQUIRED\]/);
  assert.match(answers[2]!, /^\[POLICY DENIED\]/);
  const pending = await gw.admin.getJson<ApprovalList>("/v1/approvals", { status: "pending", grant: "treasurer" });
  assert.deepEqual(pending.items.map((a) => a.arguments), [{ amount: 1 }, { amount: 2 }]);
  assert.equal(upstreamCalls, 0);
});

test("the audit log and its export escape bidi and invisible characters in names, without changing them", async () => {
  const spoof = "pay\u202Elortnoc\u200B";
  const agent = await connect(gw.proxyUrl, "bank", token);
  try {
    assert.match(text(await agent.callTool({ name: spoof, arguments: {} })), /^\[POLICY DENIED\]/);
  } finally {
    await agent.close();
  }
  for (const path of ["/v1/audit?limit=500", "/v1/audit/export"]) {
    const res = await fetch(`${gw.adminUrl}${path}`, { headers: { authorization: `Bearer ${gw.adminToken}` } });
    const body = await res.text();
    assert.ok(!body.includes("\u202E") && !body.includes("\u200B"), `${path} holds a raw bidi override`);
    assert.ok(body.includes("pay\\u202elortnoc\\u200b"), `${path} shows it escaped`);
    const tools = body.trim().split("\n").flatMap((line) => {
      const parsed = JSON.parse(line) as { tool?: string; items?: { tool: string }[] };
      return parsed.items ? parsed.items.map((i) => i.tool) : [parsed.tool];
    });
    assert.ok(tools.includes(spoof), "parsed back, the name is exactly what the agent sent");
  }
});

test("the data directory and its files are made private even when they existed before", async () => {
  const dataDir = mkdtempSync(join(tmpdir(), "toolgate-perms-"));
  chmodSync(dataDir, 0o755);
  writeFileSync(join(dataDir, "secret.key"), randomBytes(32).toString("base64") + "\n", { mode: 0o644 });
  chmodSync(join(dataDir, "secret.key"), 0o644);
  const g = await startGateway({ dataDir });
  try {
    assert.equal(statSync(dataDir).mode & 0o777, 0o700);
    const files = readdirSync(dataDir, { withFileTypes: true }).filter((e) => e.isFile()).map((e) => e.name);
    assert.ok(files.includes("secret.key") && files.includes("gateway.lock"));
    for (const name of files) assert.equal((statSync(join(dataDir, name)).mode & 0o777).toString(8), "600", name);
  } finally {
    await g.stop();
  }
});

test("--admin-token on the command line warns that it is visible; --admin-token-file keeps it out of the process list", async () => {
  const visible = "tga_visible_" + randomBytes(8).toString("hex");
  const flagged = await startGateway({ adminToken: visible, args: ["--admin-token", visible] });
  await flagged.stop();
  assert.ok(flagged.logs().includes("--admin-token is visible to every user of this machine in the process list: pass the token in TOOLGATE_ADMIN_TOKEN or a file (--admin-token-file) instead"));

  const hidden = "tga_from_file_" + randomBytes(8).toString("hex");
  const file = join(mkdtempSync(join(tmpdir(), "toolgate-token-")), "admin-token");
  writeFileSync(file, hidden + "\n", { mode: 0o600 });
  const fromFile = await startGateway({ adminToken: hidden, env: { TOOLGATE_ADMIN_TOKEN: "" }, args: ["--admin-token-file", file] });
  try {
    const res = await fetch(`${fromFile.adminUrl}/v1/servers`, { headers: { authorization: `Bearer ${hidden}` } });
    assert.equal(res.status, 200);
    assert.ok(!fromFile.logs().includes("is visible to every user"));
  } finally {
    await fromFile.stop();
  }
});

test("bad hardening flags are reported at start, every one", async () => {
  const r = await toolgate(["serve", "--webhook-allow", "*", "--audit-retention", "30 days", "--max-pending-approvals-per-grant", "0", "--admin-token-file", "/nonexistent/toolgate-token"]);
  assert.equal(r.code, 1);
  assert.equal(r.stderr, [
    "toolgate serve: invalid configuration:",
    "  --admin-token-file: cannot read /nonexistent/toolgate-token (ENOENT)",
    '  --webhook-allow entries must be a CIDR range, an IP address or a host name, got "*"',
    "  --max-pending-approvals-per-grant must be at least 1",
    '  --audit-retention (TOOLGATE_AUDIT_RETENTION) must be an age like "30d" or "12h", a row count like "1000000rows", or both ("90d,1000000rows"), got "30 days"',
    "",
  ].join("\n"));
});
