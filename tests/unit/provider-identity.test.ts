import { test, before } from "node:test";
import assert from "node:assert/strict";
import * as pulumi from "@pulumi/pulumi";
import { Grant, IdentityProvider, McpServer } from "../../provider/index.ts";
import { identityProviderProvider } from "../../provider/impl/identity-provider.ts";
import { grantProvider } from "../../provider/impl/grant.ts";
import { serverProvider } from "../../provider/impl/server.ts";
import { UNKNOWN } from "../../provider/impl/common.ts";

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
        return { id: String(args.inputs.name), state: { ...args.inputs } };
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
const owner = (type: string, name: string) => `urn:pulumi:prod::shop::pulumi-nodejs:dynamic/toolgate:${type}::${name}`;
const idp = { name: "okta", owner: owner("IdentityProvider", "okta"), issuer: "https://example.okta.com/oauth2/default" };

test("an IdentityProvider's client secret is secret in and out; other inputs stay readable", async () => {
  const okta = new IdentityProvider("okta", { issuer: idp.issuer, clientId: "toolgate", clientSecret: "s3cr3t-client-secret" });
  assert.equal(await isSecret(okta.clientSecret), true);
  assert.equal(await isSecret(okta.issuer), false);
  assert.equal(await isSecret(okta.clientId), false);
  const byName = Object.fromEntries(registered.map((r) => [r.name, r]));
  assert.equal(byName.okta!.type, "pulumi-nodejs:dynamic/toolgate:IdentityProvider");
  assert.equal(byName.okta!.inputs.owner, owner("IdentityProvider", "okta"));
});

test("grants and servers name the identity provider resource by its name", async () => {
  const corp = new IdentityProvider("corp", { issuer: "https://login.example.com" });
  const server = new McpServer("payments", {
    transport: { type: "streamable-http", url: "https://payments.example.com/mcp" },
    tokenExchange: { identityProvider: corp, audience: "payments-api", scope: "payments:read" },
    approvers: { identityProvider: corp, claims: [{ claim: "groups", contains: "payments-oncall" }] },
  });
  const team = new Grant("payments-team", { server, policy: "read-only", identity: { identityProvider: corp, claims: [{ claim: "groups", contains: "payments" }] } });
  assert.deepEqual(await resolve(server.tokenExchange), { identityProvider: "corp", audience: "payments-api", scope: "payments:read" });
  assert.deepEqual(await resolve(server.approvers), { identityProvider: "corp", claims: [{ claim: "groups", contains: "payments-oncall" }] });
  assert.deepEqual(await resolve(team.identity), { identityProvider: "corp", claims: [{ claim: "groups", contains: "payments" }] });
});

test("check refuses an identity provider's bad inputs with the field named, never echoing the client secret", async () => {
  const { failures } = await identityProviderProvider.check({}, {
    ...idp,
    issuer: "http://idp.example.com",
    jwksUri: "https://user:pw@idp.example.com/jwks",
    algorithms: ["HS256"],
    clockSkewSeconds: 900,
    clientId: "toolgate",
    clientSecret: ["hunter2-secret"],
  });
  assert.deepEqual(failures, [
    { property: "issuer", reason: 'issuer must be an https URL (http only on localhost), got scheme "http:" on idp.example.com' },
    { property: "jwksUri", reason: "jwksUri must not contain credentials" },
    { property: "algorithms[0]", reason: 'algorithms entries must be one of RS256, RS384, RS512, PS256, PS384, PS512, ES256, ES384, ES512, EdDSA (never none or HS*), got "HS256"' },
    { property: "clockSkewSeconds", reason: "clockSkewSeconds must be at most 300" },
    { property: "clientSecret", reason: "clientSecret must be a string, got a list" },
  ]);
  assert.doesNotMatch(JSON.stringify(failures), /hunter2/);

  const orphanSecret = await identityProviderProvider.check({}, { ...idp, clientSecret: "s3cr3t-client-secret" });
  assert.deepEqual(orphanSecret.failures, [{ property: "clientSecret", reason: "clientSecret needs clientId: it is the secret of the gateway's client at this identity provider" }]);

  const local = await identityProviderProvider.check({}, { ...idp, issuer: "http://127.0.0.1:4000", audiences: ["api://payments"] });
  assert.deepEqual(local.failures, []);
  const unknownIssuer = await identityProviderProvider.check({}, { ...idp, issuer: UNKNOWN });
  assert.deepEqual(unknownIssuer.failures, []);
});

