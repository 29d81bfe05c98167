/**
 * The Pulumi package schema of the native provider (provider/native/schema.json), generated from the admin API's
 * zod schemas: a field added there shows up as a resource input, with its `.meta({ description })`, and a field
 * marked `writeOnly` (a credential) is a secret. What only the Pulumi resources have (adopt, rotation, the
 * credential split, the outputs the provider adds) is listed per kind in RESOURCES below; adding a kind is one
 * entry there.
 */
import { readFileSync } from "node:fs";
import { z } from "zod";
import {
  ClaimConditionSchema,
  GrantObjectSchema,
  GrantSpecSchema,
  HttpTransportSchema,
  IdentityProviderObjectSchema,
  IdentityProviderSpecSchema,
  PolicyObjectSchema,
  PolicySpecSchema,
  ServerObjectSchema,
  ServerSpecSchema,
  StdioTransportSchema,
  WebhookObjectSchema,
  WebhookSpecSchema,
} from "../../sdk/index.ts";
import { converter, type Converter, type JsonSchema, type ObjectTypes, type PropertySpec } from "./pulumi-types.ts";

export const PACKAGE = "toolgate";
/** The Go SDK's import path: the generated module lives in sdks/go/toolgate of the project's repository. */
export const GO_IMPORT_BASE_PATH = "github.com/toolgate/toolgate/sdks/go/toolgate";

interface ResourceKind {
  /** `toolgate:index:<token>`. */
  token: string;
  description: string;
  /** The admin API request body. Each of its fields but `owner` (the provider sets it to the URN) is an input. */
  spec: z.ZodType;
  /** Admin API field → the resource's input, where the resource names it differently. */
  renamed?: Record<string, string>;
  /** Inputs of the resource besides the body's fields (or replacing one's description, like `name`). */
  inputs: Record<string, z.ZodType>;
  /** Outputs besides the inputs and `owner`. */
  outputs: Record<string, z.ZodType>;
  /** Outputs that hold a secret the gateway hands out or the provider keeps (inputs marked `writeOnly` are secret anyway). */
  secretOutputs?: string[];
  /** Outputs that every resource of the kind has after create, update and read. */
  requiredOutputs: string[];
}

const Name = (what: string) => z.string().meta({ description: `${what} Default: the resource's logical name (no random suffix). Changing it replaces the object.` });
const Adopt = (kind: string) =>
  z.boolean().meta({ description: `Take over a ${kind} of this name that exists in the gateway but was not created by this stack (it becomes owned by this resource).` });

export const RESOURCES: readonly ResourceKind[] = [
  {
    token: "McpServer",
    description: "An upstream MCP server registered with the gateway; agents reach it at `<gateway proxy>/mcp/<name>` with a Grant's token.",
    spec: ServerSpecSchema,
    inputs: { name: Name("The server's name in the gateway and in its URL (`/mcp/<name>`)."), adopt: Adopt("server") },
    outputs: {
      credentials: z
        .object({ headers: HttpTransportSchema.shape.headers, env: StdioTransportSchema.shape.env, secretArgs: StdioTransportSchema.shape.secretArgs })
        .meta({ description: "The transport's credentials (headers, env, secretArgs), kept apart from `transport` so that only they are secret." }),
      credentialRevisions: z
        .record(z.string(), z.number().int())
        .meta({ description: "For each credential (`headers.<name>`, `env.<name>`, `secretArgs[<i>]`) a number that goes up when it changes: diffs show which credential changed, never its value." }),
      version: ServerObjectSchema.shape.version,
    },
    secretOutputs: ["credentials"],
    requiredOutputs: ["name", "transport", "timeoutMs", "labels", "credentials", "credentialRevisions", "version"],
  },
  {
    token: "Policy",
    description: "A reusable policy document in the gateway (docs/policy.md), validated at `pulumi preview`.",
    spec: PolicySpecSchema,
    inputs: { name: Name("The policy's name in the gateway."), adopt: Adopt("policy") },
    outputs: { version: PolicyObjectSchema.shape.version },
    requiredOutputs: ["name", "document", "version"],
  },
  {
    token: "Grant",
    description: "A bearer credential that lets one agent use one server under at most one policy. `token` is a secret output, issued on create and kept across updates.",
    spec: GrantSpecSchema,
    inputs: {
      name: Name("The grant's name in the gateway (appears in audit rows)."),
      rotation: z.string().meta({ description: "Any string; changing it issues a new token and the old one stops working." }),
      adopt: Adopt("grant"),
    },
    outputs: { token: GrantObjectSchema.shape.token, url: GrantObjectSchema.shape.url, version: GrantObjectSchema.shape.version },
    secretOutputs: ["token"],
    requiredOutputs: ["name", "server", "url", "version"],
  },
  {
    token: "Webhook",
    description: "Approval notifications for a chat channel, an on-call tool or an approver service. Every delivery is signed with `signingSecret` (docs/approvals.md#webhooks).",
    spec: WebhookSpecSchema,
    renamed: { secret: "signingSecret" },
    inputs: { name: Name("The webhook's name in the gateway."), adopt: Adopt("webhook") },
    outputs: {
      secretDigest: WebhookObjectSchema.shape.secretDigest,
      signingSecretRevision: z.number().int().meta({ description: "A number that goes up when `signingSecret` changes: diffs show the change, never the secret." }),
      version: WebhookObjectSchema.shape.version,
    },
    requiredOutputs: ["name", "url", "events", "signingSecret", "secretDigest", "version"],
  },
  {
    token: "IdentityProvider",
    description:
      "An OAuth 2.1 / OpenID Connect authorization server whose access tokens the gateway accepts: grants with `identity` match its tokens' claims, servers with `tokenExchange` get tokens exchanged at it, `approvers` sign in to /ui/ with it (docs/identity.md).",
    spec: IdentityProviderSpecSchema,
    inputs: { name: Name("The identity provider's name in the gateway."), adopt: Adopt("identity provider") },
    outputs: {
      clientSecretDigest: IdentityProviderObjectSchema.shape.clientSecretDigest.meta({ description: "Changes when the client secret changes (an HMAC under a gateway-held key); reveals nothing. Absent without a client secret." }),
      clientSecretRevision: z.number().int().meta({ description: "A number that goes up when `clientSecret` changes: diffs show the change, never the secret." }),
      version: IdentityProviderObjectSchema.shape.version,
    },
    requiredOutputs: ["name", "issuer", "version"],
  },
];

