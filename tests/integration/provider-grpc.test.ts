import { test, before, after } from "node:test";
import assert from "node:assert/strict";
import { startGateway, type TestGateway } from "../helpers/gateway.ts";
import { ProviderHarness, UNKNOWN, type Props } from "../helpers/provider-harness.ts";
import { startLossyProxy } from "../helpers/lossy-proxy.ts";

/**
 * The engine's view of the provider: the real `@pulumi/pulumi` dynamic-provider gRPC server, fed the serialized
 * shim, against a real `toolgate serve`. No Pulumi CLI (that is tests/e2e).
 */

let gw: TestGateway;
let provider: ProviderHarness;
const OWNER = "pulumi:shop/dev";
const SECRET_HEADER = "Bearer upstream-secret-7f3a";

before(async () => {
  gw = await startGateway();
  provider = await ProviderHarness.start({}, { "toolgate:endpoint": gw.adminUrl, "toolgate:token": gw.adminToken });
});

after(async () => {
  await provider.stop();
  assert.equal(await gw.stop(), 0);
});

const httpServer = (name: string, extra: Props = {}): Props => ({
  name,
  owner: OWNER,
  transport: { type: "streamable-http", url: "https://mcp.example.com/mcp" },
  credentials: { headers: { Authorization: SECRET_HEADER } },
  ...extra,
});
const policyDoc = { version: "1", default: "deny", tools: { search: {} } };
/** The provider's error message as the engine receives it (without gRPC's status prefix). */
const said = (error: Error) => (error as Error & { details?: string }).details ?? error.message;

test("check reports every problem on its property path, without the network", async () => {
  const offline = await ProviderHarness.start({ TOOLGATE_ENDPOINT: "", TOOLGATE_TOKEN: "" });
  try {
    const policy = await offline.check("policy", "bad", {}, {
      name: "Bad Name",
      owner: OWNER,
      document: { version: "2", default: "allow", tools: { "a.b": { limits: [{ counter: "c", window: "fortnight", max: 0 }] } } },
    });
    assert.deepEqual(policy.failures, [
      { property: "name", reason: 'name must be 1-63 characters of a-z, 0-9, ".", "_" or "-", starting with a letter or digit, got "Bad Name"' },
      ...policy.failures.filter((f) => f.property.startsWith("document")),
    ]);
    const properties = policy.failures.map((f) => f.property);
    assert.ok(properties.includes("document.version"), properties.join(", "));
    assert.ok(properties.includes('document.tools["a.b"].limits[0].window'), properties.join(", "));
    assert.ok(properties.includes('document.tools["a.b"].limits[0].max'), properties.join(", "));

    const server = await offline.check("server", "s", {}, {
      name: "s",
      owner: OWNER,
      transport: { type: "streamable-http", url: "not a url" },
      credentials: { headers: { "X-Key": 42 } },
      timeoutMs: -1,
    });
    const byProperty = new Map(server.failures.map((f) => [f.property, f.reason]));
    assert.ok(byProperty.has("transport.url"), [...byProperty.keys()].join(", "));
    assert.ok(byProperty.has("timeoutMs"), [...byProperty.keys()].join(", "));
    assert.ok([...byProperty.keys()].some((p) => p.startsWith("credentials.headers")), [...byProperty.keys()].join(", "));
    assert.ok(!JSON.stringify(server.failures).includes("42"), "credential values are not echoed");

    const grant = await offline.check("grant", "g", {}, { name: "g", owner: OWNER, expiresAt: "next tuesday" });
    assert.deepEqual(grant.failures, [
      { property: "server", reason: "server is required: the name of an McpServer or the resource" },
      { property: "expiresAt", reason: 'expiresAt must be an ISO 8601 time like 2027-01-31T00:00:00Z, got "next tuesday"' },
    ]);

    // Values not known yet during preview are not reported.
    const preview = await offline.check("grant", "g", {}, { name: "g", owner: OWNER, server: UNKNOWN });
    assert.deepEqual(preview.failures, []);
  } finally {
    await offline.stop();
  }
});

