import { test, before, after } from "node:test";
import assert from "node:assert/strict";
import { readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { startEverythingHttp, type EverythingHttp } from "../fixtures/everything-http.ts";
import { startGateway, type TestGateway } from "../helpers/gateway.ts";
import { connect, rawPost, text } from "../helpers/mcp-client.ts";
import { copyProject, type PulumiProject } from "../helpers/pulumi.ts";

/**
 * examples/multi-env through the real Pulumi CLI against real gateways: one gateway per stack (dev, staging, prod),
 * server-everything as the upstream. The tests run in order and build on each other, as a team's week would.
 */

const STACKS = ["dev", "staging", "prod"] as const;
type Stack = (typeof STACKS)[number];
const UPSTREAM_KEY = "upstream-key-e2e-5d1c";

let upstream: EverythingHttp;
const gateways = {} as Record<Stack, TestGateway>;
let project: PulumiProject;

before(async () => {
  upstream = await startEverythingHttp();
  for (const stack of STACKS) gateways[stack] = await startGateway();
  project = copyProject("multi-env");
  for (const stack of STACKS) {
    await project.ok(["stack", "init", stack]);
    await project.ok(["config", "set", "toolgate:endpoint", gateways[stack].adminUrl, "--stack", stack]);
    await project.ok(["config", "set", "--secret", "toolgate:token", gateways[stack].adminToken, "--stack", stack]);
    await project.ok(["config", "set", "upstreamUrl", upstream.url, "--stack", stack]);
  }
  await project.ok(["config", "set", "--secret", "upstreamToken", UPSTREAM_KEY, "--stack", "dev"]);
});

after(async () => {
  for (const stack of STACKS) await gateways[stack]?.stop();
  await upstream?.close();
  project?.remove();
});

const outputs = async (stack: Stack) => JSON.parse(await project.ok(["stack", "output", "--json", "--show-secrets", "--stack", stack])) as { mcpUrl: string; agentToken: string; auditorToken: string };
const policyFile = (name: string) => join(project.dir, "policies", name);

test("pulumi up creates everything, and calls through the gateway behave as the policy says", async () => {
  const up = await project.ok(["up", "--yes", "--stack", "dev"]);
  assert.match(up, /\+ 6 created/);
  const { mcpUrl, agentToken } = await outputs("dev");
  assert.equal(mcpUrl, `${gateways.dev.proxyUrl}/mcp/everything`);
  const agent = await connect(gateways.dev.proxyUrl, "everything", agentToken);
  try {
    assert.equal(text(await agent.callTool({ name: "echo", arguments: { message: "hi" } })), "Echo: hi");
    assert.equal(text(await agent.callTool({ name: "get-sum", arguments: { a: 2, b: 3 } })), "The sum of 2 and 3 is 5.");
    const denied = await agent.callTool({ name: "get-sum", arguments: { a: 5000, b: 1 } });
    assert.equal(text(denied), "[POLICY DENIED] Numbers above 1000 need a human.");
    assert.match(text(await agent.callTool({ name: "get-tiny-image", arguments: {} })), /^\[POLICY DENIED\] /);
  } finally {
    await agent.close();
  }
  assert.ok(upstream.requests.some((h) => h.authorization === `Bearer ${UPSTREAM_KEY}`), "the secret header reaches the upstream");
});

test("a second up with no change reports no changes", async () => {
  const preview = await project.run(["preview", "--expect-no-changes", "--stack", "dev"]);
  assert.equal(preview.code, 0, preview.stdout + preview.stderr);
  const up = await project.ok(["up", "--yes", "--stack", "dev"]);
  assert.match(up, /6 unchanged/);
  assert.doesNotMatch(up, /updated|created|deleted|replaced/);
});

test("editing one policy shows exactly that change in preview --diff; up applies it and the next call sees it", async () => {
  const original = readFileSync(policyFile("agent.yaml"), "utf8");
  writeFileSync(policyFile("agent.yaml"), original.replace("value: 1000", "value: 100").replace("Numbers above 1000 need a human.", "Sums over 100 need a human."));
  const preview = await project.ok(["preview", "--diff", "--stack", "dev"]);
  const changed = preview.split("\n").filter((l) => /^\s*[~+-]{1,2}\s+pulumi-nodejs:dynamic/.test(l));
  assert.equal(changed.length, 1, preview);
  assert.match(changed[0]!, /~ .*toolgate:Policy/);
  assert.match(preview, /agent/);
  assert.match(preview, /Sums over 100 need a human\./);
  assert.match(preview, /1 to update/);

  await project.ok(["up", "--yes", "--stack", "dev"]);
  const agent = await connect(gateways.dev.proxyUrl, "everything", (await outputs("dev")).agentToken);
  try {
    assert.equal(text(await agent.callTool({ name: "get-sum", arguments: { a: 500, b: 1 } })), "[POLICY DENIED] Sums over 100 need a human.");
    assert.equal(text(await agent.callTool({ name: "get-sum", arguments: { a: 50, b: 1 } })), "The sum of 50 and 1 is 51.");
  } finally {
    await agent.close();
  }
});

test("an out-of-band admin API edit is caught by preview --refresh --expect-no-changes and repaired by up --refresh", async () => {
  const live = await gateways.dev.admin.get<{ document: unknown; owner: string }>("policies", "auditor");
  await gateways.dev.admin.put("policies", "auditor", { document: { version: "1", default: "allow" }, owner: live!.value.owner }, { ifMatch: live!.etag });
  const drift = await project.run(["preview", "--refresh", "--expect-no-changes", "--stack", "dev"]);
  assert.notEqual(drift.code, 0, "drift makes the check fail");
  assert.match(drift.stdout + drift.stderr, /auditor/);
  await project.ok(["up", "--refresh", "--yes", "--stack", "dev"]);
  assert.deepEqual((await gateways.dev.admin.get<{ document: unknown }>("policies", "auditor"))!.value.document, live!.value.document);
  const clean = await project.run(["preview", "--refresh", "--expect-no-changes", "--stack", "dev"]);
  assert.equal(clean.code, 0, clean.stdout + clean.stderr);
});

test("an invalid policy fails preview with the field path in the message", async () => {
  const original = readFileSync(policyFile("auditor.json"), "utf8");
  writeFileSync(policyFile("auditor.json"), JSON.stringify({ version: "1", default: "deny", tools: { echo: { limits: [{ counter: "c", window: "fortnight", max: 1 }] } } }));
  try {
    const preview = await project.run(["preview", "--stack", "dev"]);
    assert.notEqual(preview.code, 0);
    assert.match(preview.stdout + preview.stderr, /document\.tools\.echo\.limits\[0\]\.window/);
    assert.doesNotMatch(preview.stdout + preview.stderr, /at \w+ \(.*\.js:\d+/, "no stack trace");
  } finally {
    writeFileSync(policyFile("auditor.json"), original);
  }
});

test("pulumi stack export holds no token or credential in plain text", async () => {
  const { agentToken, auditorToken } = await outputs("dev");
  const exported = await project.ok(["stack", "export", "--stack", "dev"]);
  for (const secret of [agentToken, auditorToken, UPSTREAM_KEY, gateways.dev.adminToken]) {
    assert.ok(!exported.includes(secret), `a secret (${secret.slice(0, 6)}…) is in the state in plain text`);
  }
  assert.match(exported, /"ciphertext"/);
});

test("grant rotation issues a new token and the old one stops working", async () => {
  const before = (await outputs("dev")).agentToken;
  await project.ok(["config", "set", "agentTokenRotation", "2026-11-25", "--stack", "dev"]);
  await project.ok(["up", "--yes", "--stack", "dev"]);
  const after = (await outputs("dev")).agentToken;
  assert.notEqual(after, before);
  const old = await rawPost(`${gateways.dev.proxyUrl}/mcp/everything`, { jsonrpc: "2.0", id: 1, method: "ping" }, { authorization: `Bearer ${before}` });
  assert.equal(old.status, 401, "the old token stops working");
  const agent = await connect(gateways.dev.proxyUrl, "everything", after);
  assert.equal(text(await agent.callTool({ name: "echo", arguments: { message: "new" } })), "Echo: new");
  await agent.close();
});

test("the three stacks deploy side by side, each to its own gateway, prod with stricter limits", async () => {
  await project.ok(["up", "--yes", "--stack", "staging"]);
  await project.ok(["up", "--yes", "--stack", "prod"]);
  const limitsOf = async (stack: Stack) =>
    (await gateways[stack].admin.get<{ document: { all_tools: { limits: { max: number }[] } }; owner: string }>("policies", "agent"))!.value;
  assert.deepEqual((await limitsOf("staging")).document.all_tools.limits.map((l) => l.max), [600]);
  assert.deepEqual((await limitsOf("prod")).document.all_tools.limits.map((l) => l.max), [60, 5000]);
  assert.equal((await limitsOf("prod")).owner, "urn:pulumi:prod::toolgate-multi-env::pulumi-nodejs:dynamic/toolgate:Policy::agent");
  assert.equal((await limitsOf("dev")).owner, "urn:pulumi:dev::toolgate-multi-env::pulumi-nodejs:dynamic/toolgate:Policy::agent");
  const prodAgent = await connect(gateways.prod.proxyUrl, "everything", (await outputs("prod")).agentToken);
  assert.equal(text(await prodAgent.callTool({ name: "echo", arguments: { message: "prod" } })), "Echo: prod");
  await prodAgent.close();
});

test("pulumi destroy leaves each gateway empty", async () => {
  for (const stack of STACKS) {
    await project.ok(["destroy", "--yes", "--stack", stack]);
    for (const kind of ["servers", "policies", "grants"] as const) {
      const page = await gateways[stack].admin.list(kind);
      assert.deepEqual(page.items, [], `${stack} still has ${kind}`);
    }
  }
});
