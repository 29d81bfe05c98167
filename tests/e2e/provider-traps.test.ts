import { test, before, after } from "node:test";
import assert from "node:assert/strict";
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { startEverythingHttp, type EverythingHttp } from "../fixtures/everything-http.ts";
import { ROOT } from "../helpers/cli.ts";
import { freePort } from "../helpers/free-port.ts";
import { startGateway, type TestGateway } from "../helpers/gateway.ts";
import { connect, text } from "../helpers/mcp-client.ts";
import { projectAt, type PulumiProject, type PulumiResult } from "../helpers/pulumi.ts";

/**
 * Traps where the provider could lose data or fight the user (issue 16), through the real Pulumi CLI against a real
 * gateway: renaming a resource without an alias, two stacks adopting the same objects, rotating the admin token,
 * and a grant naming its policy as a string. The tests run in order and build on each other.
 */

const PROJECT = "toolgate-traps";
const PROGRAM = `import * as pulumi from "@pulumi/pulumi";
import { Grant, McpServer, Policy } from "toolgate";

const config = new pulumi.Config();
const adopt = config.getBoolean("adopt");
const upstream = new McpServer("everything", {
  transport: { type: "streamable-http", url: config.require("upstreamUrl"), headers: { Authorization: pulumi.interpolate\`Bearer \${config.requireSecret("upstreamKey")}\` } },
  adopt,
});
// The policy's logical name comes from config so that a test can rename the resource (its gateway name stays).
const renamedFrom = config.get("policyRenamedFrom");
const policy = new Policy(
  config.get("policyResource") ?? "support",
  { name: "support", document: { version: "1", default: "deny", tools: { echo: {} } }, adopt },
  { aliases: renamedFrom ? [{ name: renamedFrom }] : [] },
);
const agent = new Grant("agent", { server: upstream, policy, adopt });
export const token = agent.token;
`;

const BY_NAME_PROGRAM = `import * as pulumi from "@pulumi/pulumi";
import { Grant, McpServer, Policy } from "toolgate";

const config = new pulumi.Config();
// Declared first, naming its server and policy as strings; the policy also waits for the server.
const agent = new Grant("names-agent", { server: "names-upstream", policy: "names-policy" });
const upstream = new McpServer("names-upstream", { transport: { type: "streamable-http", url: config.require("upstreamUrl") } });
new Policy("names-policy", { document: { version: "1", default: "deny", tools: { echo: {} } } }, { dependsOn: [upstream] });
export const token = agent.token;
`;

const urn = (stack: string, type: string, name: string) => `urn:pulumi:${stack}::${PROJECT}::pulumi-nodejs:dynamic/toolgate:${type}::${name}`;

let upstream: EverythingHttp;
let gateway: TestGateway;
let adminPort: number;
let project: PulumiProject;
let byName: PulumiProject;

/** A Pulumi project of one program file in a scratch directory inside the repository, so `toolgate` resolves to this package. */
function programProject(name: string, program: string): PulumiProject {
  const scratch = join(ROOT, ".toolgate", "e2e");
  mkdirSync(scratch, { recursive: true });
  const root = mkdtempSync(join(scratch, `${name}-`));
  const dir = join(root, "program");
  const state = join(root, "state");
  mkdirSync(dir);
  mkdirSync(state);
  writeFileSync(join(dir, "Pulumi.yaml"), `name: ${name}\nmain: index.ts\nruntime:\n  name: nodejs\n  options:\n    typescript: false\n`);
  writeFileSync(join(dir, "index.ts"), program);
  return projectAt(dir, state, () => rmSync(root, { recursive: true, force: true }));
}

async function configure(p: PulumiProject, stack: string, settings: Record<string, string>, secrets: Record<string, string> = {}): Promise<void> {
  for (const [key, value] of Object.entries(settings)) await p.ok(["config", "set", key, value, "--stack", stack]);
  for (const [key, value] of Object.entries(secrets)) await p.ok(["config", "set", "--secret", key, value, "--stack", stack]);
}