test("diff is pure: defaults, key order and unchanged secrets are no change; a rename replaces", async () => {
  const checked = (await provider.check("server", "quiet", {}, httpServer("quiet"))).inputs;
  assert.equal(checked.timeoutMs, 30_000, "defaults are filled in by check, so they never show as a change");
  const reordered = (await provider.check("server", "quiet", {}, {
    credentials: { headers: { Authorization: SECRET_HEADER } },
    transport: { url: "https://mcp.example.com/mcp", type: "streamable-http" },
    owner: OWNER,
    name: "quiet",
    timeoutMs: 30_000,
  })).inputs;
  const olds = { ...checked, version: 3, credentialsDigest: "x", schemaVersion: 1 };
  assert.equal((await provider.diff("server", "quiet", "quiet", olds, reordered)).changes, "none");
  const renamed = await provider.diff("server", "quiet", "quiet", olds, { ...reordered, name: "louder" });
  assert.deepEqual([renamed.changes, renamed.replaces, renamed.deleteBeforeReplace], ["some", ["name"], true]);
  const edited = await provider.diff("server", "quiet", "quiet", olds, { ...reordered, timeoutMs: 5000 });
  assert.deepEqual([edited.changes, edited.replaces], ["some", []]);
});

test("create, read, update and delete a server, policy and grant", async () => {
  const server = await provider.createResource("server", "crm", httpServer("crm"));
  assert.deepEqual(server.failures, []);
  assert.equal(server.id, "crm");
  const live = await gw.admin.get<{ transport: { url: string; headers: Record<string, string> }; owner: string }>("servers", "crm");
  assert.equal(live!.value.transport.url, "https://mcp.example.com/mcp");
  assert.equal(live!.value.owner, OWNER);
  assert.ok(!JSON.stringify(live!.value).includes("upstream-secret"), "the admin API never returns credential values");

  const policy = await provider.createResource("policy", "crm-read", { name: "crm-read", owner: OWNER, document: policyDoc });
  assert.deepEqual(policy.failures, []);
  const grant = await provider.createResource("grant", "crm-agent", { name: "crm-agent", owner: OWNER, server: "crm", policy: "crm-read" });
  assert.deepEqual(grant.failures, []);
  assert.match(String(grant.outs.token), /^tg_/);
  assert.equal(grant.outs.url, `${gw.proxyUrl}/mcp/crm`);

  // Read with nothing changed gives back the same inputs: refresh shows no drift.
  const read = await provider.read("policy", "crm-read", "crm-read", policy.outs);
  assert.deepEqual(read.inputs, { name: "crm-read", owner: OWNER, document: policyDoc });

  const doc2 = { ...policyDoc, tools: { search: {}, get_contact: {} } };
  const updated = await provider.updateResource("policy", "crm-read", "crm-read", read.inputs!, policy.outs, { name: "crm-read", owner: OWNER, document: doc2 });
  assert.equal(updated.diff.changes, "some");
  assert.equal(updated.outs.version, (policy.outs.version as number) + 1);
  assert.deepEqual((await gw.admin.get<{ document: unknown }>("policies", "crm-read"))!.value.document, doc2);

  await provider.delete("grant", "crm-agent", grant.id, grant.outs);
  await provider.delete("policy", "crm-read", "crm-read", updated.outs);
  await provider.delete("server", "crm", "crm", server.outs);
  assert.equal(await gw.admin.get("grants", "crm-agent"), undefined);
  assert.equal(await gw.admin.get("policies", "crm-read"), undefined);
  assert.equal(await gw.admin.get("servers", "crm"), undefined);
});

test("read shows drift after an out-of-band edit, and a deleted object as gone", async () => {
  const policy = await provider.createResource("policy", "drifty", { name: "drifty", owner: OWNER, document: policyDoc });
  const edited = { version: "1", default: "allow" };
  const live = await gw.admin.get("policies", "drifty");
  await gw.admin.put("policies", "drifty", { document: edited, owner: OWNER }, { ifMatch: live!.etag });
  const read = await provider.read("policy", "drifty", "drifty", policy.outs);
  assert.deepEqual(read.inputs!.document, edited);
  const back = await provider.diff("policy", "drifty", "drifty", read.props, { name: "drifty", owner: OWNER, document: policyDoc });
  assert.equal(back.changes, "some", "the next up writes the program's document back");

  // Credentials changed out of band: values stay unreadable, but the change shows.
  const server = await provider.createResource("server", "drift-srv", httpServer("drift-srv"));
  const srvLive = await gw.admin.get("servers", "drift-srv");
  await gw.admin.put("servers", "drift-srv", { owner: OWNER, transport: { type: "streamable-http", url: "https://mcp.example.com/mcp", headers: { Authorization: "Bearer someone-else" } } }, { ifMatch: srvLive!.etag });
  const srvRead = await provider.read("server", "drift-srv", "drift-srv", server.outs);
  assert.deepEqual(srvRead.inputs!.credentials, { headers: { Authorization: "(changed outside Pulumi)" } });
  assert.ok(!JSON.stringify(srvRead).includes("someone-else"));
  const srvUnchanged = await provider.read("server", "drift-srv", "drift-srv", srvRead.props);
  assert.notEqual(srvUnchanged.props.credentialsDigest, undefined);

  await gw.admin.delete("policies", "drifty");
  const gone = await provider.read("policy", "drifty", "drifty", policy.outs);
  assert.equal(gone.id, "", "an empty id tells the engine the resource is gone");
});

