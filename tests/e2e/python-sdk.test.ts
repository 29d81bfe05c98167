/**
 * The generated Python SDK (sdks/python, `pulumi_toolgate`), pip installed from the checked-in package:
 * - examples/python end to end: the real Pulumi CLI runs it (Python language host: scripts/pulumi-language-python.mjs)
 *   with the native provider plugin against a real gateway: up, the objects in the gateway, outputs, destroy;
 * - under Pulumi's mocked engine (tests/fixtures/pulumi-python/register.py): exactly what the SDK sends the engine
 *   (type tokens, input names, secret inputs, the outputs each resource asks to keep secret), for the example and
 *   a program using the rest of its surface (explicit provider, stdio transport, roots, webhook).
 * Run `npm run build` first (the plugin runs dist/).
 */
import { after, before, describe, test } from "node:test";
import assert from "node:assert/strict";
import { execFile } from "node:child_process";
import { mkdtempSync, rmSync, symlinkSync } from "node:fs";
import { tmpdir } from "node:os";
import { dirname, join } from "node:path";
import { promisify } from "node:util";
import { pythonVenv } from "../helpers/upstreams.ts";
import { startGateway, type TestGateway } from "../helpers/gateway.ts";
import { copyNativeProject } from "../helpers/pulumi-native.ts";
import type { PulumiProject } from "../helpers/pulumi.ts";

const run = promisify(execFile);
const ROOT = new URL("../..", import.meta.url).pathname;
const FIXTURE = join(ROOT, "tests/fixtures/pulumi-python");

interface Registration {
  type: string;
  name: string;
  inputs: Record<string, unknown>;
  additionalSecretOutputs: string[];
}
interface Registered {
  resources: Registration[];
  exports: Record<string, { value: unknown; secret: boolean }>;
}

/** The cached venv's python (pulumi at the CLI's pin) and a directory holding the SDK, pip installed from sdks/python. */
async function installSdk(cleanup: (fn: () => void) => void): Promise<{ python: string; site: string }> {
  const python = await pythonVenv("pulumi-python", FIXTURE, "the Python SDK test");
  const site = mkdtempSync(join(tmpdir(), "toolgate-pysdk-"));
  cleanup(() => rmSync(site, { recursive: true, force: true }));
  // A real install of the checked-in package (its pyproject.toml), not an import from the source tree.
  await run(python, ["-m", "pip", "install", "-q", "--disable-pip-version-check", "--no-deps", "--target", site, join(ROOT, "sdks/python")], { maxBuffer: 16 * 1024 * 1024 });
  return { python, site };
}

async function withSdk(t: { after(fn: () => void): void }): Promise<(program: string, config: object) => Promise<Registered>> {
  const { python, site } = await installSdk((fn) => t.after(fn));
  return async (program, config) => {
    const { stdout } = await run(python, [join(FIXTURE, "register.py"), program, JSON.stringify(config)], { env: { ...process.env, PYTHONPATH: site }, maxBuffer: 16 * 1024 * 1024 });
    return JSON.parse(stdout) as Registered;
  };
}

test("examples/python declares a server, a policy and a grant with the generated SDK", async (t) => {
  const register = await withSdk(t);
  const result = await register(join(ROOT, "examples/python"), {
    project: "toolgate-python",
    values: { upstreamUrl: "http://upstream.test/mcp", upstreamKey: "key-123" },
    secrets: ["upstreamKey"],
  });
  assert.deepEqual(
    result.resources.map((r) => [r.type, r.name]),
    [
      ["toolgate:index:McpServer", "upstream"],
      ["toolgate:index:Policy", "agent"],
      ["toolgate:index:Grant", "agent-grant"],
    ],
  );
  const [server, policy, grant] = result.resources as [Registration, Registration, Registration];
  assert.deepEqual(server.inputs, {
    description: "The team's upstream MCP server",
    transport: { type: "streamable-http", url: "http://upstream.test/mcp", headers: { Authorization: { secret: "Bearer key-123" } } },
  });
  assert.deepEqual(server.additionalSecretOutputs, ["credentials"]);
  assert.deepEqual(Object.keys(policy.inputs), ["document"]);
  assert.deepEqual((policy.inputs.document as { tools: Record<string, unknown> }).tools.echo, { deny_if: [{ path: "args.message", op: "regex", value: "^rm ", on_deny: "No shell commands." }] });
  assert.deepEqual(grant.inputs, { name: "agent", server: "upstream", policy: "agent" }, "the grant names the server and policy through their name outputs");
  assert.deepEqual(grant.additionalSecretOutputs, ["token"], "the SDK asks the engine to keep the grant's token secret");
  assert.deepEqual(result.exports.mcpUrl, { value: "http://gateway.test/mcp/upstream", secret: false });
  assert.equal(result.exports.token?.value, "tg_mock-token");
});

