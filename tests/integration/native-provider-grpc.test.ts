import { test, before, after } from "node:test";
import assert from "node:assert/strict";
import { readFileSync } from "node:fs";
import { startGateway, type TestGateway } from "../helpers/gateway.ts";
import { NativeProvider, UNKNOWN, inClear, secret, type Props } from "../helpers/native-provider-harness.ts";
import { ROOT } from "../helpers/cli.ts";

/**
 * The engine's view of the native plugin: `bin/pulumi-resource-toolgate` spawned and driven over gRPC the way the
 * engine drives it, against a real `toolgate serve`. No Pulumi CLI (the e2e tests run the real one).
 */

let gw: TestGateway;
let provider: NativeProvider;
const HEADER = "Bearer upstream-secret-7f3a";
const policyDoc = { version: "1", default: "deny", tools: { search: {} } };
const said = (error: Error) => (error as Error & { details?: string }).details ?? error.message;

before(async () => {
  gw = await startGateway();
  provider = await NativeProvider.start();
  await provider.handshake();
  await provider.configure({ endpoint: gw.adminUrl, token: secret(gw.adminToken), version: "0.1.0" });
});

after(async () => {
  await provider?.stop();
  assert.equal(await gw.stop(), 0);
});

test("the plugin reports the package version and serves the package schema", async () => {
  const pkg = JSON.parse(readFileSync(`${ROOT}/package.json`, "utf8")) as { version: string };
  assert.equal(await provider.pluginInfo(), pkg.version);
  const schema = JSON.parse(await provider.schema()) as { name: string; resources: Record<string, unknown> };
  assert.equal(schema.name, "toolgate");
  for (const type of ["McpServer", "Policy", "Grant", "Webhook"]) assert.ok(schema.resources[`toolgate:index:${type}`], type);
});

test("explicit provider config wins over TOOLGATE_* variables, which only fill in what it leaves out", async () => {
  // The environment names a gateway that does not answer, with a wrong token: explicit config must not be redirected.
  const env = { TOOLGATE_ENDPOINT: "http://127.0.0.1:9", TOOLGATE_TOKEN: "tga_wrong", TOOLGATE_TIMEOUT_MS: "100" };
  const viaArgs = await NativeProvider.start(env);
  const viaVariables = await NativeProvider.start(env);
  const envOnly = await NativeProvider.start({ TOOLGATE_ENDPOINT: gw.adminUrl, TOOLGATE_TOKEN: gw.adminToken });
  const half = await NativeProvider.start({ TOOLGATE_TOKEN: gw.adminToken });
  try {
    assert.deepEqual(await viaArgs.configure({ endpoint: gw.adminUrl, token: secret(gw.adminToken), timeoutMs: 5000 }), { acceptSecrets: true });
    await viaVariables.configure({ endpoint: gw.adminUrl, token: gw.adminToken, timeoutMs: "5000" }, "variables");
    await envOnly.configure({});
    await half.configure({ endpoint: gw.adminUrl });
    for (const [i, p] of [viaArgs, viaVariables, envOnly, half].entries()) {
      const created = await p.createResource("Policy", `cfg-${i}`, { document: policyDoc });
      assert.equal(created.id, `cfg-${i}`, "the name defaults to the logical name in the URN");
      assert.ok(await gw.admin.get("policies", `cfg-${i}`));
    }
  } finally {
    await Promise.all([viaArgs.stop(), viaVariables.stop(), envOnly.stop(), half.stop()]);
  }
});