test("delete of a missing object is done, not an error", async () => {
  await provider.delete("policy", "never-was", "never-was", { name: "never-was", owner: OWNER });
  await provider.delete("grant", "never-was", "never-was", { name: "never-was", owner: OWNER });
  await provider.delete("server", "never-was", "never-was", { name: "never-was", owner: OWNER });
});

test("creating over an object another stack or a human owns fails with how to adopt it", async () => {
  const theirs = "urn:pulumi:prod::other::pulumi-nodejs:dynamic/toolgate:Policy::taken";
  await gw.admin.put("policies", "taken", { document: policyDoc, owner: theirs });
  await assert.rejects(provider.createResource("policy", "taken", { name: "taken", owner: provider.urn("policy", "taken"), document: policyDoc }), (error: Error) => {
    assert.equal(
      said(error),
      `toolgate: create policy "taken": policy "taken" exists in the gateway and is managed by stack "other/prod" (resource ${theirs}). To take it over from this stack, set \`adopt: true\` on the resource; or pick another name.`,
    );
    return true;
  });
  await gw.admin.put("policies", "manual", { document: policyDoc });
  await assert.rejects(provider.createResource("policy", "manual", { name: "manual", owner: provider.urn("policy", "manual"), document: policyDoc }), /is managed outside Pulumi/);

  const adopted = await provider.createResource("policy", "taken", { name: "taken", owner: provider.urn("policy", "taken"), document: policyDoc, adopt: true });
  assert.equal(adopted.id, "taken");
  assert.equal((await gw.admin.get<{ owner: string }>("policies", "taken"))!.value.owner, provider.urn("policy", "taken"));
  // An object left by this very resource (an interrupted up) is simply taken over.
  await gw.admin.put("policies", "leftover", { document: policyDoc, owner: provider.urn("policy", "leftover") });
  assert.equal((await provider.createResource("policy", "leftover", { name: "leftover", owner: provider.urn("policy", "leftover"), document: policyDoc })).id, "leftover");
});

test("a resource renamed without an alias is refused with the alias to add; the object is never deleted by its old name", async () => {
  const oldUrn = provider.urn("policy", "support");
  const newUrn = provider.urn("policy", "support-v2");
  const original = await provider.createResource("policy", "support", { name: "support", owner: oldUrn, document: policyDoc });
  await assert.rejects(provider.createResource("policy", "support-v2", { name: "support", owner: newUrn, document: policyDoc }), (error: Error) => {
    assert.equal(
      said(error),
      `toolgate: create policy "support": policy "support" is managed by another resource of this stack, ${oldUrn}. ` +
        "If this resource is that one renamed (or moved to another parent), tell Pulumi with the `aliases` option so it moves the state instead of creating the object over and then deleting it: " +
        'add { aliases: [{ name: "support" }] } to this resource\'s options. To take the object over from that resource instead, set `adopt: true`.',
    );
    return true;
  });
  assert.equal((await gw.admin.get<{ owner: string }>("policies", "support"))!.value.owner, oldUrn, "the refused create wrote nothing");

  // Taken over with adopt, the old resource's delete (the second half of Pulumi's create-then-delete) leaves it.
  await provider.createResource("policy", "support-v2", { name: "support", owner: newUrn, document: policyDoc, adopt: true });
  await provider.delete("policy", "support", "support", original.outs);
  assert.equal((await gw.admin.get<{ owner: string }>("policies", "support"))!.value.owner, newUrn);
  assert.match(provider.stderr.join(""), new RegExp(`toolgate: not deleting policy "support": it is managed by stack "shop/dev" \\(resource ${newUrn.replaceAll(/[.$]/g, "\\$&")}\\) now; only this resource leaves the stack`));

  // Moved under another parent: the alias names the old URN.
  const componentUrn = "urn:pulumi:dev::shop::acme:index:Team$pulumi-nodejs:dynamic/toolgate:Policy::support";
  await assert.rejects(provider.createResource("policy", "support", { name: "support", owner: componentUrn, document: policyDoc }), (error: Error) => {
    assert.ok(said(error).includes(`add { aliases: ["${newUrn}"] } to this resource's options`), error.message);
    return true;
  });
});

