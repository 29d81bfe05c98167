import { test } from "node:test";
import assert from "node:assert/strict";
import { readFileSync } from "node:fs";
import { providerSchemaText } from "../../scripts/provider-schema/package.ts";

interface Property {
  type?: string;
  $ref?: string;
  secret?: boolean;
  description?: string;
  items?: Property;
  additionalProperties?: Property;
  oneOf?: Property[];
}
interface Resource {
  properties: Record<string, Property>;
  required: string[];
  inputProperties: Record<string, Property>;
  requiredInputs?: string[];
}
interface Schema {
  name: string;
  version: string;
  config: { variables: Record<string, Property> };
  provider: { inputProperties: Record<string, Property> };
  resources: Record<string, Resource>;
  types: Record<string, { properties: Record<string, Property>; required?: string[] }>;
  language: Record<string, Record<string, unknown>>;
}

const committed = readFileSync(new URL("../../provider/native/schema.json", import.meta.url), "utf8");
const schema = JSON.parse(committed) as Schema;
const resource = (name: string) => schema.resources[`toolgate:index:${name}`]!;
const secretsOf = (props: Record<string, Property>) => Object.keys(props).filter((k) => props[k]!.secret === true);

test("provider/native/schema.json is current (regenerate with `npm run schema`)", () => {
  assert.equal(committed, providerSchemaText(), "the committed provider schema is stale: run `npm run schema` and commit the result");
});

test("the package is toolgate at the npm package's version, with an SDK name for each generated language", () => {
  const pkg = JSON.parse(readFileSync(new URL("../../package.json", import.meta.url), "utf8")) as { version: string };
  assert.equal(schema.name, "toolgate");
  assert.equal(schema.version, pkg.version);
  assert.equal(schema.language.python!.packageName, "pulumi_toolgate");
  assert.equal(schema.language.go!.importBasePath, "github.com/toolgate/toolgate/sdks/go/toolgate");
  assert.equal(schema.language.csharp!.rootNamespace, "Toolgate");
});

test("the resource type tokens are the five kinds of the contract", () => {
  assert.deepEqual(Object.keys(schema.resources).sort(), ["toolgate:index:Grant", "toolgate:index:IdentityProvider", "toolgate:index:McpServer", "toolgate:index:Policy", "toolgate:index:Webhook"]);
});

test("provider config: endpoint, a secret token and an integer timeout, the same for stack config and explicit providers", () => {
  for (const props of [schema.config.variables, schema.provider.inputProperties]) {
    assert.deepEqual(Object.keys(props), ["endpoint", "token", "timeoutMs"]);
    assert.equal(props.endpoint!.type, "string");
    assert.equal(props.token!.type, "string");
    assert.equal(props.timeoutMs!.type, "integer");
    assert.deepEqual(secretsOf(props), ["token"]);
  }
});

test("required inputs: name defaults to the logical name, owner is never an input", () => {
  assert.deepEqual(resource("McpServer").requiredInputs, ["transport"]);
  assert.deepEqual(resource("Policy").requiredInputs, ["document"]);
  assert.deepEqual(resource("Grant").requiredInputs, ["server"]);
  assert.deepEqual(resource("Webhook").requiredInputs, ["url", "signingSecret"]);
  assert.deepEqual(resource("IdentityProvider").requiredInputs, ["issuer"]);
  for (const name of ["McpServer", "Policy", "Grant", "Webhook", "IdentityProvider"]) {
    const r = resource(name);
    assert.equal(r.inputProperties.name?.type, "string", `${name} has a name input`);
    assert.equal(r.inputProperties.adopt?.type, "boolean", `${name} has an adopt input`);
    assert.equal(r.inputProperties.owner, undefined, `${name} has no owner input`);
    assert.equal(r.properties.owner?.type, "string", `${name} outputs its live owner`);
    assert.equal(r.properties.version?.type, "integer", `${name} outputs its version`);
    assert.ok(r.required.includes("name") && r.required.includes("version"));
    for (const key of Object.keys(r.inputProperties)) assert.ok(r.properties[key], `${name}.${key} is also an output`);
  }
});

