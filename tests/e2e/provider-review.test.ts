import { test, before, after } from "node:test";
import assert from "node:assert/strict";
import { execFileSync } from "node:child_process";
import { mkdirSync, mkdtempSync, readdirSync, rmSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { startGateway, type TestGateway } from "../helpers/gateway.ts";
import { freePort } from "../helpers/free-port.ts";
import { projectAt, type PulumiProject, type PulumiResult } from "../helpers/pulumi.ts";
import { ROOT } from "../helpers/cli.ts";

/**
 * What a reviewer reads in `pulumi preview` (issue 16), through the real Pulumi CLI against a real gateway: a program
 * with a server whose key is a secret, a policy from a YAML file and a grant. The tests run in order and share the
 * stack. The last test is a separate project as `pulumi new typescript` makes it, which installs the packed package.
 */

const URL_A = "https://mcp.example.com/mcp";
const URL_B = "https://elsewhere.example.net/mcp";
const KEY_1 = "upstream-key-review-1f0c";
const KEY_2 = "upstream-key-review-2b7e";

const PROGRAM = `import * as pulumi from "@pulumi/pulumi";
import { Grant, McpServer, Policy, getServerTools } from "toolgate";

const config = new pulumi.Config();
const upstream = new McpServer("upstream", {
  transport: { type: "streamable-http", url: config.require("upstreamUrl"), headers: { Authorization: pulumi.interpolate\`Bearer \${config.requireSecret("upstreamKey")}\` } },
});
const agent = new Policy("agent", { document: Policy.fromFile("policies/agent.yaml") });
new Grant("agent", { server: upstream, policy: agent, expiresAt: config.get("expiresAt") });
export const tools = config.getBoolean("readCatalog") ? getServerTools({ server: upstream.name }).apply((ts) => ts.map((t) => t.name)) : "not read";
`;

const POLICY = `version: "1"
default: deny
tools:
  echo:
    deny_if:
      - { path: args.message, op: regex, value: "^rm " }
`;

let gateway: TestGateway;
let project: PulumiProject;
let scratch: string;

before(async () => {
  gateway = await startGateway();
  mkdirSync(join(ROOT, ".toolgate", "e2e"), { recursive: true });
  scratch = mkdtempSync(join(ROOT, ".toolgate", "e2e", "provider-review-"));
  const dir = join(scratch, "program");
  mkdirSync(join(dir, "policies"), { recursive: true });
  writeFileSync(join(dir, "Pulumi.yaml"), "name: toolgate-review\nmain: index.ts\nruntime:\n  name: nodejs\n  options:\n    typescript: false\n");
  writeFileSync(join(dir, "index.ts"), PROGRAM);
  writeFileSync(join(dir, "policies", "agent.yaml"), POLICY);
  mkdirSync(join(scratch, "state"));
  project = projectAt(dir, join(scratch, "state"));
  await project.ok(["stack", "init", "dev"]);
  await project.ok(["config", "set", "toolgate:endpoint", gateway.adminUrl]);
  await project.ok(["config", "set", "--secret", "toolgate:token", gateway.adminToken]);
  await project.ok(["config", "set", "upstreamUrl", URL_A]);
  await project.ok(["config", "set", "--secret", "upstreamKey", KEY_1]);
  await project.ok(["up", "--yes"]);
});

after(async () => {
  await gateway?.stop();
  if (gateway) rmSync(gateway.dataDir, { recursive: true, force: true });
  if (scratch) rmSync(scratch, { recursive: true, force: true });
});

const output = (r: PulumiResult) => r.stdout + r.stderr;
const writePolicy = (text: string) => writeFileSync(join(project.dir, "policies", "agent.yaml"), text);

test("a policy change is summarized in preview: LOOSER as a warning on the Policy, a rule inserted in front as one rule added", async () => {
  writePolicy(`version: "1"
default: deny
tools:
  echo:
    deny_if:
      - { path: args.message, op: regex, value: "^curl " }
      - { path: args.message, op: regex, value: "^rm " }
  get-sum: {}
`);
  try {
    const preview = await project.ok(["preview"]);
    assert.match(preview, /pulumi-nodejs:dynamic\/toolgate:Policy \(agent\):\n(?: {4}.*\n)*? {4}warning: Policy "agent": LOOSER \/tools\/get-sum: "get-sum" is now allowed \(subject to its rules\); it was denied\n/);
    assert.match(preview, /\n\s+Policy "agent": stricter \/tools\/echo\/deny_if\/args\.message-regex: deny_if added: calls are now denied when args\.message regex "\^curl "\n/);
    assert.doesNotMatch(preview, /deny_if changed/);
    assert.match(preview, /~ 1 to update/);
    const diff = await project.run(["preview", "--diff"]);
    assert.equal(diff.code, 0, output(diff));
    assert.match(output(diff), /warning: Policy "agent": LOOSER \/tools\/get-sum: /);
  } finally {
    writePolicy(POLICY);
  }
});

test("a URL changed outside Pulumi: plain preview does not see it; preview --refresh shows the URL, not [secret]; up --refresh writes it back", async () => {
  const live = (await gateway.admin.get<{ transport: { url: string }; owner: string }>("servers", "upstream"))!;
  await gateway.admin.put(
    "servers",
    "upstream",
    { name: "upstream", transport: { type: "streamable-http", url: URL_B, headers: { Authorization: `Bearer ${KEY_1}` } }, owner: live.value.owner },
    { ifMatch: live.etag },
  );
  const plain = await project.run(["preview", "--expect-no-changes"]);
  assert.equal(plain.code, 0, `plain preview compares with the state only:\n${output(plain)}`);

  const drift = await project.run(["preview", "--refresh", "--diff", "--expect-no-changes"]);
  assert.notEqual(drift.code, 0, "drift fails the check");
  assert.match(output(drift), new RegExp(`url\\s*:\\s*"${URL_B.replaceAll(".", "\\.")}" => "${URL_A.replaceAll(".", "\\.")}"`));
  assert.doesNotMatch(output(drift), /transport\s*:\s*\[secret\]/);
  assert.ok(!output(drift).includes(KEY_1), "the key is not shown");

  await project.ok(["up", "--refresh", "--yes"]);
  assert.equal((await gateway.admin.get<{ transport: { url: string } }>("servers", "upstream"))!.value.transport.url, URL_A);
});

test("a changed upstream key shows as a new revision in preview --diff, never as its value", async () => {
  await project.ok(["config", "set", "--secret", "upstreamKey", KEY_2]);
  const diff = await project.ok(["preview", "--diff"]);
  assert.match(diff, /~ credentialRevisions: \{\n\s+~ headers\.Authorization: 1 => 2\n/);
  assert.ok(!diff.includes(KEY_1) && !diff.includes(KEY_2), "neither key is shown");
  await project.ok(["up", "--yes"]);
  const again = await project.run(["preview", "--expect-no-changes"]);
  assert.equal(again.code, 0, output(again));
});

test("a grant's expiresAt: a loose date fails preview on the field; a past time is a warning", async () => {
  try {
    await project.ok(["config", "set", "expiresAt", "June 1, 2031 10:00"]);
    const loose = await project.run(["preview"]);
    assert.notEqual(loose.code, 0);
    assert.match(output(loose), /expiresAt must be an ISO 8601 time like 2027-01-31T00:00:00Z, got "June 1, 2031 10:00"/);

    await project.ok(["config", "set", "expiresAt", "2020-01-31T00:00:00Z"]);
    const past = await project.ok(["preview"]);
    assert.match(past, /pulumi-nodejs:dynamic\/toolgate:Grant \(agent\):\n\s+warning: Grant "agent": expiresAt 2020-01-31T00:00:00\.000Z is in the past: the gateway refuses its token\n/);
  } finally {
    await project.ok(["config", "rm", "expiresAt"]);
  }
});

test("a YAML error in a policy file fails preview as a problem of the Policy's document, with file:line:col and no stack trace", async () => {
  writePolicy(`version: "1"
default: deny
tools:
  echo: {}
  echo: {}
`);
  try {
    const preview = await project.run(["preview"]);
    assert.notEqual(preview.code, 0);
    assert.match(output(preview), /error: pulumi-nodejs:dynamic\/toolgate:Policy resource 'agent' has a problem: document: policies\/agent\.yaml:5:3: Map keys must be unique\n/);
    assert.doesNotMatch(output(preview), /at \w+ \(.*\.[jt]s:\d+|unhandled exception/);
  } finally {
    writePolicy(POLICY);
  }
});

test("getServerTools in a preview that cannot reach the gateway: a warning and unknown tools, and the preview goes on", async () => {
  const closed = await freePort();
  try {
    await project.ok(["config", "set", "readCatalog", "true"]);
    const preview = await project.run(["preview"], { env: { TOOLGATE_ENDPOINT: `http://127.0.0.1:${closed}` } });
    assert.equal(preview.code, 0, output(preview));
    assert.match(output(preview), new RegExp(`warning: getServerTools: the tools of server "upstream" are unknown in this preview: .*could not reach the gateway at http://127\\.0\\.0\\.1:${closed}`));
  } finally {
    await project.ok(["config", "rm", "readCatalog"]);
  }
});

test("a project as `pulumi new typescript` makes it (CommonJS, moduleResolution node, ts-node) installs the packed toolgate and deploys", async () => {
  const root = join(scratch, "commonjs");
  const dir = join(root, "program");
  const installed = join(dir, "node_modules", "toolgate");
  mkdirSync(installed, { recursive: true });
  mkdirSync(join(root, "state"));
  // npm pack, then what `npm install <tarball>` puts in node_modules/toolgate; its dependencies (@pulumi/pulumi,
  // zod, …) resolve from this repository's node_modules above the scratch directory.
  execFileSync("npm", ["pack", "--ignore-scripts", "--silent", "--pack-destination", root], { cwd: ROOT, stdio: ["ignore", "ignore", "inherit"] });
  const tarball = readdirSync(root).find((f) => f.endsWith(".tgz"))!;
  execFileSync("tar", ["xzf", join(root, tarball), "-C", installed, "--strip-components=1"]);
  writeFileSync(join(dir, "Pulumi.yaml"), "name: toolgate-cjs\ndescription: As pulumi new typescript made it\nruntime: nodejs\n");
  writeFileSync(join(dir, "package.json"), JSON.stringify({ name: "toolgate-cjs", main: "index.ts", devDependencies: { "@types/node": "^24", typescript: "^5.0.0" }, dependencies: { "@pulumi/pulumi": "^3.259.0", toolgate: `file:${tarball}` } }, null, 2));
  writeFileSync(
    join(dir, "tsconfig.json"),
    JSON.stringify({ compilerOptions: { strict: true, outDir: "bin", target: "es2020", module: "commonjs", moduleResolution: "node", sourceMap: true, experimentalDecorators: true, pretty: true, noFallthroughCasesInSwitch: true, noImplicitReturns: true, forceConsistentCasingInFileNames: true }, files: ["index.ts"] }, null, 4),
  );
  writeFileSync(
    join(dir, "index.ts"),
    `import * as pulumi from "@pulumi/pulumi";
import { Grant, McpServer, Policy } from "toolgate";
import { parsePolicyText, type PolicyDocumentInput } from "toolgate/sdk";

const config = new pulumi.Config();
const server = new McpServer("cjs-upstream", { transport: { type: "streamable-http", url: config.require("upstreamUrl") } });
const document = parsePolicyText('version: "1"\\ndefault: deny\\ntools: { echo: {} }\\n') as PolicyDocumentInput;
const policy = new Policy("cjs-policy", { document });
const grant = new Grant("cjs-agent", { server, policy });
export const url = grant.url;
`,
  );
  const cjs = projectAt(dir, join(root, "state"));
  // ts-node (which Pulumi runs TypeScript programs with) caches compiled programs across runs; check this one afresh.
  const env = { TS_NODE_CACHE: "false" };
  await cjs.ok(["stack", "init", "dev"], { env });
  await cjs.ok(["config", "set", "toolgate:endpoint", gateway.adminUrl], { env });
  await cjs.ok(["config", "set", "--secret", "toolgate:token", gateway.adminToken], { env });
  await cjs.ok(["config", "set", "upstreamUrl", URL_A], { env });
  const up = await cjs.ok(["up", "--yes"], { env });
  assert.match(up, /\+ 4 created/);
  assert.equal(JSON.parse(await cjs.ok(["stack", "output", "url", "--json"], { env })), `${gateway.proxyUrl}/mcp/cjs-upstream`);
  assert.equal((await gateway.admin.get<{ policy: string }>("grants", "cjs-agent"))!.value.policy, "cjs-policy");
  await cjs.ok(["destroy", "--yes"], { env });
  assert.equal(await gateway.admin.get("policies", "cjs-policy"), undefined);
});
