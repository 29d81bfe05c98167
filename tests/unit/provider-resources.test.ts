import { test, before } from "node:test";
import assert from "node:assert/strict";
import * as pulumi from "@pulumi/pulumi";
import { Grant, McpServer, Policy, Webhook } from "../../provider/index.ts";

interface Registered {
  type: string;
  name: string;
  inputs: Record<string, unknown>;
}

const registered: Registered[] = [];

before(async () => {
  await pulumi.runtime.setMocks(
    {
      newResource(args) {
        registered.push({ type: args.type, name: args.name, inputs: args.inputs });
        const state: Record<string, unknown> = { ...args.inputs };
        if (args.type.endsWith(":Grant")) Object.assign(state, { token: "tg_mocked", url: `http://127.0.0.1:8787/mcp/${String(args.inputs.server)}` });
        return { id: String(args.inputs.name), state };
      },
      call: () => ({}),
    },
    "shop",
    "prod",
    false,
  );
});

const resolve = <T>(o: pulumi.Output<T>) => new Promise<T>((done) => o.apply((v) => done(v)));
const isSecret = <T>(o: pulumi.Output<T>) => (o as unknown as { isSecret: Promise<boolean> }).isSecret;

test("resources get distinct type tokens, default names without suffix, and their URN as owner", async () => {
  const server = new McpServer("stripe", { transport: { type: "streamable-http", url: "https://mcp.example.com/mcp" } });
  const policy = new Policy("read-only", { document: { version: "1", default: "deny", tools: { search: {} } } });
  const grant = new Grant("support-agent", { server, policy, name: "support" });
  assert.equal(await resolve(grant.name), "support");
  assert.equal(await resolve(grant.server), "stripe");
  assert.equal(await resolve(grant.policy), "read-only");
  const byName = Object.fromEntries(registered.map((r) => [r.name, r]));
  assert.equal(byName.stripe!.type, "pulumi-nodejs:dynamic/toolgate:McpServer");
  assert.equal(byName["read-only"]!.type, "pulumi-nodejs:dynamic/toolgate:Policy");
  assert.equal(byName["support-agent"]!.type, "pulumi-nodejs:dynamic/toolgate:Grant");
  assert.equal(byName.stripe!.inputs.name, "stripe");
  assert.equal(byName.stripe!.inputs.owner, "urn:pulumi:prod::shop::pulumi-nodejs:dynamic/toolgate:McpServer::stripe");
});

test("server credentials are split out of the transport and secret; the transport stays readable", async () => {
  const server = new McpServer("github", {
    transport: { type: "streamable-http", url: "https://api.example.com/mcp", headers: { Authorization: "Bearer ghp_secret" } },
  });
  assert.deepEqual(await resolve(server.transport), { type: "streamable-http", url: "https://api.example.com/mcp" });
  assert.deepEqual(await resolve(server.credentials), { headers: { Authorization: "Bearer ghp_secret" } });
  assert.equal(await isSecret(server.credentials), true);
  assert.equal(await isSecret(server.transport), false);
  const stdio = new McpServer("fs", { transport: { type: "stdio", command: "npx", args: ["-y", "server"], env: { TOKEN: "t" } } });
  assert.deepEqual(await resolve(stdio.transport), { type: "stdio", command: "npx", args: ["-y", "server"] });
  assert.deepEqual(await resolve(stdio.credentials), { env: { TOKEN: "t" } });
});

test("stdio secretArgs are credentials (secret); user, group, roots and limits are plain inputs that accept outputs", async () => {
  const dataDir = pulumi.output("file:///srv/data");
  const server = new McpServer("db", {
    transport: { type: "stdio", command: "db-mcp", args: ["--read-only"], secretArgs: [pulumi.output("--password=hunter2")], env: { TOKEN: pulumi.output("t") }, user: "mcp", group: 1001 },
    roots: [{ uri: dataDir, name: pulumi.output("data") }],
    timeoutMs: 10_000,
    totalTimeoutMs: 60_000,
    maxInFlight: 8,
  });
  assert.deepEqual(await resolve(server.credentials), { env: { TOKEN: "t" }, secretArgs: ["--password=hunter2"] });
  assert.equal(await isSecret(server.credentials), true);
  assert.deepEqual(await resolve(server.transport), { type: "stdio", command: "db-mcp", args: ["--read-only"], user: "mcp", group: 1001 });
  const inputs = registered.find((r) => r.name === "db")!.inputs;
  assert.deepEqual([inputs.roots, inputs.totalTimeoutMs, inputs.maxInFlight], [[{ uri: "file:///srv/data", name: "data" }], 60_000, 8]);
  assert.ok(!JSON.stringify(inputs.transport).includes("hunter2"), "secret arguments never sit in the plain transport");
});