/** The provider's configuration: explicit values win; the environment variables are only fallbacks. */
const ProviderConfigSchema = z.object({
  endpoint: z.string().meta({ description: "The gateway's admin API URL, e.g. `http://127.0.0.1:8081`. Falls back to the TOOLGATE_ENDPOINT environment variable." }),
  token: z.string().meta({ description: "The admin token. Falls back to the TOOLGATE_TOKEN environment variable.", writeOnly: true }),
  timeoutMs: z
    .number()
    .int()
    .min(100)
    .max(600_000)
    .meta({ description: "Timeout of each admin API request in milliseconds (100 to 600000). Falls back to the TOOLGATE_TIMEOUT_MS environment variable." }),
});

const jsonSchema = (schema: z.ZodType): JsonSchema => z.toJSONSchema(schema, { target: "draft-2020-12", io: "input", unrepresentable: "any" }) as JsonSchema;
const pascal = (s: string) => s.charAt(0).toUpperCase() + s.slice(1);

function resourceSpec(kind: ResourceKind, convert: Converter) {
  const body = jsonSchema(kind.spec);
  const property = (key: string, schema: JsonSchema) => convert.property(schema, `${kind.token}${pascal(key)}`);
  const inputProperties: Record<string, PropertySpec> = {};
  for (const [field, schema] of Object.entries(body.properties ?? {})) {
    if (field === "owner") continue;
    const key = kind.renamed?.[field] ?? field;
    inputProperties[key] = property(key, kind.inputs[key] ? jsonSchema(kind.inputs[key]) : schema);
  }
  for (const [key, schema] of Object.entries(kind.inputs)) inputProperties[key] ??= property(key, jsonSchema(schema));
  const requiredInputs = (body.required ?? []).map((f) => kind.renamed?.[f] ?? f).filter((k) => k !== "name");

  const properties: Record<string, PropertySpec> = { ...inputProperties, owner: property("owner", body.properties!.owner!) };
  for (const [key, schema] of Object.entries(kind.outputs)) properties[key] = property(key, jsonSchema(schema));
  for (const key of kind.secretOutputs ?? []) properties[key] = { ...properties[key], secret: true };
  for (const key of kind.requiredOutputs) if (!properties[key]) throw new Error(`${kind.token}: required output ${key} is not a property`);
  return { description: kind.description, properties, required: kind.requiredOutputs, inputProperties, ...(requiredInputs.length ? { requiredInputs } : {}) };
}

function packageVersion(): string {
  return (JSON.parse(readFileSync(new URL("../../package.json", import.meta.url), "utf8")) as { version: string }).version;
}

/** The package schema as an object. */
export function providerSchema(): Record<string, unknown> {
  const types: ObjectTypes = {};
  const convert = converter(PACKAGE, types, [[jsonSchema(ClaimConditionSchema), "ClaimCondition"]]);
  const resources = Object.fromEntries(RESOURCES.map((kind) => [`${PACKAGE}:index:${kind.token}`, resourceSpec(kind, convert)]));
  const config = Object.fromEntries(Object.entries(jsonSchema(ProviderConfigSchema).properties!).map(([key, schema]) => [key, convert.property(schema, `Provider${pascal(key)}`)]));
  return {
    name: PACKAGE,
    displayName: "Toolgate",
    version: packageVersion(),
    description: "MCP tool-call policy, managed as code: MCP servers, policies, grants and webhooks of a Toolgate gateway.",
    keywords: ["pulumi", "toolgate", "mcp", "category/utility", "kind/native"],
    license: "Apache-2.0",
    repository: "https://github.com/toolgate/toolgate",
    publisher: "Toolgate",
    meta: { moduleFormat: "(.*)" },
    config: { variables: config },
    provider: {
      description: "The provider type for the toolgate package: one gateway (admin API endpoint and token) per provider instance.",
      properties: { endpoint: config.endpoint },
      inputProperties: config,
    },
    resources,
    types: Object.fromEntries(Object.entries(types).sort(([a], [b]) => (a < b ? -1 : 1))),
    language: {
      nodejs: { packageName: PACKAGE, respectSchemaVersion: true },
      python: {
        packageName: "pulumi_toolgate",
        requires: { pulumi: ">=3.0.0,<4.0.0" },
        pyproject: { enabled: true },
        respectSchemaVersion: true,
        readme: "Pulumi resources for Toolgate, the MCP tool-call policy gateway: McpServer, Policy, Grant and Webhook.",
      },
      go: { importBasePath: GO_IMPORT_BASE_PATH, generateResourceContainerTypes: true, respectSchemaVersion: true },
      csharp: { rootNamespace: "Toolgate", packageReferences: { Pulumi: "3.*" }, respectSchemaVersion: true },
    },
  };
}

/** The committed file's exact text: pretty-printed with a trailing newline. */
export function providerSchemaText(): string {
  return JSON.stringify(providerSchema(), null, 2) + "\n";
}