test("owners written by earlier versions (the stack only) are this stack's: no diff, taken over on create, deleted by their resource", async () => {
  const legacy = "pulumi:shop/dev";
  const created = await provider.createResource("policy", "old-style", { name: "old-style", owner: legacy, document: policyDoc });
  const diff = await provider.diff("policy", "old-style", "old-style", created.outs, { name: "old-style", owner: provider.urn("policy", "old-style"), document: policyDoc });
  assert.equal(diff.changes, "none", "upgrading the provider does not update every object");
  const updated = await provider.updateResource("policy", "old-style", "old-style", { name: "old-style", owner: legacy, document: policyDoc }, created.outs, { name: "old-style", owner: provider.urn("policy", "old-style"), document: { ...policyDoc, default: "allow" } });
  assert.equal(updated.outs.owner, provider.urn("policy", "old-style"), "a real update records the resource's URN");
  assert.equal((await gw.admin.get<{ owner: string }>("policies", "old-style"))!.value.owner, provider.urn("policy", "old-style"));
  await provider.delete("policy", "old-style", "old-style", updated.outs);
  assert.equal(await gw.admin.get("policies", "old-style"), undefined);

  await gw.admin.put("policies", "left-by-v1", { document: policyDoc, owner: legacy });
  assert.equal((await provider.createResource("policy", "left-by-v1", { name: "left-by-v1", owner: provider.urn("policy", "left-by-v1"), document: policyDoc })).id, "left-by-v1");
});

test("ownership is checked on update and delete: an object another stack adopted is not taken back or deleted", async () => {
  const mine = provider.urn("server", "shared");
  const inputs = httpServer("shared", { owner: mine });
  const created = await provider.createResource("server", "shared", inputs);
  const theirs = "urn:pulumi:prod::shop::pulumi-nodejs:dynamic/toolgate:McpServer::shared";
  const live = await gw.admin.get("servers", "shared");
  await gw.admin.put("servers", "shared", { owner: theirs, transport: { type: "streamable-http", url: "https://mcp.example.com/mcp", headers: { Authorization: "Bearer theirs" } } }, { ifMatch: live!.etag });
  const taken = (await gw.admin.get<{ version: number; credentialsDigest: string }>("servers", "shared"))!.value;

  // up --refresh: the refresh shows the new owner, the update that would take it back is refused.
  const refreshed = await provider.read("server", "shared", "shared", created.outs);
  assert.equal(refreshed.props.owner, theirs);
  const checked = (await provider.check("server", "shared", {}, inputs)).inputs;
  assert.equal((await provider.diff("server", "shared", "shared", refreshed.props, checked)).changes, "some");
  await assert.rejects(provider.update("server", "shared", "shared", refreshed.props, checked), (error: Error) => {
    assert.equal(
      said(error),
      `toolgate: update server "shared": server "shared" exists in the gateway and is managed by stack "shop/prod" (resource ${theirs}). To take it over from this stack, set \`adopt: true\` on the resource; or pick another name.`,
    );
    return true;
  });
  const after = (await gw.admin.get<{ version: number; credentialsDigest: string; owner: string }>("servers", "shared"))!.value;
  assert.deepEqual([after.owner, after.version, after.credentialsDigest], [theirs, taken.version, taken.credentialsDigest], "their credentials are untouched");

  // destroy: not deleted, even from refreshed state (whose owner is theirs now).
  await provider.delete("server", "shared", "shared", refreshed.props);
  assert.equal((await gw.admin.get<{ owner: string }>("servers", "shared"))!.value.owner, theirs);

  // adopt: true takes it back on update.
  const adopted = await provider.update("server", "shared", "shared", refreshed.props, { ...checked, adopt: true });
  assert.equal(adopted.owner, mine);
  assert.equal((await gw.admin.get<{ owner: string }>("servers", "shared"))!.value.owner, mine);
});