const output = (r: PulumiResult) => r.stdout + r.stderr;
const tokenOf = async (p: PulumiProject, stack: string) => (JSON.parse(await p.ok(["stack", "output", "--json", "--show-secrets", "--stack", stack])) as { token: string }).token;
const ownerOf = async (kind: "servers" | "policies" | "grants", name: string) => (await gateway.admin.get<{ owner: string }>(kind, name))?.value.owner;

async function echo(token: string): Promise<string> {
  const agent = await connect(gateway.proxyUrl, "everything", token);
  try {
    return text(await agent.callTool({ name: "echo", arguments: { message: "hi" } }));
  } finally {
    await agent.close();
  }
}

before(async () => {
  upstream = await startEverythingHttp();
  adminPort = await freePort();
  gateway = await startGateway({ args: ["--admin-listen", `127.0.0.1:${adminPort}`] });
  project = programProject(PROJECT, PROGRAM);
  byName = programProject("toolgate-names", BY_NAME_PROGRAM);
  await project.ok(["stack", "init", "a"]);
  await configure(project, "a", { "toolgate:endpoint": gateway.adminUrl, upstreamUrl: upstream.url }, { "toolgate:token": gateway.adminToken, upstreamKey: "key-of-a" });
});

after(async () => {
  await gateway?.stop();
  await upstream?.close();
  project?.remove();
  byName?.remove();
});

test("renaming a resource without an alias is refused with the alias to add, and deletes nothing: the grant keeps working", async () => {
  await project.ok(["up", "--yes", "--stack", "a"]);
  const token = await tokenOf(project, "a");
  assert.equal(await echo(token), "Echo: hi");

  await project.ok(["config", "set", "policyResource", "support-policy", "--stack", "a"]);
  const renamed = await project.run(["up", "--yes", "--stack", "a"]);
  assert.notEqual(renamed.code, 0, output(renamed));
  assert.ok(output(renamed).includes(`policy "support" is managed by another resource of this stack, ${urn("a", "Policy", "support")}.`), output(renamed));
  assert.ok(output(renamed).includes(`add { aliases: [{ name: "support" }] } to this resource's options`), output(renamed));

  assert.equal(await ownerOf("policies", "support"), urn("a", "Policy", "support"), "the policy is still there, as it was");
  assert.equal(await echo(token), "Echo: hi");
});

test("with the alias the program asks for, the rename is no change", async () => {
  await project.ok(["config", "set", "policyRenamedFrom", "support", "--stack", "a"]);
  const preview = await project.run(["preview", "--expect-no-changes", "--stack", "a"]);
  assert.equal(preview.code, 0, output(preview));
  const up = await project.ok(["up", "--yes", "--stack", "a"]);
  assert.doesNotMatch(up, /created|deleted|updated|replaced/, up);
  assert.equal(await echo(await tokenOf(project, "a")), "Echo: hi");
});