test("a changed client secret shows as a new revision, never as its value", async () => {
  const first = await identityProviderProvider.check({}, { ...idp, clientId: "toolgate", clientSecret: "first-client-secret" });
  assert.equal(first.inputs.clientSecretRevision, 1);
  const same = await identityProviderProvider.check(first.inputs, { ...idp, clientId: "toolgate", clientSecret: "first-client-secret" });
  assert.equal(same.inputs.clientSecretRevision, 1);
  const rotated = await identityProviderProvider.check(same.inputs, { ...idp, clientId: "toolgate", clientSecret: "second-client-secret" });
  assert.equal(rotated.inputs.clientSecretRevision, 2);
  const dropped = await identityProviderProvider.check(rotated.inputs, { ...idp });
  assert.equal(dropped.inputs.clientSecretRevision, undefined);
});

test("check refuses a grant's bad identity by path, and rotation on a grant that holds no token", async () => {
  const grant = (extra: Record<string, unknown>) => grantProvider.check({}, { name: "team", server: "payments", owner: owner("Grant", "team"), ...extra });
  assert.deepEqual((await grant({ identity: { identityProvider: "corp", claims: [{ claim: "groups", contains: "payments" }] } })).failures, []);
  assert.deepEqual((await grant({ identity: { identityProvider: "Corp!", emailDomain: "example", claims: [{ claim: "groups", equals: "a", contains: "b" }], sub: "x" } })).failures, [
    { property: "identity.identityProvider", reason: 'identityProvider must name an IdentityProvider (1-63 characters of a-z, 0-9, ".", "_" or "-"), got "Corp!"' },
    { property: "identity.emailDomain", reason: 'emailDomain must be a domain like example.com, got "example"' },
    { property: "identity.claims[0]", reason: "a claim condition needs exactly one of equals or contains" },
    { property: "identity.sub", reason: 'unknown key "sub"' },
  ]);
  assert.deepEqual((await grant({ identity: { identityProvider: "corp", subject: "alice" }, rotation: "2026-01" })).failures, [
    { property: "rotation", reason: "rotation applies to token grants; a grant with identity holds no token (remove rotation, or identity)" },
  ]);
  assert.deepEqual((await grant({ identity: { identityProvider: UNKNOWN, subject: "alice" } })).failures, []);
});

test("check refuses a server's bad tokenExchange and approvers by path, and a token exchange for a server without HTTP headers", async () => {
  const server = (extra: Record<string, unknown>) => serverProvider.check({}, { name: "payments", owner: owner("McpServer", "payments"), transport: { type: "streamable-http", url: "https://payments.example.com/mcp" }, ...extra });
  const good = await server({ tokenExchange: { identityProvider: "corp", audience: "payments-api", resource: "https://payments.example.com/mcp" }, approvers: { identityProvider: "corp", claims: [{ claim: "groups", contains: "oncall" }] } });
  assert.deepEqual(good.failures, []);
  assert.deepEqual(good.inputs.tokenExchange, { identityProvider: "corp", audience: "payments-api", resource: "https://payments.example.com/mcp" });
  assert.deepEqual((await server({ tokenExchange: { identityProvider: "corp", resource: "http://payments.example.com/mcp" }, approvers: { identityProvider: "corp", claims: [] } })).failures, [
    { property: "tokenExchange.audience", reason: "audience must be a string, it is missing" },
    { property: "tokenExchange.resource", reason: 'resource must be an https URL (http only on localhost), got scheme "http:" on payments.example.com' },
    { property: "approvers.claims", reason: "approvers need at least one claim condition" },
  ]);
  const stdio = await serverProvider.check({}, { name: "db", owner: owner("McpServer", "db"), transport: { type: "stdio", command: "db-mcp" }, tokenExchange: { identityProvider: "corp", audience: "db" } });
  assert.deepEqual(stdio.failures, [
    { property: "tokenExchange", reason: "tokenExchange needs a streamable-http transport: the exchanged token is sent as the upstream's Authorization header, and a stdio server has none" },
  ]);
});
