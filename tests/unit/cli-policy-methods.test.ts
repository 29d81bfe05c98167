import { test } from "node:test";
import assert from "node:assert/strict";
import { mkdtempSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { explainCommand } from "../../gateway/cli/policy-explain.ts";

const dir = mkdtempSync(join(tmpdir(), "toolgate-explain-"));
const file = join(dir, "docs.yaml");
writeFileSync(file, [
  'version: "1"',
  "default: deny",
  "client_roots: deny",
  "resources:",
  "  default: deny",
  '  allow: [{ uri_regex: "^file:///srv/docs/" }]',
  '  deny_if: [{ uri_regex: "\\\\.env$", on_deny: "No env files." }]',
  "",
].join("\n"));

async function explain(argv: string[]): Promise<string> {
  let out = "";
  const code = await explainCommand([file, ...argv], { stdout: (t) => (out += t), stderr: () => {} });
  assert.equal(code, 0);
  return out;
}

test("policy explain --method explains a resources/read with the rules it walked", async () => {
  assert.equal(await explain(["--method", "resources/read", "--params", '{"uri":"file:///srv/docs/.env"}']), [
    "decision: DENY",
    "rule: /resources/deny_if/0",
    "message: No env files.",
    "request: resources/read",
    "rules walked:",
    "  pass     /resources  the URI is in normal form",
    '  deny     /resources/deny_if/0  the URI matches "\\\\.env$"',
    "",
  ].join("\n"));
  assert.match(await explain(["--method", "resources/read", "--params", '{"uri":"file:///srv/docs/a.md"}']), /^decision: ALLOW\n/);
  assert.match(await explain(["--method", "prompts/get", "--params", '{"name":"x"}']), /^decision: ALLOW\nrequest: prompts\/get\nrules walked:\n {2}pass {5}\(allowed\) {2}the policy has no prompts section: allowed\n$/);
});

test("policy explain --method roots/list states the policy's client_roots", async () => {
  assert.equal(await explain(["--method", "roots/list"]), "client roots: not relayed: servers never see the agent's roots (client_roots: deny)\n");
});

test("policy explain refuses --tool together with --method, and bad --params", async () => {
  await assert.rejects(explainCommand([file, "--tool", "x", "--method", "prompts/get"], { stdout: () => {}, stderr: () => {} }), /explain takes --tool \(a tools\/call\) or --method, not both/);
  await assert.rejects(explainCommand([file, "--method", "prompts/get", "--params", "{name:1}"], { stdout: () => {}, stderr: () => {} }), /--params must be JSON/);
});
