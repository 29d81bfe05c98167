import { test, before, after } from "node:test";
import assert from "node:assert/strict";
import { createServer, type Server } from "node:http";
import type { AddressInfo } from "node:net";
import { printable, type ApprovalObject, type CatalogTool } from "../../sdk/index.ts";
import { nestedDeeperThan } from "../../gateway/admin/json-depth.ts";
import { displaySafeJson } from "../../gateway/admin/safe-json.ts";
import { pageJson, pagePrintable } from "../../gateway/admin/ui/page-escape.ts";
import { APPROVALS_JS } from "../../gateway/admin/ui/approvals-page.ts";
import { approvalsCommand } from "../../gateway/cli/approvals-command.ts";
import { toolsCommand } from "../../gateway/cli/tools-command.ts";

const TRICKY = [
  "wire_transfer",
  "pay\u202Elortnoc",
  "a\u200Bb\u2066c\u2069",
  "tab\there\nnewline",
  "bell\u0007del\u007Fc1\u0085",
  "C:\\dir\\name",
  "literal \\u{202E} text",
  "tag\u{E0041}s",
  "lone \uD800 surrogate",
  "line\u2028sep",
  "naïve café 東京",
];

test("the approvers' page escapes names exactly as printable() does, and JSON as displaySafeJson()", () => {
  for (const text of TRICKY) assert.equal(pagePrintable(text), printable(text), JSON.stringify(text));
  const args = { to: "pay\u202Elortnoc", note: "x\u200By", nested: [{ "k\u2066": "\u0085" }] };
  assert.equal(pageJson(args), displaySafeJson(args, 2));
  assert.ok(APPROVALS_JS.includes("function pagePrintable(") && APPROVALS_JS.includes("function pageJson("));
  assert.doesNotThrow(() => new Function(APPROVALS_JS), "the page's script is valid JavaScript");
});

test("displaySafeJson escapes bidi, invisible and control characters and still means the same", () => {
  const value = { tool: "pay\u202Elortnoc", keys: ["a\u200Bb", "del\u007F", "tag\u{E0041}"], n: 1 };
  const out = displaySafeJson(value);
  assert.equal(out, '{"tool":"pay\\u202elortnoc","keys":["a\\u200bb","del\\u007f","tag\\udb40\\udc41"],"n":1}');
  assert.deepEqual(JSON.parse(out), value);
  const pretty = displaySafeJson(value, 2);
  assert.deepEqual(JSON.parse(pretty), value);
  assert.ok(pretty.includes("\n  "), "indentation stays");
});

test("the depth check counts arrays and objects, not brackets inside strings", () => {
  assert.equal(nestedDeeperThan('{"a":[[1]]}', 3), false);
  assert.equal(nestedDeeperThan('{"a":[[1]]}', 2), true);
  assert.equal(nestedDeeperThan(JSON.stringify({ s: "[[[[[[[[{{{{{{{{" }), 1), false);
  assert.equal(nestedDeeperThan(JSON.stringify({ s: 'quote \\" [[[[' }), 1), false);
  assert.equal(nestedDeeperThan("[".repeat(65) + "]".repeat(65), 64), true);
  assert.equal(nestedDeeperThan("[".repeat(64) + "]".repeat(64), 64), false);
});

// The CLI tables are checked against fixed admin API answers holding names a real gateway got from upstreams and
// agents (bidi overrides, zero-width spaces): what is under test is how the CLI shows them.
let fakeAdminApi: Server;
let endpoint: string;
const approval: ApprovalObject = {
  id: "apr_1", status: "pending", grant: "agent", server: "bank", tool: "pay\u202Elortnoc", arguments: { to: "ACME\u202E" }, reason: "every call\u200B",
  policy: "treasury", policyVersion: 3, createdAt: "2026-01-01T00:00:00.000Z", expiresAt: "2026-01-01T00:30:00.000Z", decidedAt: null, decidedBy: null, decisionReason: null, consumedAt: null,
};
const tool = { name: "delete\u202Eall", category: "destructive", severity: "high", evidence: ["name says \u2066delete\u2069"], changed: false } as unknown as CatalogTool;

before(async () => {
  fakeAdminApi = createServer((req, res) => {
    const body = req.url?.startsWith("/v1/approvals/apr_1") ? approval : req.url?.startsWith("/v1/approvals") ? { items: [approval], nextCursor: null } : { server: "bank", items: [tool] };
    res.writeHead(200, { "content-type": "application/json" }).end(JSON.stringify(body));
  });
  await new Promise<void>((r) => fakeAdminApi.listen(0, "127.0.0.1", r));
  endpoint = `http://127.0.0.1:${(fakeAdminApi.address() as AddressInfo).port}`;
});
after(() => fakeAdminApi.close());

async function run(command: typeof approvalsCommand, argv: string[]): Promise<string> {
  let out = "";
  assert.equal(await command([...argv, "--endpoint", endpoint, "--token", "tga_display_test_token"], { stdout: (t) => (out += t), stderr: () => {} }), 0);
  return out;
}

test("CLI tables and JSON show bidi and invisible characters escaped", async () => {
  const list = await run(approvalsCommand, ["list"]);
  assert.match(list, /^apr_1 +pending +agent +bank +pay\\u\{202E\}lortnoc +2026-01-01T00:30:00.000Z +every call\\u\{200B\}$/m);
  const shown = await run(approvalsCommand, ["show", "apr_1"]);
  assert.ok(shown.includes("call:       pay\\u{202E}lortnoc on server bank, grant agent"));
  assert.ok(shown.includes('"to": "ACME\\u202e"'));
  const json = await run(approvalsCommand, ["list", "--json"]);
  assert.deepEqual(JSON.parse(json), [approval]);
  const tools = await run(toolsCommand, ["bank"]);
  assert.match(tools, /^delete\\u\{202E\}all +destructive +high +name says \\u\{2066\}delete\\u\{2069\}$/m);
  for (const out of [list, shown, json, tools]) assert.ok(!/[\u202E\u200B\u2066\u2069]/.test(out), out);
});
