/**
 * The generated Python SDK (sdks/python, `pulumi_toolgate`): pip installs it, then runs examples/python and a
 * program using the rest of its surface under Pulumi's mocked engine (tests/fixtures/pulumi-python/register.py),
 * checking what the SDK sends the engine: type tokens, input names, secret inputs and the outputs each resource
 * asks to keep secret. `pulumi up` of a Python program cannot run on this machine: the CLI needs the
 * pulumi-language-python host, whose Go module the module proxy does not serve (docs/provider.md).
 */
import { test } from "node:test";
import assert from "node:assert/strict";
import { execFile } from "node:child_process";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { promisify } from "node:util";
import { pythonVenv } from "../helpers/upstreams.ts";

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

async function withSdk(t: { after(fn: () => void): void }): Promise<(program: string, config: object) => Promise<Registered>> {
  const python = await pythonVenv("pulumi-python", FIXTURE, "the Python SDK test");
  const site = mkdtempSync(join(tmpdir(), "toolgate-pysdk-"));
  t.after(() => rmSync(site, { recursive: true, force: true }));
  // A real install of the checked-in package (its pyproject.toml), not an import from the source tree.
  await run(python, ["-m", "pip", "install", "-q", "--disable-pip-version-check", "--no-deps", "--target", site, join(ROOT, "sdks/python")], { maxBuffer: 16 * 1024 * 1024 });
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
