import { test, before, after, describe } from "node:test";
import assert from "node:assert/strict";
import { readFileSync, rmSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { startGateway, type TestGateway } from "../helpers/gateway.ts";
import { freePort } from "../helpers/free-port.ts";
import { rawPost } from "../helpers/mcp-client.ts";
import { type PulumiProject, type PulumiResult } from "../helpers/pulumi.ts";
import { copyNativeProject, requireYamlLanguageHost } from "../helpers/pulumi-native.ts";

/**
 * The native provider (issue 18) through the real Pulumi CLI against real gateways: examples/yaml, a Pulumi YAML
 * program with no SDK (plus an explicit provider the test adds), and examples/native-ts, a TypeScript program on `toolgate/native` with an explicit provider
 * per gateway. Each program is one stack whose tests run in order, as a team would: preview, up, drift fixed by
 * refresh and up, `pulumi import` and the `import` option, review notes, destroy. Run `npm run build` first.
 */

const UPSTREAM_URL = "https://mcp.example.com/mcp";
const UPSTREAM_KEY = "upstream-key-native-7c2a";
const DENY_ALL = { version: "1", default: "deny" };

const output = (r: PulumiResult) => r.stdout + r.stderr;
const noStackTrace = /at \w+ \(.*\.[jt]s:\d+|unhandled exception/;

/** Everything the CLI printed in this file (but for `--show-secrets`), to check that no secret was ever shown. */
const printed: string[] = [];
async function run(project: PulumiProject, args: string[], env?: NodeJS.ProcessEnv): Promise<PulumiResult> {
  const r = await project.run(args, env ? { env } : {});
  printed.push(output(r));
  return r;
}
async function ok(project: PulumiProject, args: string[], env?: NodeJS.ProcessEnv): Promise<string> {
  const r = await run(project, args, env);
  if (r.code !== 0) throw new Error(`pulumi ${args.join(" ")} exited ${r.code}\n${output(r)}`);
  return r.stdout;
}

const owned = (project: string, type: string, name: string) => `urn:pulumi:dev::${project}::toolgate:index:${type}::${name}`;

/**
 * An explicit provider (`pulumi:providers:toolgate`) added to the YAML program, configured from the program's own
 * config, and a policy given it with `options: provider`: on the same gateway, so it costs no extra CLI run.
 */
const EXPLICIT_CONFIG = "  explicitEndpoint:\n    type: string\n  explicitToken:\n    type: string\n    secret: true\n";
const EXPLICIT_RESOURCES = `  explicit:
    type: pulumi:providers:toolgate
    properties:
      endpoint: \${explicitEndpoint}
      token: \${explicitToken}
      timeoutMs: 20000
  explicit-agent:
    type: toolgate:index:Policy
    properties:
      document:
        version: "1"
        default: deny
    options:
      provider: \${explicit}
`;

describe("a Pulumi YAML program (examples/yaml)", () => {
  let gateway: TestGateway;
  let project: PulumiProject;
  let original: string;
  const programFile = () => join(project.dir, "Pulumi.yaml");
  const editProgram = (edit: (text: string) => string) => writeFileSync(programFile(), edit(original));
  const restoreProgram = () => writeFileSync(programFile(), original);

  before(async () => {
    requireYamlLanguageHost();
    gateway = await startGateway();
    project = copyNativeProject("yaml");
    original = readFileSync(programFile(), "utf8").replace("config:\n", `config:\n${EXPLICIT_CONFIG}`).replace("resources:\n", `resources:\n${EXPLICIT_RESOURCES}`);
    restoreProgram();
    await ok(project, ["stack", "init", "dev"]);
    await ok(project, ["config", "set", "toolgate:endpoint", gateway.adminUrl]);
    await ok(project, ["config", "set", "--secret", "toolgate:token", gateway.adminToken]);
    await ok(project, ["config", "set", "explicitEndpoint", gateway.adminUrl]);
    await ok(project, ["config", "set", "--secret", "explicitToken", gateway.adminToken]);
    await ok(project, ["config", "set", "upstreamUrl", UPSTREAM_URL]);
    await ok(project, ["config", "set", "--secret", "upstreamKey", UPSTREAM_KEY]);
  });

  after(async () => {
    await gateway?.stop();
    if (gateway) rmSync(gateway.dataDir, { recursive: true, force: true });
    project?.remove();
  });

  test("preview lists what up then creates, each object owned by its resource's URN, through the default or the explicit provider", async () => {
    // The environment names another gateway: the stack config (default provider) and the program's config
    // (explicit provider) win over it.
    const misleadingEnv = { TOOLGATE_ENDPOINT: `http://127.0.0.1:${await freePort()}`, TOOLGATE_TOKEN: "tga_not-the-token" };
    const preview = await ok(project, ["preview"], misleadingEnv);
    for (const [type, name] of [["McpServer", "upstream"], ["Policy", "agent"], ["Grant", "agentGrant"], ["Policy", "explicit-agent"]]) {
      assert.match(preview, new RegExp(`\\+\\s+toolgate:index:${type}\\s+${name}\\s+create`));
    }
    assert.match(preview, /\+\s+pulumi:providers:toolgate\s+explicit\s+create/);
    assert.deepEqual((await gateway.admin.list("policies")).items, [], "preview writes nothing");

    const up = await ok(project, ["up", "--yes"], misleadingEnv);
    assert.match(up, /\+ 6 created/);
    assert.equal((await gateway.admin.get<{ owner: string }>("policies", "explicit-agent"))!.value.owner, owned("toolgate-yaml", "Policy", "explicit-agent"));
    const policy = (await gateway.admin.get<{ owner: string; document: unknown }>("policies", "agent"))!.value;
    assert.equal(policy.owner, owned("toolgate-yaml", "Policy", "agent"));
    const grant = (await gateway.admin.get<{ owner: string; server: string; policy: string }>("grants", "agent"))!.value;
    assert.deepEqual([grant.server, grant.policy, grant.owner], ["upstream", "agent", owned("toolgate-yaml", "Grant", "agentGrant")]);
    assert.equal((await gateway.admin.get<{ owner: string }>("servers", "upstream"))!.value.owner, owned("toolgate-yaml", "McpServer", "upstream"));
  });

  test("the grant token is a secret output that works at the gateway; the url is plain; neither state nor output holds a secret in clear", async () => {
    const shown = await ok(project, ["stack", "output"]);
    assert.match(shown, /token\s+\[secret\]/);
    assert.match(shown, /mcpUrl\s+http:\/\/127\.0\.0\.1:\d+\/mcp\/upstream/, "the url is not secret");
    assert.equal(JSON.parse(await ok(project, ["stack", "output", "mcpUrl", "--json"])), `${gateway.proxyUrl}/mcp/upstream`);
    const token = JSON.parse(await project.ok(["stack", "output", "token", "--json", "--show-secrets"])) as string;
    assert.match(token, /^\S{20,}$/);

    const ping = { jsonrpc: "2.0", id: 1, method: "ping" };
    assert.equal((await rawPost(`${gateway.proxyUrl}/mcp/upstream`, ping, { authorization: "Bearer tgk_not-a-real-token" })).status, 401);
    assert.notEqual((await rawPost(`${gateway.proxyUrl}/mcp/upstream`, ping, { authorization: `Bearer ${token}` })).status, 401, "the output is the grant's token");

    const exported = await ok(project, ["stack", "export"]);
    for (const secret of [token, UPSTREAM_KEY, gateway.adminToken]) {
      assert.ok(!exported.includes(secret), `a secret (${secret.slice(0, 6)}…) is in the state in clear`);
      assert.ok(!printed.some((p) => p.includes(secret)), `a secret (${secret.slice(0, 6)}…) was printed by the CLI`);
    }
    assert.match(exported, /"ciphertext"/);
    const resources = (JSON.parse(exported) as { deployment: { resources: { urn: string; provider?: string; inputs?: Record<string, unknown> }[] } }).deployment.resources;
    const explicitProvider = resources.find((r) => r.urn === "urn:pulumi:dev::toolgate-yaml::pulumi:providers:toolgate::explicit")!;
    assert.equal(explicitProvider.inputs?.endpoint, gateway.adminUrl);
    assert.match(JSON.stringify(explicitProvider.inputs?.token), /ciphertext/, "the explicit provider's token is secret in the state");
    const viaExplicit = resources.find((r) => r.urn === owned("toolgate-yaml", "Policy", "explicit-agent"))!;
    assert.match(viaExplicit.provider ?? "", /^urn:pulumi:dev::toolgate-yaml::pulumi:providers:toolgate::explicit::/);
  });

  test("a change made by hand through the admin API shows in refresh, and up writes the program's values back", async () => {
    const live = (await gateway.admin.get<{ document: unknown; owner: string }>("policies", "agent"))!;
    await gateway.admin.put("policies", "agent", { document: { version: "1", default: "allow" }, owner: live.value.owner }, { ifMatch: live.etag });
    const drift = await run(project, ["preview", "--refresh", "--expect-no-changes"]);
    assert.notEqual(drift.code, 0, "drift fails the check");
    assert.match(output(drift), /toolgate:index:Policy\s+agent\s+update/);

    const refresh = await ok(project, ["refresh", "--yes", "--diff"]);
    assert.match(refresh, /default\s*:\s*"deny" => "allow"/);
    await ok(project, ["up", "--yes"]);
    assert.deepEqual((await gateway.admin.get<{ document: unknown }>("policies", "agent"))!.value.document, live.value.document);
    const clean = await run(project, ["preview", "--refresh", "--expect-no-changes"]);
    assert.equal(clean.code, 0, output(clean));
  });

  test("preview of a LOOSER policy shows the reviewer's warning under the Policy, and --diff the detailed diff", async () => {
    editProgram((text) => text.replace("          get-sum:\n", "          get-tiny-image: {}\n          get-sum:\n"));
    try {
      const preview = await ok(project, ["preview"]);
      assert.match(preview, /toolgate:index:Policy \(agent\):\n {4}warning: Policy "agent": LOOSER \/tools\/get-tiny-image: "get-tiny-image" is now allowed/);
      assert.match(preview, /~ 1 to update/);
      const diff = await run(project, ["preview", "--diff"]);
      assert.equal(diff.code, 0, output(diff));
      assert.match(diff.stdout, /~ toolgate:index:Policy: \(update\)\n\s+\[id=agent\]\n[\s\S]*?~ document: \{[\s\S]*?~ tools\s*: \{[\s\S]*?\+ get-tiny-image: \{\}/);
      assert.match(output(diff), /warning: Policy "agent": LOOSER \/tools\/get-tiny-image: /);
    } finally {
      restoreProgram();
    }
  });

  test("a bad policy rule fails preview with the property's path and no stack trace", async () => {
    editProgram((text) => text.replace("window: minute", "window: fortnight"));
    try {
      const preview = await run(project, ["preview"]);
      assert.notEqual(preview.code, 0);
      assert.match(output(preview), /toolgate:index:Policy resource 'agent': property document\.tools\["get-sum"\]\.limits\[0\]\.window .*window must be "minute", "hour", "day" or a duration/);
      assert.doesNotMatch(output(preview), noStackTrace);
    } finally {
      restoreProgram();
    }
  });

  test("pulumi import brings a policy made through the admin API into the stack, and the next up has no changes", async () => {
    await gateway.admin.put("policies", "handmade", { document: { ...DENY_ALL, tools: { echo: {} } } });
    const imported = await ok(project, ["import", "toolgate:index:Policy", "handmade", "handmade", "--protect=false", "--yes"]);
    assert.match(imported, /=\s+toolgate:index:Policy\s+handmade\s+imported/);
    // The YAML that `pulumi import` prints goes into the program, as a user would paste it.
    const generated = /Please copy the following code into your Pulumi application[\s\S]*?\nresources:\n([\s\S]*)$/.exec(imported)?.[1];
    assert.ok(generated, imported);
    assert.match(generated, /^ {2}handmade:\n {4}type: toolgate:Policy\n/);
    original = original.replace("resources:\n", `resources:\n${generated.trimEnd()}\n`);
    restoreProgram();
    const up = await ok(project, ["up", "--yes"]);
    assert.match(up, /7 unchanged/);
    assert.doesNotMatch(up, /created|updated|deleted|replaced/);
  });

  test("the import resource option adopts a policy made through the admin API", async () => {
    await gateway.admin.put("policies", "legacy", { document: DENY_ALL });
    original = original.replace("resources:\n", "resources:\n  legacy:\n    type: toolgate:index:Policy\n    properties:\n      document:\n        version: \"1\"\n        default: deny\n    options:\n      import: legacy\n");
    restoreProgram();
    const up = await ok(project, ["up", "--yes"]);
    assert.match(up, /= 1 imported/);
    const again = await run(project, ["preview", "--expect-no-changes"]);
    assert.equal(again.code, 0, output(again));

    // An import writes nothing; the stack's first update of the object records it as the resource's.
    assert.equal((await gateway.admin.get<{ owner: string | null }>("policies", "legacy"))!.value.owner, null);
    original = original.replace("        default: deny\n    options:\n      import: legacy\n", "        default: deny\n        tools:\n          echo: {}\n    options:\n      import: legacy\n");
    restoreProgram();
    assert.match(await ok(project, ["up", "--yes"]), /~ 1 updated/);
    assert.equal((await gateway.admin.get<{ owner: string | null }>("policies", "legacy"))!.value.owner, owned("toolgate-yaml", "Policy", "legacy"));
  });

  test("destroy removes every object of the stack, imported ones too", async () => {
    await ok(project, ["destroy", "--yes"]);
    for (const kind of ["servers", "policies", "grants"] as const) {
      assert.deepEqual((await gateway.admin.list(kind)).items, [], `the gateway still has ${kind}`);
    }
  });
});

describe("a TypeScript program on toolgate/native with a provider per gateway (examples/native-ts)", () => {
  const gateways = {} as Record<"primary" | "edge", TestGateway>;
  let project: PulumiProject;
  let providerUrn: string;
  /** Explicit provider config wins: environment variables naming another gateway must change nothing. */
  let misleadingEnv: NodeJS.ProcessEnv;

  before(async () => {
    gateways.primary = await startGateway();
    gateways.edge = await startGateway();
    misleadingEnv = { TOOLGATE_ENDPOINT: `http://127.0.0.1:${await freePort()}`, TOOLGATE_TOKEN: "tga_not-the-token" };
    project = copyNativeProject("native-ts");
    await ok(project, ["stack", "init", "dev"]);
    for (const site of ["primary", "edge"] as const) {
      await ok(project, ["config", "set", `${site}Endpoint`, gateways[site].adminUrl]);
      await ok(project, ["config", "set", "--secret", `${site}Token`, gateways[site].adminToken]);
    }
    await ok(project, ["config", "set", "upstreamUrl", UPSTREAM_URL]);
    providerUrn = "urn:pulumi:dev::toolgate-native-ts::pulumi:providers:toolgate::primary";
  });

  after(async () => {
    for (const gateway of Object.values(gateways)) {
      await gateway.stop();
      rmSync(gateway.dataDir, { recursive: true, force: true });
    }
    project?.remove();
  });

  test("one up writes the same objects to both gateways, each through its own provider, whatever TOOLGATE_ENDPOINT says", async () => {
    const preview = await ok(project, ["preview"], misleadingEnv);
    assert.match(preview, /\+\s+toolgate:index:Grant\s+edge-agent\s+create/);
    const up = await ok(project, ["up", "--yes"], misleadingEnv);
    assert.match(up, /\+ 9 created/);
    for (const site of ["primary", "edge"] as const) {
      const policy = (await gateways[site].admin.get<{ owner: string }>("policies", "agent"))!.value;
      assert.equal(policy.owner, owned("toolgate-native-ts", "Policy", `${site}-agent`));
      const grant = (await gateways[site].admin.get<{ server: string; policy: string }>("grants", "agent"))!.value;
      assert.deepEqual([grant.server, grant.policy], ["upstream", "agent"]);
    }
    const urls = JSON.parse(await ok(project, ["stack", "output", "mcpUrls", "--json"])) as Record<string, string>;
    assert.deepEqual(urls, { primary: `${gateways.primary.proxyUrl}/mcp/upstream`, edge: `${gateways.edge.proxyUrl}/mcp/upstream` });
    assert.match(await ok(project, ["stack", "output"]), /agentTokens\s+\[secret\]/);
    const tokens = JSON.parse(await project.ok(["stack", "output", "agentTokens", "--json", "--show-secrets"])) as Record<string, string>;
    const exported = await ok(project, ["stack", "export"]);
    for (const secret of [tokens.primary!, tokens.edge!, gateways.primary.adminToken, gateways.edge.adminToken]) {
      assert.ok(!exported.includes(secret), `a secret (${secret.slice(0, 6)}…) is in the state in clear`);
      assert.ok(!printed.some((p) => p.includes(secret)), `a secret (${secret.slice(0, 6)}…) was printed by the CLI`);
    }
  });

  test("a server URL changed by hand on one gateway shows in refresh, and up writes it back there", async () => {
    const live = (await gateways.edge.admin.get<{ transport: { url: string }; owner: string }>("servers", "upstream"))!;
    await gateways.edge.admin.put("servers", "upstream", { transport: { type: "streamable-http", url: "https://elsewhere.example.net/mcp" }, owner: live.value.owner }, { ifMatch: live.etag });
    const refresh = await ok(project, ["refresh", "--yes", "--diff"], misleadingEnv);
    assert.match(refresh, /url\s*:\s*"https:\/\/mcp\.example\.com\/mcp" => "https:\/\/elsewhere\.example\.net\/mcp"/);
    assert.match(refresh, /~ 1 updated/);
    await ok(project, ["up", "--yes"], misleadingEnv);
    assert.equal((await gateways.edge.admin.get<{ transport: { url: string } }>("servers", "upstream"))!.value.transport.url, UPSTREAM_URL);
    const clean = await run(project, ["preview", "--refresh", "--expect-no-changes"], misleadingEnv);
    assert.equal(clean.code, 0, output(clean));
  });

  test("pulumi import through an explicit provider, then the import option, bring hand-made policies into the stack", async () => {
    await gateways.primary.admin.put("policies", "handmade", { document: DENY_ALL });
    // The repository's Node.js language host does not generate code (docs/development.md): the program below is
    // written by hand instead.
    const imported = await ok(project, ["import", "toolgate:index:Policy", "handmade", "handmade", "--provider", `primary=${providerUrn}`, "--generate-code=false", "--yes"], misleadingEnv);
    assert.match(imported, /=\s+toolgate:index:Policy\s+handmade\s+import/);
    await ok(project, ["config", "set", "--path", "legacyPolicies[0]", "handmade"]);
    const same = await run(project, ["preview", "--expect-no-changes"], misleadingEnv);
    assert.equal(same.code, 0, output(same));

    await gateways.primary.admin.put("policies", "legacy", { document: DENY_ALL });
    await ok(project, ["config", "set", "--path", "legacyPolicies[1]", "legacy"]);
    const up = await ok(project, ["up", "--yes"], misleadingEnv);
    assert.match(up, /= 1 imported/);
    assert.equal(await gateways.edge.admin.get("policies", "legacy"), undefined, "imported from the primary gateway only");
  });

  test("destroy empties both gateways", async () => {
    await ok(project, ["destroy", "--yes"], misleadingEnv);
    for (const site of ["primary", "edge"] as const) {
      for (const kind of ["servers", "policies", "grants"] as const) {
        assert.deepEqual((await gateways[site].admin.list(kind)).items, [], `${site} still has ${kind}`);
      }
    }
  });
});