test("check reports secretArgs problems on credentials without echoing them, and roots/limits by path", async () => {
  const { serverProvider } = await import("../../provider/impl/server.ts");
  const { failures } = await serverProvider.check({}, {
    name: "db",
    transport: { type: "stdio", command: "db-mcp", user: "1000" },
    credentials: { secretArgs: ["--ok", 4242] },
    roots: [{ uri: "srv/data" }],
    maxInFlight: 2000,
  });
  assert.deepEqual(failures, [
    { property: "credentials.secretArgs[1]", reason: "secretArgs entries must be strings, got number" },
    { property: "transport.user", reason: 'user must be a user name (up to 32 letters, digits, ".", "_" or "-", starting with a letter or "_") or a numeric id given as a number (0 to 4294967294), got "1000"' },
    { property: "maxInFlight", reason: "maxInFlight must be at most 1024" },
    { property: "roots[0].uri", reason: "uri must be an absolute URI without spaces, such as file:///srv/data, got text that is not a URL" },
  ]);
  assert.ok(!JSON.stringify(failures).includes("4242"), "secret arguments are not echoed");
  const timeouts = await serverProvider.check({}, { name: "db", transport: { type: "stdio", command: "db-mcp" }, timeoutMs: 5000, totalTimeoutMs: 1000 });
  assert.deepEqual(timeouts.failures, [{ property: "totalTimeoutMs", reason: "totalTimeoutMs must be at least timeoutMs (5000)" }]);
});

test("a grant accepts server and policy by name", async () => {
  const grant = new Grant("ci", { server: "github", policy: "ci-policy", rotation: "2026-11" });
  assert.equal(await resolve(grant.server), "github");
  assert.equal(await resolve(grant.policy), "ci-policy");
});

test("Policy.fromFile reads JSON and YAML and names the file on errors", () => {
  const doc = Policy.fromFile("examples/policies/filesystem.yaml") as { default: string };
  assert.equal(doc.default, "deny");
  assert.throws(() => Policy.fromFile("examples/policies/nope.json"), { message: "Policy.fromFile: cannot read examples/policies/nope.json (ENOENT)" });
  assert.throws(() => Policy.fromFile("examples/policies/invalid/broken.yaml"), { message: "examples/policies/invalid/broken.yaml:5:3: Map keys must be unique" });
});

test("a webhook's signing secret is secret in and out; events default to all", async () => {
  const hook = new Webhook("approvers", { url: "https://hooks.example.com/t", signingSecret: "whsec_0123456789abcdef" });
  assert.equal(await isSecret(hook.signingSecret), true);
  const byName = Object.fromEntries(registered.map((r) => [r.name, r]));
  assert.equal(byName.approvers!.type, "pulumi-nodejs:dynamic/toolgate:Webhook");
  assert.equal(await isSecret(hook.url), false);
});

test("the serialized provider is small, loads the implementation by name and captures no state", async () => {
  new McpServer("with-secret", { transport: { type: "streamable-http", url: "https://x.example.com", headers: { "X-Api-Key": "k-12345-secret" } } });
  const texts = new Set(registered.map((r) => String(r.inputs.__provider)));
  assert.equal(texts.size, new Set(registered.map((r) => r.type)).size, "one serialized provider per kind");
  for (const text of texts) {
    assert.ok(text.length < 3000, `serialized provider is ${text.length} bytes`);
    assert.match(text, /toolgate\/provider-impl/);
    assert.doesNotMatch(text, /k-12345-secret|ghp_secret|tg_|undici|zod/);
  }
});
