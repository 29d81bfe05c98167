import { test, before } from "node:test";
import assert from "node:assert/strict";
import * as pulumi from "@pulumi/pulumi";
import { readFileSync } from "node:fs";
import { Grant, IdentityProvider, McpServer, Policy, Webhook } from "../../provider/native/sdk/index.ts";

/**
 * The toolgate/native classes under Pulumi's mocks, with a mock engine that answers as the plugin does: `name`
 * defaults to the logical name, and the outputs carry what the program left out. The Node.js SDK resolves only the
 * outputs whose key the class gave it, so every declared output must be one (a defaulted server name that stayed
 * undefined made a Grant given that server fail check with "server is required").
 */

const registered = new Map<string, Record<string, unknown>>();
const schema = JSON.parse(readFileSync(new URL("../../provider/native/schema.json", import.meta.url), "utf8")) as { resources: Record<string, { properties: object }> };
const outputsOf = (type: string) => Object.keys(schema.resources[type]!.properties);
/** What the mock provider answers for an output it has nothing better for: shows the output was resolved from the provider. */
const answered = (key: string) => `${key} from the provider`;

before(async () => {
  await pulumi.runtime.setMocks(
    {
      newResource(args) {
        registered.set(args.name, args.inputs);
        const state: Record<string, unknown> = { ...args.inputs, name: args.inputs.name ?? args.name, owner: `urn:pulumi:prod::shop::${args.type}::${args.name}`, version: 1 };
        if (args.type === "toolgate:index:McpServer") Object.assign(state, { timeoutMs: 30_000, labels: {} });
        if (args.type === "toolgate:index:Webhook") Object.assign(state, { events: ["approval.requested"] });
        if (args.type === "toolgate:index:Grant") Object.assign(state, { token: "tg_mocked", url: `http://127.0.0.1:8787/mcp/${String(args.inputs.server)}` });
        for (const key of outputsOf(args.type)) state[key] ??= answered(key);
        return { id: String(state.name), state };
      },
      call: () => ({}),
    },
    "shop",
    "prod",
    false,
  );
});

const resolve = <T>(o: pulumi.Output<T>) => new Promise<T>((done) => o.apply((v) => done(v)));

test("outputs the program left out resolve to what the provider answered: a defaulted name, defaults, the owner", async () => {
  const server = new McpServer("stripe", { transport: { type: "streamable-http", url: "https://mcp.example.com/mcp" } });
  assert.equal(await resolve(server.name), "stripe");
  assert.equal(await resolve(server.timeoutMs), 30_000);
  assert.deepEqual(await resolve(server.labels), {});
  assert.equal(await resolve(server.owner), "urn:pulumi:prod::shop::toolgate:index:McpServer::stripe");
  const webhook = new Webhook("approvals", { url: "https://hooks.example.com/toolgate", signingSecret: "s".repeat(32) });
  assert.equal(await resolve(webhook.name), "approvals");
  assert.deepEqual(await resolve(webhook.events), ["approval.requested"]);
});

test("a Grant given resources whose names are defaulted is registered with those names", async () => {
  const server = new McpServer("files", { transport: { type: "stdio", command: "mcp-server-filesystem" } });
  const policy = new Policy("read-only", { document: { version: "1", default: "deny" } });
  const grant = new Grant("nightly", { server, policy });
  assert.equal(await resolve(grant.url), "http://127.0.0.1:8787/mcp/files");
  assert.equal(await resolve(grant.name), "nightly");
  assert.equal(registered.get("nightly")!.server, "files");
  assert.equal(registered.get("nightly")!.policy, "read-only");
});

test("an IdentityProvider's defaulted name and left-out outputs resolve", async () => {
  const corp = new IdentityProvider("corp", { issuer: "https://login.example.com" });
  assert.equal(await resolve(corp.name), "corp");
  assert.equal(await resolve(corp.clientSecretDigest), answered("clientSecretDigest"));
  assert.equal(await resolve(corp.owner), "urn:pulumi:prod::shop::toolgate:index:IdentityProvider::corp");
});

test("every output of every resource type in the provider schema resolves on its class", async () => {
  const made: Record<string, pulumi.CustomResource> = {
    "toolgate:index:McpServer": new McpServer("every-server", { transport: { type: "sse", url: "https://mcp.example.com/sse" } }),
    "toolgate:index:Policy": new Policy("every-policy", { document: { version: "1", default: "deny" } }),
    "toolgate:index:Grant": new Grant("every-grant", { server: "every-server" }),
    "toolgate:index:Webhook": new Webhook("every-webhook", { url: "https://hooks.example.com/toolgate", signingSecret: "s".repeat(32) }),
    "toolgate:index:IdentityProvider": new IdentityProvider("every-idp", { issuer: "https://login.example.com" }),
  };
  assert.deepEqual(Object.keys(made).sort(), Object.keys(schema.resources).sort(), "a class for each resource type of the schema");
  for (const [type, resource] of Object.entries(made)) {
    for (const key of outputsOf(type)) {
      const output = (resource as unknown as Record<string, unknown>)[key];
      assert.ok(pulumi.Output.isInstance(output), `${type}.${key} is an output of the class`);
      assert.notEqual(await resolve(output as pulumi.Output<unknown>), undefined, `${type}.${key} resolves to what the provider answered`);
    }
  }
});
