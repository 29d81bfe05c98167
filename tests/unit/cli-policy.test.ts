import { test } from "node:test";
import assert from "node:assert/strict";
import { mkdtempSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { toolgate } from "../helpers/cli.ts";

const EX = "examples/policies";

test("policy validate: exit 0 and 'valid' for good files (JSON and YAML)", async () => {
  const r = await toolgate(["policy", "validate", `${EX}/payments.json`, `${EX}/filesystem.yaml`]);
  assert.equal(r.code, 0, r.stderr);
  assert.equal(r.stdout, `${EX}/payments.json: valid\n${EX}/filesystem.yaml: valid\n`);
});

test("policy validate: exit 1 with file: /pointer: message for every problem", async () => {
  const r = await toolgate(["policy", "validate", `${EX}/invalid/mistakes.json`, `${EX}/payments.json`]);
  assert.equal(r.code, 1);
  const lines = r.stdout.trimEnd().split("\n");
  const f = `${EX}/invalid/mistakes.json`;
  assert.deepEqual(lines, [
    `${f}: /tools/wire_transfer: warning: rules for "wire_transfer" never apply: the tool is also in hide, which wins`,
    `${f}: /default: default must be "allow" or "deny", got "block"`,
    `${f}: /hide/1: duplicate entry "wire_transfer" (also at /hide/0)`,
    `${f}: /tools/create_charge/deny-if: unknown key "deny-if"; did you mean "deny_if"?`,
    `${f}: /tools/create_charge/limits/0/max: max must be a positive integer, got 0`,
    `${f}: /tools/create_charge/limits/0/scope: scope must be one of "grant", "server", "policy", "global", "user", got "org"`,
    `${f}: /tools/create_charge/limits/0/window: window must be "minute", "hour", "day" or a duration like "30s", "15m", "6h", "2d" (at most 366d), got "week"`,
    `${f}: /tools/create_charge/limits/1/counter: duplicate counter "rate" (also used by /tools/create_charge/limits/0)`,
    `${f}: /tools/create_charge/limits/1/max: max must be a positive integer, got 2.5`,
    `${f}: /tools/create_charge/require/0/op: unknown operator "greater"; expected one of eq, neq, in, not_in, lt, lte, gt, gte, regex, contains, exists`,
    `${f}: /tools/create_charge/require/0/path: path must start with "args." and name an argument, e.g. "args.amount", got "amount"`,
    `${f}: /tools/search/deny_if/0/value: invalid regex "([a-z" (RE2 syntax): missing closing ]: \`[a-z\``,
    `${f}: /tools/search/deny_if/1/value: operator "gt" requires a numeric value, got "100"`,
    `${f}: /tools/search/deny_if/2/value: operator "in" requires a list value, got "eu"`,
    `${f}: /version: version must be "1", got 1`,
    `${EX}/payments.json: valid`,
  ]);
});

test("policy validate: YAML syntax errors name the line and column; a missing file is reported, not thrown", async () => {
  const r = await toolgate(["policy", "validate", `${EX}/invalid/broken.yaml`, "does-not-exist.json"]);
  assert.equal(r.code, 1);
  assert.equal(r.stdout, `${EX}/invalid/broken.yaml:5:3: Map keys must be unique\ndoes-not-exist.json: cannot read file (ENOENT)\n`);
  assert.equal(r.stderr, "");
});

test("policy explain prints the decision and the rules it walked", async () => {
  const r = await toolgate(["policy", "explain", `${EX}/payments.json`, "--tool", "create_charge", "--args", '{"amount":20000,"currency":"usd","reason":"x"}']);
  assert.equal(r.code, 0, r.stderr);
  assert.equal(r.stdout, [
    "decision: DENY",
    "rule: /tools/create_charge/deny_if/args.amount-gt",
    "message: [POLICY DENIED] Charges over 100.00 need finance.",
    "rules walked:",
    '  pass     (hidden)  "create_charge" is not hidden',
    '  pass     (default deny)  "create_charge" is listed under tools',
    "  pass     /tools/create_charge/require/args.reason-exists  holds: args.reason exists",
    "  deny     /tools/create_charge/deny_if/args.amount-gt  args.amount gt 10000",
    "",
  ].join("\n"));
});

test("policy explain rejects bad --args JSON with a clear message", async () => {
  const r = await toolgate(["policy", "explain", `${EX}/payments.json`, "--tool", "search", "--args", "{amount:1}"]);
  assert.equal(r.code, 1);
  assert.match(r.stderr, /^toolgate policy: --args must be JSON: /);
});

test("policy test passes the example cases and prints the summary", async () => {
  const r = await toolgate(["policy", "test", `${EX}/payments.json`, `${EX}/payments.cases.yaml`]);
  assert.equal(r.code, 0, r.stdout + r.stderr);
  assert.match(r.stdout, /^PASS {2}the 31st charge in a minute: deny, rule \/tools\/create_charge\/limits\/create_charge_rate$/m);
  assert.ok(r.stdout.endsWith("9 passed, 0 failed\n"));
});

test("policy test exits 1 and explains a failing case", async () => {
  const dir = mkdtempSync(join(tmpdir(), "toolgate-cases-"));
  const cases = join(dir, "cases.json");
  writeFileSync(cases, JSON.stringify([
    { tool: "search", expect: "allow" },
    { name: "wrong expectation", tool: "create_charge", args: { amount: 5, currency: "usd" }, expect: "allow" },
    { tool: "delete_account", expect: "deny", rule: "(default deny)" },
  ]));
  const r = await toolgate(["policy", "test", `${EX}/payments.json`, cases]);
  assert.equal(r.code, 1);
  assert.equal(r.stdout, [
    "PASS  #1 search: allow",
    'FAIL  wrong expectation: expected allow, got deny (rule "/tools/create_charge/require/args.reason-exists": Call to "create_charge" requires args.reason exists)',
    'FAIL  #3 delete_account: expected deny (rule "(default deny)"), got deny (rule "(hidden)": Tool "delete_account" is hidden by policy)',
    "1 passed, 2 failed",
    "",
  ].join("\n"));
});

test("policy test rejects a malformed cases file with paths", async () => {
  const dir = mkdtempSync(join(tmpdir(), "toolgate-cases-"));
  const cases = join(dir, "cases.yaml");
  writeFileSync(cases, "- tool: search\n  expect: maybe\n");
  const r = await toolgate(["policy", "test", `${EX}/payments.json`, cases]);
  assert.equal(r.code, 1);
  assert.equal(r.stderr, `toolgate policy: ${cases} is not a valid cases file:\n  ${cases}: /0/expect: expect must be "allow", "deny" or "approval", got "maybe"\n`);
});

test("policy diff marks each change stricter or LOOSER; --fail-on-looser exits 2", async () => {
  const args = ["policy", "diff", `${EX}/payments.json`, `${EX}/payments-loosened.json`];
  const r = await toolgate(args);
  assert.equal(r.code, 0);
  assert.equal(r.stdout, [
    "LOOSER   /all_tools/limits/calls: max raised from 120 to 240 per minute",
    "stricter /tools/create_charge/deny_if/args.amount-gt: deny_if changed: args.amount gt 10000 → args.amount gt 5000",
    'LOOSER   /tools/create_charge/deny_if/args.currency-not_in: deny_if removed: calls are no longer denied when args.currency not_in ["usd","eur"]',
    "stricter /tools/create_charge/limits/create_charge_rate: scope changed from grant to server",
    'LOOSER   /hide: "delete_account" is no longer hidden (now allowed, subject to its rules)',
    "",
  ].join("\n"));
  assert.equal((await toolgate([...args, "--fail-on-looser"])).code, 2);
  assert.equal((await toolgate(["policy", "diff", `${EX}/payments.json`, `${EX}/payments.json`, "--fail-on-looser"])).code, 0);
});

test("policy diff --format markdown and json", async () => {
  const md = await toolgate(["policy", "diff", `${EX}/payments.json`, `${EX}/payments-loosened.json`, "--format", "markdown"]);
  assert.match(md.stdout, /^### Policy diff: `examples\/policies\/payments.json` → `examples\/policies\/payments-loosened.json`\n\n\*\*3 changes make the policy LOOSER.\*\* Review before merging.\n\n\| \| rule \| change \|\n\|---\|---\|---\|\n\| \*\*LOOSER\*\* \| `\/all_tools\/limits\/calls` \|/);
  const json = JSON.parse((await toolgate(["policy", "diff", `${EX}/payments.json`, `${EX}/payments-loosened.json`, "--format", "json"])).stdout);
  assert.deepEqual([json.looser, json.stricter, json.changes.length], [3, 2, 5]);
  const bad = await toolgate(["policy", "diff", `${EX}/payments.json`, `${EX}/payments.json`, "--format", "html"]);
  assert.deepEqual([bad.code, bad.stderr], [1, 'toolgate policy: --format must be text, markdown or json, got "html"\n']);
});

test("unknown commands and options exit 2 with usage", async () => {
  const r = await toolgate(["polcy"]);
  assert.equal(r.code, 2);
  assert.match(r.stderr, /^toolgate: unknown command "polcy"/);
  const o = await toolgate(["policy", "validate", "--strict", "x.json"]);
  assert.equal(o.code, 2);
  assert.match(o.stderr, /Unknown option '--strict'/);
});