test("secrets: credentials, the grant token and the webhook signing secret, and nothing else at the top level", () => {
  assert.deepEqual(secretsOf(resource("McpServer").properties), ["credentials"]);
  assert.deepEqual(secretsOf(resource("McpServer").inputProperties), []);
  assert.deepEqual(secretsOf(resource("Grant").properties), ["token"]);
  assert.deepEqual(secretsOf(resource("Webhook").inputProperties), ["signingSecret"]);
  assert.deepEqual(secretsOf(resource("Webhook").properties), ["signingSecret"]);
  assert.deepEqual(secretsOf(resource("Policy").properties), []);
  assert.deepEqual(secretsOf(resource("IdentityProvider").inputProperties), ["clientSecret"]);
  assert.deepEqual(secretsOf(resource("IdentityProvider").properties), ["clientSecret"]);
  assert.deepEqual(secretsOf(schema.types["toolgate:index:McpServerTransport"]!.properties).sort(), ["env", "headers", "secretArgs"]);
  assert.deepEqual(secretsOf(schema.types["toolgate:index:McpServerCredentials"]!.properties).sort(), ["env", "headers", "secretArgs"]);
});

test("McpServer: one transport object type for every transport, roots and credentials as object types", () => {
  const server = resource("McpServer");
  assert.equal(server.inputProperties.transport!.$ref, "#/types/toolgate:index:McpServerTransport");
  assert.equal(server.properties.credentials!.$ref, "#/types/toolgate:index:McpServerCredentials");
  assert.deepEqual(server.properties.credentialRevisions, { ...server.properties.credentialRevisions, type: "object", additionalProperties: { type: "integer" } });
  assert.equal(server.inputProperties.roots!.items!.$ref, "#/types/toolgate:index:McpServerRoot");
  assert.equal(server.inputProperties.timeoutMs!.type, "integer");
  assert.deepEqual(server.inputProperties.labels!.additionalProperties, { type: "string" });
  const transport = schema.types["toolgate:index:McpServerTransport"]!;
  assert.deepEqual(Object.keys(transport.properties), ["type", "url", "headers", "command", "args", "secretArgs", "env", "cwd", "user", "group", "stateful"]);
  assert.deepEqual(transport.required, ["type"]);
  assert.match(transport.properties.type!.description!, /`streamable-http`, `sse`, `stdio`/);
  assert.deepEqual(transport.properties.user!.oneOf, [{ type: "string" }, { type: "number" }], "user is a name or a numeric id");
  assert.equal(transport.properties.user!.type, "string");
  assert.deepEqual(schema.types["toolgate:index:McpServerRoot"]!.required, ["uri"]);
});

test("Policy document is any JSON; Grant outputs url and token; Webhook outputs its digest and revision", () => {
  assert.equal(resource("Policy").inputProperties.document!.$ref, "pulumi.json#/Any");
  const grant = resource("Grant");
  assert.deepEqual(Object.keys(grant.inputProperties), ["name", "server", "policy", "expiresAt", "identity", "description", "rotation", "adopt"]);
  assert.equal(grant.properties.url!.type, "string");
  assert.equal(grant.properties.token!.type, "string");
  const webhook = resource("Webhook");
  assert.equal(webhook.inputProperties.secret, undefined, "the admin API's `secret` is the resource's signingSecret");
  assert.deepEqual(webhook.inputProperties.events, { ...webhook.inputProperties.events, type: "array", items: { type: "string" } });
  assert.equal(webhook.properties.secretDigest!.type, "string");
  assert.equal(webhook.properties.signingSecretRevision!.type, "integer");
});

test("every property of every resource and type has a description (the per-property reference docs)", () => {
  const missing: string[] = [];
  for (const [token, r] of Object.entries(schema.resources)) {
    for (const [key, p] of Object.entries({ ...r.inputProperties, ...r.properties })) if (!p.description) missing.push(`${token}.${key}`);
  }
  for (const [token, t] of Object.entries(schema.types)) for (const [key, p] of Object.entries(t.properties)) if (!p.description) missing.push(`${token}.${key}`);
  assert.deepEqual(missing, [], "add .meta({ description }) to these fields' zod schemas");
});

test("every $ref points at a type in the schema or at pulumi.json#/Any", () => {
  const refs = [...committed.matchAll(/"\$ref": "([^"]+)"/g)].map((m) => m[1]!);
  assert.ok(refs.length > 5);
  for (const ref of refs) assert.ok(ref === "pulumi.json#/Any" || schema.types[ref.replace("#/types/", "")], `${ref} is defined`);
});