test("provider config: CheckConfig names the field, keeps the token secret; DiffConfig is an update, never a replace", async () => {
  const bad = await provider.checkConfig({ endpoint: "ftp://gateway.internal", token: "tga_abc", timeoutMs: 5 });
  assert.deepEqual(bad.failures, [
    { property: "endpoint", reason: 'endpoint must be the gateway\'s admin API as an http(s) URL like http://127.0.0.1:8788, got scheme "ftp:"' },
    { property: "timeoutMs", reason: "timeoutMs must be a whole number of milliseconds from 100 to 600000, got 5" },
  ]);
  const good = await provider.checkConfig({ endpoint: "https://gateway.internal:8788", token: "tga_abc", timeoutMs: "5000" });
  assert.deepEqual(good.failures, []);
  assert.deepEqual(inClear(good.inputs), { endpoint: "https://gateway.internal:8788", token: "[secret]", timeoutMs: "5000" });
  assert.deepEqual((await provider.checkConfig({ endpoint: UNKNOWN })).failures, [], "values not known yet are not reported");

  const moved = await provider.diffConfig({ endpoint: "https://a", token: "t1", timeoutMs: "5000" }, { endpoint: "https://b", token: secret("t2"), timeoutMs: 5000 });
  assert.deepEqual([moved.changes, moved.replaces, Object.keys(moved.detailed)], ["some", [], ["endpoint", "token"]]);
  assert.equal((await provider.diffConfig({ endpoint: "https://a" }, { endpoint: "https://a" })).changes, "none");
});

test("check reports each problem on its property, without the gateway and without echoing secrets", async () => {
  const offline = await NativeProvider.start();
  try {
    await offline.configure({});
    const server = await offline.check("McpServer", "s", {}, {
      transport: { type: "streamable-http", url: "not a url", headers: secret({ "X-Key": 42 }) },
      timeoutMs: -1,
    });
    const properties = server.failures.map((f) => f.property);
    assert.ok(properties.includes("transport.url"), properties.join(", "));
    assert.ok(properties.includes("timeoutMs"), properties.join(", "));
    assert.ok(properties.some((p) => p.startsWith("credentials.headers")), properties.join(", "));
    assert.ok(!JSON.stringify(server.failures).includes("42"));

    const policy = await offline.check("Policy", "Bad Name", {}, { document: { version: "2", default: "allow" } });
    assert.deepEqual(policy.failures[0], { property: "name", reason: 'name must be 1-63 characters of a-z, 0-9, ".", "_" or "-", starting with a letter or digit, got "Bad Name"' });
    assert.ok(policy.failures.some((f) => f.property === "document.version"));

    const grant = await offline.check("Grant", "g", {}, { expiresAt: "next tuesday" });
    assert.deepEqual(grant.failures.map((f) => f.property), ["server", "expiresAt"]);
    assert.deepEqual((await offline.check("Grant", "g", {}, { server: UNKNOWN })).failures, [], "unknowns pass during preview");

    await assert.rejects(offline.check("Gadget", "x", {}, {}), (error: Error) => {
      assert.match(said(error), /^toolgate: unknown resource type "toolgate:index:Gadget"; this provider manages toolgate:index:McpServer, /);
      return true;
    });
  } finally {
    await offline.stop();
  }
});

test("secrets: declared secret properties and any property that held a secret come back wrapped, never in clear", async () => {
  const news = { transport: { type: "streamable-http", url: "https://mcp.example.com/mcp", headers: secret({ Authorization: HEADER }) }, description: secret("internal note") };
  const checked = await provider.check("McpServer", "vault", {}, news);
  assert.deepEqual(checked.failures, []);
  assert.deepEqual(inClear(checked.inputs), {
    name: "vault",
    transport: { type: "streamable-http", url: "https://mcp.example.com/mcp" },
    credentials: "[secret]",
    credentialRevisions: { "headers.Authorization": 1 },
    description: "[secret]",
    timeoutMs: 30_000,
    labels: {},
  });
  const created = await provider.create("McpServer", "vault", checked.inputs);
  assert.equal(inClear(created.outs).credentials, "[secret]");
  assert.equal(inClear(created.outs).description, "[secret]");
  assert.equal((inClear(created.outs).transport as Props).url, "https://mcp.example.com/mcp", "the rest of the transport stays readable");
  assert.equal(created.outs.owner, provider.urn("McpServer", "vault"));
  assert.ok(!JSON.stringify(inClear(created.outs)).includes("upstream-secret"));
  // Credentials given plainly (a YAML program without secret()) are secret all the same.
  const plain = await provider.check("McpServer", "plain", {}, { transport: { type: "stdio", command: "srv", env: { KEY: "k-1234567" }, secretArgs: ["--pw=x"] } });
  assert.equal(inClear(plain.inputs).credentials, "[secret]");

  const grant = await provider.createResource("Grant", "vault-agent", { server: "vault" });
  assert.equal(inClear(grant.outs).token, "[secret]");
  assert.match(String((grant.outs.token as Props).value), /^tg_/);
  const hook = await provider.createResource("Webhook", "vault-hook", { url: "https://hooks.example.com/x", signingSecret: "0123456789abcdef-plain" });
  assert.equal(inClear(hook.inputs).signingSecret, "[secret]");
  assert.equal(inClear(hook.outs).signingSecret, "[secret]");
  assert.ok(!JSON.stringify(inClear(hook.outs)).includes("0123456789abcdef"));

  // Refresh keeps them wrapped.
  const refreshed = await provider.read("Grant", "vault-agent", "vault-agent", grant.outs, grant.inputs);
  assert.equal(inClear(refreshed.props).token, "[secret]");
  const server = await provider.read("McpServer", "vault", "vault", created.outs, checked.inputs);
  assert.equal(inClear(server.props).credentials, "[secret]");
  assert.equal(inClear(server.inputs).description, "[secret]");
});

