import { z } from "zod";
import { GrantObjectSchema, GrantSpecSchema, IdentityProviderObjectSchema, IdentityProviderSpecSchema, WhoamiRequestSchema, PolicyObjectSchema, PolicySpecSchema, ProblemSchema, ServerObjectSchema, ServerSpecSchema, SDK_VERSION, WebhookObjectSchema, WebhookSpecSchema, policyJsonSchema } from "../../sdk/index.ts";

/** OpenAPI 3.1 of the admin API, generated from the same zod schemas the API validates with. */
export function openApiDocument(): Record<string, unknown> {
  const schema = (s: z.ZodType, io: "input" | "output") => z.toJSONSchema(s, { target: "draft-2020-12", io, unrepresentable: "any" });
  const ref = (name: string) => ({ $ref: `#/components/schemas/${name}` });
  const json = (name: string) => ({ content: { "application/json": { schema: ref(name) } } });
  const problem = (description: string) => ({ description, content: { "application/problem+json": { schema: ref("Problem") } } });
  const errors = { "400": problem("Invalid input; `issues` lists every problem with its JSON pointer"), "401": problem("Missing or wrong admin token"), "404": problem("No such object"), "412": problem("If-Match / If-None-Match failed"), "413": problem("Body too large"), "415": problem("Not application/json") };
  const nameParam = { name: "name", in: "path", required: true, schema: { type: "string", pattern: "^[a-z0-9][a-z0-9._-]{0,62}$" } };
  const pageParams = [
    { name: "limit", in: "query", schema: { type: "integer", minimum: 1, maximum: 500, default: 100 } },
    { name: "cursor", in: "query", schema: { type: "string" }, description: "nextCursor of the previous page" },
  ];
  const conditional = [
    { name: "If-Match", in: "header", schema: { type: "string" }, description: 'ETag of the version you read, e.g. "3"' },
    { name: "If-None-Match", in: "header", schema: { const: "*" }, description: "Only create" },
  ];
  const idempotencyKey = { name: "Idempotency-Key", in: "header", schema: { type: "string", pattern: "^[\\x21-\\x7e]{1,200}$" }, description: "A write with the key of the object's last write is answered with the object as it is (Idempotent-Replayed: true), not applied again" };
  const crud = (kind: string, spec: string, object: string) => ({
    [`/v1/${kind}`]: { get: { summary: `List ${kind}`, parameters: pageParams, responses: { "200": { description: "A page", content: { "application/json": { schema: { type: "object", properties: { items: { type: "array", items: ref(object) }, nextCursor: { type: ["string", "null"] } } } } } }, "401": errors["401"] } } },
    [`/v1/${kind}/{name}`]: {
      parameters: [nameParam],
      get: { summary: `Read one of ${kind}`, responses: { "200": { description: "The object; ETag header carries its version", ...json(object) }, "401": errors["401"], "404": errors["404"] } },
      put: { summary: `Create or update (idempotent upsert)`, parameters: [...conditional, idempotencyKey], requestBody: { required: true, ...json(spec) }, responses: { "200": { description: "Updated (or unchanged)", ...json(object) }, "201": { description: "Created", ...json(object) }, ...errors } },
      delete: { summary: "Delete", parameters: conditional.slice(0, 1), responses: { "204": { description: "Deleted" }, "401": errors["401"], "404": errors["404"], "412": errors["412"] } },
    },
  });
  return {
    openapi: "3.1.0",
    info: { title: "Toolgate admin API", version: SDK_VERSION, description: "Servers, policies and grants of a Toolgate gateway. Authenticate with `Authorization: Bearer <admin token>`." },
    components: {
      securitySchemes: { adminToken: { type: "http", scheme: "bearer" } },
      schemas: {
        ServerSpec: schema(ServerSpecSchema, "input"),
        PolicySpec: { ...schema(PolicySpecSchema, "input"), properties: { ...(schema(PolicySpecSchema, "input").properties as object), document: policyJsonSchema() } },
        GrantSpec: schema(GrantSpecSchema, "input"),
        Server: schema(ServerObjectSchema, "output"),
        Policy: schema(PolicyObjectSchema, "output"),
        Grant: schema(GrantObjectSchema, "output"),
        WebhookSpec: schema(WebhookSpecSchema, "input"),
        Webhook: schema(WebhookObjectSchema, "output"),
        IdentityProviderSpec: schema(IdentityProviderSpecSchema, "input"),
        IdentityProvider: schema(IdentityProviderObjectSchema, "output"),
        WhoamiRequest: schema(WhoamiRequestSchema, "input"),
        Problem: schema(ProblemSchema, "output"),
      },
    },
    security: [{ adminToken: [] }],
    paths: {
      ...crud("servers", "ServerSpec", "Server"),
      ...crud("policies", "PolicySpec", "Policy"),
      ...crud("grants", "GrantSpec", "Grant"),
      ...crud("webhooks", "WebhookSpec", "Webhook"),
      ...crud("identity-providers", "IdentityProviderSpec", "IdentityProvider"),
      "/v1/grants/{name}/rotate": { post: { summary: "Issue a new token; the old one stops working (409 for a grant by identity, which holds none)", parameters: [nameParam], responses: { "200": { description: "The grant with its new token (shown once)", ...json("Grant") }, "401": errors["401"], "404": errors["404"] } } },
      "/v1/identity/whoami": { post: { summary: "Which grant and policy a bearer (access token or grant token) gets on a server, and why: the identity provider that accepted it (issuer, audience, expiry), the claims that mattered, each grant by identity with every condition's outcome, or the refusal a call gets. The token is never logged or echoed", requestBody: { required: true, ...json("WhoamiRequest") }, responses: { "200": { description: "{server, resource, token, claims, grants, result}" }, "400": errors["400"], "401": errors["401"], "404": problem("No such server"), "415": errors["415"] } } },
      "/v1/servers/{name}/tools": { get: { summary: "The server's tools from the catalog: risk category, severity, evidence, definition hash and review state", parameters: [nameParam], responses: { "200": { description: "{server, items: CatalogTool[]}" }, "401": errors["401"], "404": errors["404"] } } },
      "/v1/servers/{name}/tools/refresh": { post: { summary: "Re-read the server's tools from the upstream now", parameters: [nameParam], responses: { "200": { description: "{server, items: CatalogTool[]}" }, "404": errors["404"], "502": { description: "The upstream did not answer tools/list" } } } },
      "/v1/servers/{name}/tools/review": { post: { summary: "Accept the current definition of one tool (?tool=) or of every tool of the server", parameters: [nameParam, { name: "tool", in: "query", schema: { type: "string" } }], responses: { "200": { description: "{server, reviewed: number}" }, "404": errors["404"] } } },
      "/v1/approvals": { get: { summary: "Approvals, oldest first: filter by status (pending, approved, denied, consumed, expired), grant, server, tool", parameters: [...["status", "grant", "server", "tool"].map((n) => ({ name: n, in: "query", schema: { type: "string" } })), ...pageParams], responses: { "200": { description: "{items: Approval[], nextCursor}" } } } },
      "/v1/approvals/{id}": { get: { summary: "One approval, with the call's arguments", parameters: [{ name: "id", in: "path", required: true, schema: { type: "string" } }], responses: { "200": { description: "Approval" }, "404": errors["404"] } } },
      "/v1/approvals/{id}/approve": { post: { summary: "Approve a pending call: the identical call then passes once", parameters: [{ name: "id", in: "path", required: true, schema: { type: "string" } }], requestBody: { content: { "application/json": { schema: { type: "object", required: ["by"], properties: { by: { type: "string" }, reason: { type: "string" } } } } } }, responses: { "200": { description: "Approval" }, "404": errors["404"], "409": { description: "Not pending any more" } } } },
      "/v1/approvals/{id}/deny": { post: { summary: "Deny a pending call; the agent is told the reason", parameters: [{ name: "id", in: "path", required: true, schema: { type: "string" } }], requestBody: { content: { "application/json": { schema: { type: "object", required: ["by", "reason"], properties: { by: { type: "string" }, reason: { type: "string" } } } } } }, responses: { "200": { description: "Approval" }, "404": errors["404"], "409": { description: "Not pending any more" } } } },
      "/v1/audit": { get: { summary: "Query decisions (oldest first)", parameters: [...["grant", "subject", "server", "tool", "decision", "since", "until"].map((n) => ({ name: n, in: "query", schema: { type: "string" } })), ...pageParams], responses: { "200": { description: "A page of audit rows" } } } },
      "/v1/audit/export": { get: { summary: "All matching audit rows as JSON lines", responses: { "200": { description: "application/x-ndjson" } } } },
      "/healthz": { get: { security: [], summary: "Liveness", responses: { "200": { description: "Alive" } } } },
      "/readyz": { get: { security: [], summary: "Readiness (store reachable)", responses: { "200": { description: "Ready" }, "503": { description: "Not ready, with the reason" } } } },
      "/metrics": { get: { summary: "Prometheus metrics", responses: { "200": { description: "text/plain; version=0.0.4" } } } },
      "/openapi.json": { get: { summary: "This document", responses: { "200": { description: "OpenAPI 3.1" } } } },
    },
  };
}