test("a grant naming a policy that does not exist says to pass the resource", async () => {
  await provider.createResource("server", "lonely", httpServer("lonely", { owner: provider.urn("server", "lonely") }));
  await assert.rejects(provider.createResource("grant", "early", { name: "early", owner: provider.urn("grant", "early"), server: "lonely", policy: "not-yet" }), (error: Error) => {
    assert.match(said(error), /^toolgate: create grant "early": PUT \/v1\/grants\/early failed with 422: policy "not-yet" does not exist; create it first\n/);
    assert.ok(said(error).includes("If this program creates that policy, pass the resource instead of its name, e.g. `policy: readOnly` (the Policy resource) rather than `policy: \"read-only\"`: Pulumi then creates it before the grant."), error.message);
    return true;
  });
});

test("secrets: only the secret keys carry secret values; the grant token is kept across updates and changes on rotation", async () => {
  await provider.createResource("server", "vault", httpServer("vault"));
  await provider.createResource("policy", "vault-p", { name: "vault-p", owner: OWNER, document: policyDoc });
  const inputs = { name: "vault-agent", owner: OWNER, server: "vault", policy: "vault-p" };
  const created = await provider.createResource("grant", "vault-agent", inputs);
  const token = created.outs.token as string;
  // `token` is declared in additionalSecretOutputs and `credentials` is a secret input, so the engine stores both
  // encrypted; no other output key may hold either value.
  const server = await provider.read("server", "vault", "vault", (await provider.createResource("server", "vault2", httpServer("vault2"))).outs);
  for (const [key, value] of Object.entries(server.props)) if (key !== "credentials") assert.ok(!JSON.stringify(value).includes("upstream-secret"), key);
  for (const [key, value] of Object.entries(created.outs)) if (key !== "token") assert.ok(!JSON.stringify(value).includes(token), key);
  assert.ok(!provider.stderr.join("").includes(token) && !provider.stderr.join("").includes("upstream-secret"), "nothing secret in provider logs");

  const checkedInputs = (await provider.check("grant", "vault-agent", {}, inputs)).inputs;
  const described = await provider.updateResource("grant", "vault-agent", "vault-agent", checkedInputs, created.outs, { ...inputs, description: "support bot" });
  assert.equal(described.diff.changes, "some");
  assert.equal(described.outs.token, token, "an update keeps the token");
  const read = await provider.read("grant", "vault-agent", "vault-agent", described.outs);
  assert.equal(read.props.token, token, "refresh keeps the token");

  const rotated = await provider.updateResource("grant", "vault-agent", "vault-agent", read.inputs!, read.props, { ...inputs, description: "support bot", rotation: "2026-11" });
  assert.match(String(rotated.outs.token), /^tg_/);
  assert.notEqual(rotated.outs.token, token);
  const old = await fetch(`${gw.proxyUrl}/mcp/vault`, { method: "POST", headers: { authorization: `Bearer ${token}`, "content-type": "application/json", accept: "application/json, text/event-stream" }, body: "{}" });
  assert.equal(old.status, 401, "the old token stops working");
});