test("diff: a detailed diff per property, a new name replaces (deleted first), the owner is never a change", async () => {
  const checked = (await provider.check("Policy", "quiet", {}, { document: policyDoc })).inputs;
  const outs = { ...checked, owner: "urn:pulumi:prod::other::toolgate:index:Policy::quiet", version: 3 };
  const same = await provider.diff("Policy", "quiet", "quiet", outs, checked);
  assert.deepEqual([same.changes, same.detailed], ["none", {}], "an owner that differs (after an import) is no change");

  const renamed = await provider.diff("Policy", "quiet", "quiet", outs, { ...checked, name: "louder", document: { ...policyDoc, default: "allow" } });
  assert.deepEqual([renamed.changes, renamed.replaces, renamed.deleteBeforeReplace], ["some", ["name"], true]);
  assert.deepEqual(renamed.detailed, { name: { kind: "UPDATE_REPLACE", inputDiff: true }, document: { kind: "UPDATE", inputDiff: true } });

  const server = (await provider.check("McpServer", "s1", {}, { transport: { type: "streamable-http", url: "https://a.example/mcp", headers: secret({ A: "1" }) } })).inputs;
  const rotated = (await provider.check("McpServer", "s1", server, { transport: { type: "streamable-http", url: "https://a.example/mcp", headers: secret({ A: "2" }) }, description: "new" })).inputs;
  const d = await provider.diff("McpServer", "s1", "s1", server, rotated);
  assert.deepEqual(d.detailed, {
    credentials: { kind: "UPDATE", inputDiff: true },
    description: { kind: "ADD", inputDiff: true },
    credentialRevisions: { kind: "UPDATE", inputDiff: true },
  });
  assert.deepEqual(inClear(rotated).credentialRevisions, { "headers.A": 2 }, "the revision shows the change, not the value");
});

