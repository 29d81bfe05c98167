import { test, before, after } from "node:test";
import assert from "node:assert/strict";
import { startGateway, type TestGateway } from "../helpers/gateway.ts";
import type { Props } from "../../provider/impl/common.ts";
import type * as providerImpl from "../../provider/impl/index.ts";

/** The dynamic provider's identity resources against a real `toolgate serve` (the implementation as the shim loads it). */

let gw: TestGateway;
let providers: typeof providerImpl.providers;
const owner = (type: string, name: string) => `urn:pulumi:dev::shop::pulumi-nodejs:dynamic/toolgate:${type}::${name}`;

before(async () => {
  gw = await startGateway();
  process.env.TOOLGATE_ENDPOINT = gw.adminUrl;
  process.env.TOOLGATE_TOKEN = gw.adminToken;
  ({ providers } = await import("../../provider/impl/index.ts"));
});

after(async () => {
  delete process.env.TOOLGATE_ENDPOINT;
  delete process.env.TOOLGATE_TOKEN;
  assert.equal(await gw.stop(), 0);
});

/** check then create, as the engine runs them. */
async function created(kind: keyof typeof providers, news: Props): Promise<{ inputs: Props; outs: Props }> {
  const checked = await providers[kind].check({}, news);
  assert.deepEqual(checked.failures, []);
  const r = await providers[kind].create(checked.inputs);
  return { inputs: checked.inputs, outs: r.outs as Props };
}

test("an identity provider: created with its secret sealed, read back without drift, a secret changed outside shows as drift, then deleted", async () => {
  const news = { name: "corp", owner: owner("IdentityProvider", "corp"), issuer: "https://login.example.com", clientId: "toolgate", clientSecret: "first-client-secret-0123" };
  const { inputs, outs } = await created("identityProvider", news);
  assert.equal(typeof outs.clientSecretDigest, "string");
  assert.equal(outs.clientSecret, "first-client-secret-0123", "kept in state (a secret output)");
  const live = await gw.admin.get<Record<string, unknown>>("identity-providers", "corp");
  assert.equal(live!.value.clientSecret, undefined, "the gateway never returns it");

  const refreshed = await providers.identityProvider.read("corp", outs);
  assert.deepEqual(refreshed.inputs, { ...inputs });

  await gw.admin.put("identity-providers", "corp", { name: "corp", owner: news.owner, issuer: news.issuer, clientId: "toolgate", clientSecret: "changed-by-hand-0123456" });
  const drifted = await providers.identityProvider.read("corp", outs);
  assert.equal(drifted.inputs!.clientSecret, "(changed outside Pulumi)");
  assert.notEqual(drifted.props!.clientSecretDigest, outs.clientSecretDigest);

  const rewritten = await providers.identityProvider.update("corp", drifted.props!, inputs);
  assert.equal(rewritten.outs!.clientSecretDigest, outs.clientSecretDigest, "up writes the program's secret back");

  await providers.identityProvider.delete("corp", rewritten.outs!);
  assert.equal(await gw.admin.get("identity-providers", "corp"), undefined);
});

test("a grant by identity holds no token; dropping identity makes it a token grant with a token", async () => {
  await created("identityProvider", { name: "okta", owner: owner("IdentityProvider", "okta"), issuer: "https://okta.example.com" });
  await created("server", { name: "payments", owner: owner("McpServer", "payments"), transport: { type: "streamable-http", url: "https://payments.example.com/mcp" }, tokenExchange: { identityProvider: "okta", audience: "payments-api" } });
  const identity = { identityProvider: "okta", claims: [{ claim: "groups", contains: "payments" }] };
  const { inputs, outs } = await created("grant", { name: "team", owner: owner("Grant", "team"), server: "payments", identity });
  assert.equal(outs.token, undefined);
  assert.deepEqual((await gw.admin.get<{ identity: unknown }>("grants", "team"))!.value.identity, identity);
  const read = await providers.grant.read("team", outs);
  assert.deepEqual(read.inputs, inputs);

  const server = await providers.server.read("payments", { name: "payments", owner: owner("McpServer", "payments"), transport: { type: "streamable-http", url: "https://payments.example.com/mcp" }, tokenExchange: { identityProvider: "okta", audience: "payments-api" } });
  assert.deepEqual(server.inputs!.tokenExchange, { identityProvider: "okta", audience: "payments-api" });

  const { identity: _dropped, ...tokenGrant } = inputs;
  const updated = await providers.grant.update("team", outs, tokenGrant);
  assert.match(String(updated.outs!.token), /^tg_/);
  const calls = await fetch(`${gw.proxyUrl}/mcp/payments`, { method: "POST", headers: { authorization: `Bearer ${String(updated.outs!.token)}`, "content-type": "application/json", accept: "application/json, text/event-stream" }, body: "{}" });
  assert.notEqual(calls.status, 401, "the issued token is the grant's");
});