test("the SDK's explicit provider, stdio transport, roots and webhook send the schema's names and secrets", async (t) => {
  const register = await withSdk(t);
  const { resources } = await register(join(FIXTURE, "explicit-provider"), { project: "p", values: {} });
  const byType = Object.fromEntries(resources.map((r) => [r.type, r]));
  assert.deepEqual(Object.keys(byType), ["pulumi:providers:toolgate", "toolgate:index:McpServer", "toolgate:index:Webhook"]);
  // Provider inputs travel as strings; the token is secret.
  assert.deepEqual(byType["pulumi:providers:toolgate"]!.inputs, { endpoint: "http://staging.test:8788", token: { secret: "admin-token-1" }, timeoutMs: "5000" });
  assert.deepEqual(byType["toolgate:index:McpServer"]!.inputs, {
    transport: { type: "stdio", command: "mcp-files", args: ["--root", "/srv"], env: { API_KEY: "k-1" }, user: 1000 },
    roots: [{ uri: "file:///srv", name: "data" }],
    timeoutMs: 60000,
  });
  assert.deepEqual(byType["toolgate:index:Webhook"]!.inputs, { url: "https://hooks.test/toolgate", signingSecret: { secret: "0123456789abcdef0123" }, events: ["approval.requested"] });
  assert.deepEqual(byType["toolgate:index:Webhook"]!.additionalSecretOutputs, ["signingSecret"]);
});

describe("examples/python with the real Pulumi CLI against a real gateway", () => {
  const UPSTREAM_URL = "https://mcp.example.com/mcp";
  const UPSTREAM_KEY = "upstream-key-python-5e1b";
  const cleanups: (() => void)[] = [];
  let gateway: TestGateway;
  let project: PulumiProject;
  let env: NodeJS.ProcessEnv;
  const owned = (type: string, name: string) => `urn:pulumi:dev::toolgate-python::toolgate:index:${type}::${name}`;
  const pulumi = async (args: string[]) => {
    const r = await project.run(args, { env });
    assert.equal(r.code, 0, `pulumi ${args.join(" ")} exited ${r.code}\n${r.stdout}\n${r.stderr}`);
    assert.doesNotMatch(r.stdout + r.stderr, new RegExp(UPSTREAM_KEY), "the upstream key is never printed");
    return r.stdout;
  };

  before(async () => {
    const { python, site } = await installSdk((fn) => cleanups.push(fn));
    gateway = await startGateway();
    project = copyNativeProject("python");
    // The program's virtualenv (Pulumi.yaml: `virtualenv: venv`) is the cached one; the SDK comes on PYTHONPATH.
    symlinkSync(dirname(dirname(python)), join(project.dir, "venv"));
    env = { PYTHONPATH: site };
    await pulumi(["stack", "init", "dev"]);
    await pulumi(["config", "set", "toolgate:endpoint", gateway.adminUrl]);
    await pulumi(["config", "set", "--secret", "toolgate:token", gateway.adminToken]);
    await pulumi(["config", "set", "upstreamUrl", UPSTREAM_URL]);
    await pulumi(["config", "set", "--secret", "upstreamKey", UPSTREAM_KEY]);
  });

  after(async () => {
    await gateway?.stop();
    if (gateway) rmSync(gateway.dataDir, { recursive: true, force: true });
    project?.remove();
    for (const fn of cleanups) fn();
  });

  test("preview plans the three resources and writes nothing", async () => {
    const preview = await pulumi(["preview"]);
    for (const [type, name] of [["McpServer", "upstream"], ["Policy", "agent"], ["Grant", "agent-grant"]]) {
      assert.match(preview, new RegExp(`\\+\\s+toolgate:index:${type}\\s+${name}\\s+create`));
    }
    assert.deepEqual((await gateway.admin.list("servers")).items, []);
  });

  test("up creates the server, policy and grant, each owned by its resource; the token is a secret output", async () => {
    const up = await pulumi(["up", "--yes"]);
    assert.match(up, /\+ 4 created/, "the stack and three toolgate resources");
    const server = (await gateway.admin.get<{ owner: string; transport: { url: string; headers: Record<string, string> } }>("servers", "upstream"))!.value;
    assert.equal(server.owner, owned("McpServer", "upstream"));
    assert.equal(server.transport.url, UPSTREAM_URL);
    assert.deepEqual(server.transport.headers, { Authorization: "[redacted]" });
    const policy = (await gateway.admin.get<{ owner: string; document: { tools: Record<string, unknown> } }>("policies", "agent"))!.value;
    assert.equal(policy.owner, owned("Policy", "agent"));
    assert.deepEqual(Object.keys(policy.document.tools).sort(), ["echo", "get-sum"]);
    const grant = (await gateway.admin.get<{ owner: string; server: string; policy: string }>("grants", "agent"))!.value;
    assert.deepEqual([grant.server, grant.policy, grant.owner], ["upstream", "agent", owned("Grant", "agent-grant")]);

    const outputs = JSON.parse(await pulumi(["stack", "output", "--json"])) as Record<string, string>;
    assert.equal(outputs.mcpUrl, `${gateway.proxyUrl}/mcp/upstream`);
    assert.equal(outputs.token, "[secret]");
    const token = (await pulumi(["stack", "output", "token", "--show-secrets"])).trim();
    assert.match(token, /^tg_[A-Za-z0-9_-]{43,}$/);
    const state = await pulumi(["stack", "export"]);
    assert.ok(!state.includes(token) && !state.includes(UPSTREAM_KEY), "the token and the upstream key are encrypted in the state");
  });

  test("refresh and a second up change nothing; destroy removes every object", async () => {
    const refresh = await pulumi(["refresh", "--yes"]);
    assert.match(refresh, /4 unchanged/);
    const again = await pulumi(["up", "--yes"]);
    assert.match(again, /4 unchanged/);
    await pulumi(["destroy", "--yes"]);
    for (const kind of ["servers", "policies", "grants"] as const) assert.deepEqual((await gateway.admin.list(kind)).items, [], `no ${kind} left`);
  });
});