test("a clear error when neither stack config nor environment names the gateway", async () => {
  const bare = await ProviderHarness.start({ TOOLGATE_ENDPOINT: "", TOOLGATE_TOKEN: "" });
  try {
    await assert.rejects(bare.createResource("policy", "p", { name: "p", owner: OWNER, document: policyDoc }), /no gateway endpoint: set `pulumi config set toolgate:endpoint/);
  } finally {
    await bare.stop();
  }
  const envOnly = await ProviderHarness.start({ TOOLGATE_ENDPOINT: gw.adminUrl, TOOLGATE_TOKEN: gw.adminToken });
  try {
    assert.equal((await envOnly.createResource("policy", "from-env", { name: "from-env", owner: OWNER, document: policyDoc })).id, "from-env");
  } finally {
    await envOnly.stop();
  }
  const wrongToken = await ProviderHarness.start({}, { "toolgate:endpoint": gw.adminUrl, "toolgate:token": "tga_wrong-token-value" });
  try {
    await assert.rejects(wrongToken.createResource("policy", "p2", { name: "p2", owner: OWNER, document: policyDoc }), (error: Error) => {
      assert.match(error.message, /admin token is not valid/);
      assert.ok(!error.message.includes("tga_wrong-token-value"));
      return true;
    });
  } finally {
    await wrongToken.stop();
  }
});

test("TOOLGATE_TOKEN wins over stack config, which refresh and destroy get from the state; a 401 says where the token came from", async () => {
  const inputs = (name: string) => ({ name, owner: provider.urn("policy", name), document: policyDoc });
  const stale = { "toolgate:endpoint": gw.adminUrl, "toolgate:token": "tga_rotated-away-token" };
  const fromState = await ProviderHarness.start({}, stale);
  try {
    await assert.rejects(fromState.createResource("policy", "rotated", inputs("rotated")), (error: Error) => {
      assert.equal(
        said(error),
        'toolgate: create policy "rotated": PUT /v1/policies/rotated failed with 401: The admin token is not valid. The admin token came from stack config toolgate:token as Pulumi passed it to the provider; ' +
          "refresh, destroy and the refresh of --refresh get the value saved in the state by the last `pulumi up`, not the current config: after rotating the token, set TOOLGATE_TOKEN (it takes precedence) or run with --run-program.",
      );
      return true;
    });
  } finally {
    await fromState.stop();
  }
  const envWins = await ProviderHarness.start({ TOOLGATE_TOKEN: gw.adminToken }, stale);
  try {
    assert.equal((await envWins.createResource("policy", "rotated", inputs("rotated"))).id, "rotated");
  } finally {
    await envWins.stop();
  }
  const envWrong = await ProviderHarness.start({ TOOLGATE_TOKEN: "tga_wrong-token-from-env" }, { "toolgate:endpoint": gw.adminUrl, "toolgate:token": gw.adminToken });
  try {
    await assert.rejects(envWrong.createResource("policy", "env-wrong", inputs("env-wrong")), (error: Error) => {
      assert.equal(said(error), 'toolgate: create policy "env-wrong": PUT /v1/policies/env-wrong failed with 401: The admin token is not valid. The admin token came from the TOOLGATE_TOKEN environment variable.');
      return true;
    });
  } finally {
    await envWrong.stop();
  }
  const badTimeout = await ProviderHarness.start({ TOOLGATE_TIMEOUT_MS: "soon" }, { "toolgate:endpoint": gw.adminUrl, "toolgate:token": gw.adminToken });
  try {
    await assert.rejects(badTimeout.createResource("policy", "t", inputs("t")), (error: Error) => {
      assert.equal(said(error), 'toolgate: create policy "t": the request timeout from the TOOLGATE_TIMEOUT_MS environment variable must be a whole number of milliseconds from 100 to 600000, got "soon"');
      return true;
    });
  } finally {
    await badTimeout.stop();
  }
});

test("a write whose answer was lost is not applied twice: its retry gets the first write's result, and a grant still gets a token", async () => {
  // The gateway itself: a write carrying the Idempotency-Key of the object's last write is answered as it is.
  const put = (key: string) =>
    fetch(`${gw.adminUrl}/v1/policies/keyed`, { method: "PUT", headers: { authorization: `Bearer ${gw.adminToken}`, "content-type": "application/json", "if-none-match": "*", "idempotency-key": key }, body: JSON.stringify({ document: policyDoc }) });
  const first = await put("k-1");
  assert.equal(first.status, 201);
  const again = await put("k-1");
  assert.deepEqual([again.status, again.headers.get("idempotent-replayed"), ((await again.json()) as { version: number }).version], [200, "true", 1]);
  assert.equal((await put("k-2")).status, 412, "another write is still refused by If-None-Match");
  assert.equal((await put("bad key")).status, 400);

  const proxy = await startLossyProxy(gw.adminUrl);
  const lossy = await ProviderHarness.start({}, { "toolgate:endpoint": proxy.url, "toolgate:token": gw.adminToken });
  try {
    await provider.createResource("server", "flaky", httpServer("flaky", { owner: provider.urn("server", "flaky") }));
    const policy = await provider.createResource("policy", "flaky-p", { name: "flaky-p", owner: provider.urn("policy", "flaky-p"), document: policyDoc });
    proxy.loseNextAnswer("PUT", "/v1/grants/flaky-agent");
    const grant = await lossy.createResource("grant", "flaky-agent", { name: "flaky-agent", owner: provider.urn("grant", "flaky-agent"), server: "flaky", policy: "flaky-p" });
    assert.match(String(grant.outs.token), /^tg_/, "the token of the lost answer is replaced by a new one, not left out");
    const call = await fetch(`${gw.proxyUrl}/mcp/flaky`, { method: "POST", headers: { authorization: `Bearer ${grant.outs.token}`, "content-type": "application/json", accept: "application/json, text/event-stream" }, body: "{}" });
    assert.notEqual(call.status, 401, "the token in state works");

    proxy.loseNextAnswer("PUT", "/v1/policies/flaky-p");
    const doc2 = { ...policyDoc, tools: { search: {}, fetch: {} } };
    const updated = await lossy.updateResource("policy", "flaky-p", "flaky-p", { name: "flaky-p", owner: provider.urn("policy", "flaky-p"), document: policyDoc }, policy.outs, { name: "flaky-p", owner: provider.urn("policy", "flaky-p"), document: doc2 });
    assert.equal(updated.outs.version, 2, "written once, though sent twice with If-Match");
  } finally {
    await lossy.stop();
    await proxy.close();
  }
});

test("a create the gateway took after the provider gave up is this resource's for the next up; the timeout says how long it really waited", async () => {
  const proxy = await startLossyProxy(gw.adminUrl);
  const impatient = await ProviderHarness.start({ TOOLGATE_TIMEOUT_MS: "200" }, { "toolgate:endpoint": proxy.url, "toolgate:token": gw.adminToken });
  try {
    const inputs = { name: "frozen", owner: provider.urn("policy", "frozen"), document: policyDoc };
    proxy.freeze("PUT", "/v1/policies/frozen");
    await assert.rejects(impatient.createResource("policy", "frozen", inputs), (error: Error) => {
      const at = proxy.url.replaceAll(".", "\\.");
      assert.match(said(error), new RegExp(`^toolgate: create policy "frozen": PUT /v1/policies/frozen timed out: no answer in 4 attempts over (\\d+ ms|\\d+\\.\\d s), each given 200 ms, from the gateway at ${at} \\(from stack config toolgate:endpoint `));
      return true;
    });
    // The gateway resumes and takes the four attempts: the first creates, the other three repeat it.
    await proxy.resume();
    assert.equal((await gw.admin.get<{ version: number }>("policies", "frozen"))!.value.version, 1);
    const nextUp = await impatient.createResource("policy", "frozen", inputs);
    assert.deepEqual([nextUp.id, nextUp.outs.version, nextUp.outs.ownedAs], ["frozen", 1, provider.urn("policy", "frozen")]);
  } finally {
    await impatient.stop();
    await proxy.close();
  }
});

test("webhooks: create, signing secret only under its own key, drift on an out-of-band secret change, delete", async () => {
  const inputs = { name: "approvers", owner: OWNER, url: "https://hooks.example.com/toolgate", signingSecret: "whsec_provider_0123456789" };
  const bad = await provider.check("webhook", "approvers", {}, { ...inputs, url: "ftp://nope", signingSecret: "short" });
  assert.deepEqual(bad.failures.map((f) => f.property).sort(), ["signingSecret", "url"]);
  assert.ok(!JSON.stringify(bad.failures).includes("short"));
  const created = await provider.createResource("webhook", "approvers", inputs);
  assert.deepEqual(created.failures, []);
  assert.deepEqual(created.outs.events, ["approval.requested", "approval.approved", "approval.denied", "approval.expired"]);
  for (const [key, value] of Object.entries(created.outs)) if (key !== "signingSecret") assert.ok(!JSON.stringify(value).includes("whsec_provider"), key);
  const live = await gw.admin.get("webhooks", "approvers");
  await gw.admin.put("webhooks", "approvers", { url: inputs.url, secret: "someone-elses-secret-value", owner: OWNER }, { ifMatch: live!.etag });
  const read = await provider.read("webhook", "approvers", "approvers", created.outs);
  assert.equal(read.inputs!.signingSecret, "(changed outside Pulumi)");
  assert.ok(!JSON.stringify(read).includes("someone-elses"));
  await provider.delete("webhook", "approvers", "approvers", created.outs);
  assert.equal(await gw.admin.get("webhooks", "approvers"), undefined);
});