test("adopt ping-pong is refused: stack B needs adopt, then stack A's up --refresh does not take the objects back and its destroy leaves them", async () => {
  await project.ok(["stack", "init", "b"]);
  await configure(project, "b", { "toolgate:endpoint": gateway.adminUrl, upstreamUrl: upstream.url }, { "toolgate:token": gateway.adminToken, upstreamKey: "key-of-b" });
  const refused = await project.run(["up", "--yes", "--stack", "b"]);
  assert.notEqual(refused.code, 0, output(refused));
  assert.ok(
    output(refused).includes(`server "everything" exists in the gateway and is managed by stack "${PROJECT}/a" (resource ${urn("a", "McpServer", "everything")}). To take it over from this stack, set \`adopt: true\` on the resource`),
    output(refused),
  );
  assert.equal(await ownerOf("servers", "everything"), urn("a", "McpServer", "everything"));

  await project.ok(["config", "set", "adopt", "true", "--stack", "b"]);
  await project.ok(["up", "--yes", "--stack", "b"]);
  const adopted = (await gateway.admin.get<{ owner: string; version: number; credentialsDigest: string }>("servers", "everything"))!.value;
  assert.equal(adopted.owner, urn("b", "McpServer", "everything"));

  const takeBack = await project.run(["up", "--refresh", "--yes", "--stack", "a"]);
  assert.notEqual(takeBack.code, 0, output(takeBack));
  assert.ok(output(takeBack).includes(`server "everything" exists in the gateway and is managed by stack "${PROJECT}/b" (resource ${urn("b", "McpServer", "everything")})`), output(takeBack));
  const after = (await gateway.admin.get<{ owner: string; version: number; credentialsDigest: string }>("servers", "everything"))!.value;
  assert.deepEqual([after.owner, after.version, after.credentialsDigest], [adopted.owner, adopted.version, adopted.credentialsDigest], "B's server and upstream credentials are untouched");

  const destroy = await project.run(["destroy", "--yes", "--stack", "a"]);
  assert.equal(destroy.code, 0, output(destroy));
  assert.ok(output(destroy).includes(`not deleting server "everything": it is managed by stack "${PROJECT}/b"`), output(destroy));
  assert.equal(await ownerOf("servers", "everything"), urn("b", "McpServer", "everything"));
  assert.equal(await ownerOf("policies", "support"), urn("b", "Policy", "support"));
  assert.equal(await ownerOf("grants", "agent"), urn("b", "Grant", "agent"));
});

test("admin token rotation: refresh and destroy work with the new token from TOOLGATE_TOKEN; the stale stored one gets a 401 that says where it came from", async () => {
  const old = gateway.adminToken;
  await gateway.stop();
  const rotated = "tga_rotated_" + "0123456789abcdef".repeat(2);
  gateway = await startGateway({ dataDir: gateway.dataDir, adminToken: rotated, args: ["--admin-listen", `127.0.0.1:${adminPort}`] });
  await project.ok(["config", "set", "--secret", "toolgate:token", rotated, "--stack", "b"]);

  const stale = await project.run(["refresh", "--yes", "--stack", "b"]);
  assert.notEqual(stale.code, 0, output(stale));
  assert.ok(output(stale).includes("The admin token came from stack config toolgate:token as Pulumi passed it to the provider; refresh, destroy and the refresh of --refresh get the value saved in the state"), output(stale));
  assert.ok(!output(stale).includes(rotated) && !output(stale).includes(old), "no admin token in the output");

  const fresh = await project.run(["refresh", "--yes", "--stack", "b"], { env: { TOOLGATE_TOKEN: rotated } });
  assert.equal(fresh.code, 0, output(fresh));
  const runProgram = await project.run(["refresh", "--run-program", "--yes", "--stack", "b"]);
  assert.equal(runProgram.code, 0, output(runProgram));

  await project.ok(["destroy", "--yes", "--stack", "b"], { env: { TOOLGATE_TOKEN: rotated } });
  for (const kind of ["servers", "policies", "grants"] as const) assert.deepEqual((await gateway.admin.list(kind)).items, [], kind);
});

test("a grant naming its server and policy as strings waits for the resources of the same program that have those names", async () => {
  await byName.ok(["stack", "init", "names"]);
  await configure(byName, "names", { "toolgate:endpoint": gateway.adminUrl, upstreamUrl: upstream.url }, { "toolgate:token": gateway.adminToken });
  const up = await byName.run(["up", "--yes", "--stack", "names"]);
  assert.equal(up.code, 0, output(up));
  assert.ok(output(up).includes('Grant "names-agent": policy "names-policy" is the Policy of this program; the grant waits for it.'), output(up));
  const agent = await connect(gateway.proxyUrl, "names-upstream", await tokenOf(byName, "names"));
  try {
    assert.equal(text(await agent.callTool({ name: "echo", arguments: { message: "hi" } })), "Echo: hi");
  } finally {
    await agent.close();
  }
  await byName.ok(["destroy", "--yes", "--stack", "names"]);
});