test("create, refresh, import by id alone, update and delete; policy review notes reach the engine's Log service", async () => {
  const created = await provider.createResource("Policy", "crm-read", { document: policyDoc });
  assert.equal(created.id, "crm-read");
  assert.equal((await gw.admin.get<{ owner: string }>("policies", "crm-read"))!.value.owner, provider.urn("Policy", "crm-read"));

  const refreshed = await provider.read("Policy", "crm-read", "crm-read", created.outs, created.inputs);
  assert.deepEqual(refreshed.inputs, { name: "crm-read", document: policyDoc }, "refresh gives back the program's inputs: no drift, no owner input");
  assert.equal(refreshed.props.owner, provider.urn("Policy", "crm-read"));

  // `pulumi import`: only the id and the URN.
  await gw.admin.put("policies", "by-hand", { document: policyDoc });
  const imported = await provider.read("Policy", "legacy", "by-hand");
  assert.equal(imported.id, "by-hand");
  assert.deepEqual(imported.inputs, { name: "by-hand", document: policyDoc });
  const importCheck = await provider.check("Policy", "legacy", imported.inputs, { name: "by-hand", document: policyDoc });
  assert.equal((await provider.diff("Policy", "legacy", "by-hand", imported.props, importCheck.inputs)).changes, "none", "the import option's diff is empty");
  assert.equal((await provider.read("Policy", "missing", "never-was")).id, "", "nothing to import is an empty id");

  const looser = { ...policyDoc, default: "allow" };
  const news = (await provider.check("Policy", "crm-read", created.inputs, { document: looser })).inputs;
  const diff = await provider.diff("Policy", "crm-read", "crm-read", created.outs, news);
  assert.equal(diff.changes, "some");
  const notes = provider.logs.filter((l) => l.urn === provider.urn("Policy", "crm-read"));
  assert.deepEqual(notes.map((n) => [n.severity, n.message]), [[2, 'Policy "crm-read": LOOSER /default: default changed deny → allow: tools not listed under tools are now allowed']], "a warning under the resource");
  const updated = await provider.update("Policy", "crm-read", "crm-read", created.outs, news);
  assert.equal(updated.version, (created.outs.version as number) + 1);
  assert.deepEqual((await gw.admin.get<{ document: unknown }>("policies", "crm-read"))!.value.document, looser);

  // The imported policy becomes this stack's at its next update.
  const importedUpdate = await provider.update("Policy", "legacy", "by-hand", imported.props, { ...importCheck.inputs, document: looser });
  assert.equal(importedUpdate.owner, provider.urn("Policy", "legacy"));
  assert.equal((await gw.admin.get<{ owner: string }>("policies", "by-hand"))!.value.owner, provider.urn("Policy", "legacy"));

  await provider.delete("Policy", "crm-read", "crm-read", updated);
  await provider.delete("Policy", "legacy", "by-hand", importedUpdate);
  assert.equal(await gw.admin.get("policies", "crm-read"), undefined);
  assert.equal(await gw.admin.get("policies", "by-hand"), undefined);
  await provider.delete("Policy", "crm-read", "crm-read", updated);
});

test("a preview of create or update answers without touching the gateway", async () => {
  const checked = (await provider.check("Grant", "preview-agent", {}, { server: "nowhere" })).inputs;
  const preview = await provider.create("Grant", "preview-agent", checked, true);
  assert.deepEqual([preview.outs.token, preview.outs.url, preview.outs.version], [secret(UNKNOWN), UNKNOWN, UNKNOWN]);
  assert.equal(await gw.admin.get("grants", "preview-agent"), undefined);
  const updated = await provider.update("Policy", "p", "p", { name: "p", document: policyDoc, version: 1 }, { name: "p", document: { ...policyDoc, default: "allow" } }, true);
  assert.equal(updated.version, UNKNOWN);
  assert.equal(await gw.admin.get("policies", "p"), undefined);
  // A grant's token stays in a preview unless `rotation` changes, which issues a new one.
  const grant = { name: "g", server: "s", url: "http://proxy/mcp/s", token: secret("tg_old"), version: 1 };
  assert.deepEqual((await provider.update("Grant", "g", "g", grant, { name: "g", server: "s", description: "d" }, true)).token, secret("tg_old"));
  assert.deepEqual((await provider.update("Grant", "g", "g", grant, { name: "g", server: "s", rotation: "2027-01" }, true)).token, secret(UNKNOWN));
});

test("creating over an object another stack manages fails with how to adopt it", async () => {
  const theirs = "urn:pulumi:prod::other::toolgate:index:Policy::taken";
  await gw.admin.put("policies", "taken", { document: policyDoc, owner: theirs });
  await assert.rejects(provider.createResource("Policy", "taken", { document: policyDoc }), (error: Error) => {
    assert.equal(
      said(error),
      `toolgate: create policy "taken": policy "taken" exists in the gateway and is managed by stack "other/prod" (resource ${theirs}). To take it over from this stack, set \`adopt: true\` on the resource; or pick another name.`,
    );
    return true;
  });
  const adopted = await provider.createResource("Policy", "taken", { document: policyDoc, adopt: true });
  assert.equal(adopted.outs.owner, provider.urn("Policy", "taken"));
});
