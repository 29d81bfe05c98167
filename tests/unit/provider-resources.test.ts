import { test, before, mock } from "node:test";
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

test("Policy.fromFile reads JSON and YAML; a file it cannot read or parse fails check on document with file:line:col, not in the program", async () => {
  const doc = Policy.fromFile("examples/policies/filesystem.yaml") as { default: string };
  assert.equal(doc.default, "deny");
  const { policyProvider } = await import("../../provider/impl/policy.ts");
  const check = (document: unknown) => policyProvider.check({}, { name: "p", owner: "urn:pulumi:prod::shop::pulumi-nodejs:dynamic/toolgate:Policy::p", document });
  assert.deepEqual((await check(Policy.fromFile("examples/policies/invalid/broken.yaml"))).failures, [
    { property: "", reason: "document: examples/policies/invalid/broken.yaml:5:3: Map keys must be unique" },
  ]);
  assert.deepEqual((await check(Policy.fromFile("examples/policies/nope.json"))).failures, [
    { property: "", reason: "document: examples/policies/nope.json: cannot read the policy file (ENOENT)" },
  ]);
  // Files spread into one document each keep their own failure.
  const merged = { ...Policy.fromFile("examples/policies/nope.json"), ...Policy.fromFile("examples/policies/invalid/broken.yaml") };
  assert.deepEqual((await check(merged)).failures.map((f) => f.reason), [
    "document: examples/policies/nope.json: cannot read the policy file (ENOENT)",
    "document: examples/policies/invalid/broken.yaml:5:3: Map keys must be unique",
  ]);
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

test("only credentials are secret: url, command and args stay readable when headers, env or secretArgs are secret outputs", async () => {
  const http = new McpServer("secret-header", {
    transport: { type: "streamable-http", url: "https://mcp.example.com/mcp", headers: { Authorization: pulumi.secret("Bearer s3cr3t-header") } },
  });
  assert.equal(await isSecret(http.transport), false);
  assert.deepEqual(await resolve(http.transport), { type: "streamable-http", url: "https://mcp.example.com/mcp" });
  assert.equal(await isSecret(http.credentials), true);
  const stdio = new McpServer("secret-env", {
    transport: { type: "stdio", command: "db-mcp", args: ["--read-only"], env: { TOKEN: pulumi.secret("t0k") }, secretArgs: [pulumi.secret("--password=hunter2")] },
  });
  assert.equal(await isSecret(stdio.transport), false);
  assert.deepEqual(await resolve(stdio.transport), { type: "stdio", command: "db-mcp", args: ["--read-only"] });
  // A transport that is one secret output as a whole: which part was secret cannot be known, so all of it stays secret.
  const whole = new McpServer("whole-secret", { transport: pulumi.secret({ type: "streamable-http" as const, url: "https://mcp.example.com/?key=k" }) });
  assert.equal(await isSecret(whole.transport), true);
});

test("a changed credential shows as a new revision in a plain input, never as its value", async () => {
  const { serverProvider } = await import("../../provider/impl/server.ts");
  const owner = "urn:pulumi:prod::shop::pulumi-nodejs:dynamic/toolgate:McpServer::db";
  const first = await serverProvider.check({}, { name: "db", owner, transport: { type: "stdio", command: "db-mcp" }, credentials: { env: { A: "a1", B: "b1" }, secretArgs: ["--p=1"] } });
  assert.deepEqual(first.inputs.credentialRevisions, { "env.A": 1, "env.B": 1, "secretArgs[0]": 1 });
  const second = await serverProvider.check(first.inputs, { name: "db", owner, transport: { type: "stdio", command: "db-mcp" }, credentials: { env: { A: "a2", B: "b1", C: "c1" } } });
  assert.deepEqual(second.inputs.credentialRevisions, { "env.A": 2, "env.B": 1, "env.C": 1 });
  const third = await serverProvider.check(second.inputs, { name: "db", owner, transport: { type: "stdio", command: "db-mcp" }, credentials: { env: { A: "a3", B: "b1", C: "c1" } } });
  assert.deepEqual(third.inputs.credentialRevisions, { "env.A": 3, "env.B": 1, "env.C": 1 });
  assert.ok(!JSON.stringify(third.inputs.credentialRevisions).includes("a3"));

  const { webhookProvider } = await import("../../provider/impl/webhook.ts");
  const hook = { name: "approvers", owner, url: "https://hooks.example.com/t" };
  const created = await webhookProvider.check({}, { ...hook, signingSecret: "whsec_0123456789abcdef" });
  assert.equal(created.inputs.signingSecretRevision, 1);
  const same = await webhookProvider.check(created.inputs, { ...hook, signingSecret: "whsec_0123456789abcdef" });
  assert.equal(same.inputs.signingSecretRevision, 1);
  const rotated = await webhookProvider.check(same.inputs, { ...hook, signingSecret: "whsec_fedcba9876543210" });
  assert.equal(rotated.inputs.signingSecretRevision, 2);
});

test("expiresAt takes ISO 8601 with a zone only, normalized to UTC; a past one warns at check", async () => {
  const { grantProvider } = await import("../../provider/impl/grant.ts");
  const grant = (expiresAt: unknown) => grantProvider.check({}, { name: "ci", server: "github", owner: "urn:pulumi:prod::shop::pulumi-nodejs:dynamic/toolgate:Grant::ci", expiresAt });
  for (const bad of ["June 1, 2031 10:00", "2031-06-01", "2031-06-01T10:00:00", "1780000000", 1780000000]) {
    assert.deepEqual((await grant(bad)).failures, [{ property: "expiresAt", reason: `expiresAt must be an ISO 8601 time like 2027-01-31T00:00:00Z, got ${JSON.stringify(bad)}` }], String(bad));
  }
  const stderr: string[] = [];
  mock.method(process.stderr, "write", (chunk: string) => { stderr.push(chunk); return true; });
  try {
    const ok = await grant("2031-06-01T10:00:00+02:00");
    assert.deepEqual([ok.failures, ok.inputs.expiresAt, stderr], [[], "2031-06-01T08:00:00.000Z", []]);
    const past = await grant("2020-01-31T00:00:00Z");
    assert.deepEqual(past.failures, []);
    assert.deepEqual(stderr, ['warning: Grant "ci": expiresAt 2020-01-31T00:00:00.000Z is in the past: the gateway refuses its token\n']);
  } finally {
    mock.restoreAll();
  }
});

test("a policy change is summarized for the reviewer: LOOSER as a warning, rules compared by meaning, not position", async () => {
  const { policyNotes } = await import("../../provider/impl/policy.ts");
  const before = { version: "1", default: "deny", tools: { echo: { deny_if: [{ path: "args.message", op: "regex", value: "^rm " }] }, sum: {} } };
  const after = {
    version: "1",
    default: "deny",
    tools: { echo: { deny_if: [{ path: "args.message", op: "regex", value: "^curl " }, { path: "args.message", op: "regex", value: "^rm " }] }, sum: {}, "delete-all": {} },
  };
  assert.deepEqual(policyNotes("agent", before, after), [
    { severity: "warning", message: 'Policy "agent": LOOSER /tools/delete-all: "delete-all" is now allowed (subject to its rules); it was denied' },
    { severity: "info", message: 'Policy "agent": stricter /tools/echo/deny_if/args.message-regex: deny_if added: calls are now denied when args.message regex "^curl "' },
  ]);
  assert.deepEqual(policyNotes("agent", before, before), []);
  assert.deepEqual(policyNotes("agent", before, "04da6b54-80e4-46f7-96ec-b56ff0331ba9"), [
    { severity: "info", message: 'Policy "agent": the document depends on values known only during the update; no policy summary in this preview' },
  ]);
});

test("a note cannot hide or rewrite a line of the preview: control and bidi characters from the program are escaped", async () => {
  const { policyNotes } = await import("../../provider/impl/policy.ts");
  const { tellReviewer } = await import("../../provider/impl/review.ts");
  const stderr: string[] = [];
  mock.method(process.stderr, "write", (chunk: string) => {
    stderr.push(chunk);
    return true;
  });
  try {
    const before = { version: "1", default: "deny", tools: { t: {} } };
    await tellReviewer(undefined, policyNotes("agent", before, { version: "1", default: "deny", tools: { t: { require: [{ path: "args.m", op: "eq", value: "ok\u202Elive" }] } } }));
    await tellReviewer(undefined, [{ severity: "info", message: "a\u001b[2K\rb" }]);
  } finally {
    mock.restoreAll();
  }
  assert.deepEqual(stderr, ['Policy "agent": stricter /tools/t/require/args.m-eq: require added: calls must now satisfy args.m eq "ok\\u{202E}live"\n', "a\\u{001B}[2K\\u{000D}b\n"]);
});

test("a replacement says which input forces it and that the old object goes first", async () => {
  const { replaceNotes } = await import("../../provider/impl/review.ts");
  assert.deepEqual(replaceNotes("McpServer", { name: "files" }, { name: "files-v2" }, ["name"]), [
    { severity: "info", message: 'McpServer "files" is replaced because name changes from "files" to "files-v2": the old one is deleted first, then "files-v2" is created' },
  ]);
});

test("a policy document may hold outputs at any depth", async () => {
  const hidden = pulumi.output(["delete-all"]);
  const limit = pulumi.output(30);
  const policy = new Policy("nested-outputs", { document: { version: "1", default: "deny", hide: hidden, all_tools: { limits: [{ counter: "all", window: "minute", max: limit }] } } });
  await resolve(policy.version); // registered
  const inputs = registered.find((r) => r.name === "nested-outputs")!.inputs;
  assert.deepEqual(inputs.document, { version: "1", default: "deny", hide: ["delete-all"], all_tools: { limits: [{ counter: "all", window: "minute", max: 30 }] } });
});

test("a tool named __proto__ fails check instead of vanishing on its way through Pulumi's engine", async () => {
  const document = JSON.parse('{"version":"1","default":"allow","tools":{"__proto__":{"deny_if":[{"path":"args.amount","op":"gt","value":100}]}}}') as unknown;
  await resolve(new Policy("proto-tool", { document: document as never }).urn);
  const sent = registered.find((r) => r.name === "proto-tool")!.inputs.document;
  const { policyProvider } = await import("../../provider/impl/policy.ts");
  const { failures } = await policyProvider.check({}, { name: "proto-tool", owner: "urn:pulumi:prod::shop::pulumi-nodejs:dynamic/toolgate:Policy::proto-tool", document: sent });
  assert.deepEqual(failures, [
    {
      property: "",
      reason: 'document: the key "__proto__" at /tools/__proto__ cannot pass through Pulumi (its engine drops keys of that name, and with them the rules under it); rename the tool on the server or manage this policy with the admin API',
    },
  ]);
});
