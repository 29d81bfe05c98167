import { z } from "zod";
import { validatePolicy } from "./policy/validate.ts";
import { joinPointer, type Issue } from "./issues.ts";
import { ApproversSchema, GrantIdentitySchema, TokenExchangeSchema } from "./identity.ts";

/**
 * Admin API objects (DESIGN.md section 3). Names are identities used in URLs and audit rows: lower case,
 * 1-63 characters. These schemas validate admin API requests, the provider's `check`, and generate OpenAPI.
 */
export const NAME_PATTERN = /^[a-z0-9][a-z0-9._-]{0,62}$/;

const got = (input: unknown) => (input === undefined ? "it is missing" : `got ${JSON.stringify(input)}`);
/** Messages for secret-bearing fields never echo the value. */
const gotType = (input: unknown) => (input === undefined ? "it is missing" : `got ${Array.isArray(input) ? "a list" : input === null ? "null" : typeof input}`);
/** URLs may carry credentials (user:password@, tokens in the path or query): a message names only their scheme. */
const gotUrl = (input: unknown) => (typeof input !== "string" ? gotType(input) : URL.canParse(input) ? `got scheme ${JSON.stringify(new URL(input).protocol)}` : "got text that is not a URL");
const isHttpUrl = (u: string) => URL.canParse(u) && ["http:", "https:"].includes(new URL(u).protocol);
const hasNoCredentials = (u: string) => !URL.canParse(u) || (new URL(u).username === "" && new URL(u).password === "");

export const NameSchema = z
  .string({ error: (i) => `name must be a string, ${got(i.input)}` })
  .regex(NAME_PATTERN, { error: (i) => `name must be 1-63 characters of a-z, 0-9, ".", "_" or "-", starting with a letter or digit, ${got(i.input)}` });

const HEADER_NAME = /^[!#$%&'*+.^_`|~0-9A-Za-z-]+$/;
const FORBIDDEN_HEADERS = new Set(["host", "content-length", "connection", "transfer-encoding", "mcp-session-id", "mcp-protocol-version", "cookie"]);

const Headers = z
  .record(
    z.string().regex(HEADER_NAME, { error: (i) => `header name ${JSON.stringify(i.input)} is not a valid HTTP header name` }).refine((h) => !FORBIDDEN_HEADERS.has(h.toLowerCase()), { error: (i) => `header ${JSON.stringify(i.input)} is managed by the gateway and cannot be configured` }),
    z.string({ error: (i) => `header values must be strings, ${gotType(i.input)}` }).refine((v) => !/[\r\n\0]/.test(v), { error: "header values must not contain line breaks" }),
    { error: (i) => `headers must be an object of header name to value, ${gotType(i.input)}` },
  )
  .meta({ description: "Sent to the upstream on every request (API keys, tenant IDs). Secret: encrypted at rest, never returned.", writeOnly: true });

const Env = z
  .record(
    z.string().regex(/^[A-Za-z_][A-Za-z0-9_]*$/, { error: (i) => `environment variable name ${JSON.stringify(i.input)} is not valid` }),
    z.string({ error: (i) => `environment values must be strings, ${gotType(i.input)}` }),
    { error: (i) => `env must be an object of variable name to value, ${gotType(i.input)}` },
  )
  .meta({ description: "Environment of the child process. Secret: encrypted at rest, never returned.", writeOnly: true });

export const HttpTransportSchema = z.strictObject({
  type: z.literal("streamable-http"),
  url: z
    .string({ error: (i) => `url must be a string, ${gotType(i.input)}` })
    .refine(isHttpUrl, { error: (i) => `url must be an http(s) URL, ${gotUrl(i.input)}` })
    .refine(hasNoCredentials, { error: "url must not contain credentials; put them in headers" })
    .meta({ description: "The upstream's http(s) URL, without credentials: the MCP endpoint for streamable-http (e.g. `https://mcp.example.com/mcp`), the event stream for sse (e.g. `https://mcp.example.com/sse`)." }),
  headers: Headers.optional(),
});

const SecretArgs = z
  .array(
    z.string({ error: (i) => `secretArgs entries must be strings, ${gotType(i.input)}` }).refine((a) => !a.includes("\0"), { error: "secretArgs entries must not contain NUL characters" }),
    { error: (i) => `secretArgs must be a list of strings, ${gotType(i.input)}` },
  )
  .meta({ description: "Arguments appended after args (API keys, connection strings). Secret: encrypted at rest, never returned.", writeOnly: true });

/** A POSIX user or group name, or a numeric id; resolved when the child is started. */
const POSIX_NAME = /^[A-Za-z_][A-Za-z0-9_.-]{0,31}$/;
const RunAs = (field: "user" | "group") =>
  z
    .union([z.string(), z.number()], { error: (i) => `${field} must be a ${field} name or a numeric id, ${got(i.input)}` })
    .refine((v) => (typeof v === "number" ? Number.isInteger(v) && v >= 0 && v < 2 ** 32 - 1 : POSIX_NAME.test(v)), {
      error: (i) => `${field} must be a ${field} name (up to 32 letters, digits, ".", "_" or "-", starting with a letter or "_") or a numeric id given as a number (0 to 4294967294), ${got(i.input)}`,
    })
    .meta({ description: `Run the child process as this ${field} (name or id). Takes effect when the gateway runs as root.` });

export const StdioTransportSchema = z.strictObject({
  type: z.literal("stdio"),
  command: z
    .string({ error: (i) => `command must be a string, ${got(i.input)}` })
    .min(1, { error: "command must not be empty" })
    .meta({ description: "The command the gateway runs (looked up on the gateway's PATH); children are started per session and pooled." }),
  args: z
    .array(z.string({ error: (i) => `args entries must be strings, ${gotType(i.input)}` }), { error: (i) => `args must be a list of strings, ${gotType(i.input)}` })
    .meta({ description: "Arguments of the command. Shown in previews and the admin API: put keys in secretArgs." })
    .optional(),
  secretArgs: SecretArgs.optional(),
  env: Env.optional(),
  cwd: z
    .string({ error: (i) => `cwd must be a string, ${got(i.input)}` })
    .min(1)
    .meta({ description: "Working directory of the child process. Default: a scratch directory of its own." })
    .optional(),
  user: RunAs("user").optional(),
  group: RunAs("group").optional(),
  stateful: z
    .boolean({ error: (i) => `stateful must be true or false, ${got(i.input)}` })
    .meta({ description: "The server keeps state between requests of one client, so each grant gets processes of its own (2026-07-28 requests). Default false: one pool per server, shared by grants." })
    .optional(),
});

/** Legacy HTTP+SSE (MCP 2024-11-05, deprecated by the spec): `url` is the server's GET event stream. */
export const SseTransportSchema = HttpTransportSchema.extend({ type: z.literal("sse") });

export const TransportSchema = z.discriminatedUnion("type", [HttpTransportSchema, SseTransportSchema, StdioTransportSchema], {
  error: (i) => `transport.type must be "streamable-http", "sse" or "stdio", ${got((i.input as { type?: unknown } | undefined)?.type)}`,
}).meta({ description: "How the gateway reaches the upstream MCP server. Credentials (headers, env, secretArgs) are kept apart, as secrets." });

const Labels = z
  .record(z.string().min(1).max(63), z.string().max(256), { error: (i) => `labels must be an object of string to string, ${got(i.input)}` })
  .meta({ description: "Free-form key/value pairs (keys up to 63 characters, values up to 256), shown by the admin API." });
const Description = z
  .string({ error: (i) => `description must be a string, ${got(i.input)}` })
  .max(1024, { error: "description must be at most 1024 characters" })
  .meta({ description: "A note for the people who read the gateway's configuration (up to 1024 characters)." });
/** Who manages the object, e.g. the URN of the Pulumi resource; lets two stacks or resources notice they claim the same name. */
const Owner = z
  .string({ error: (i) => `owner must be a string, ${got(i.input)}` })
  .max(1024, { error: "owner must be at most 1024 characters" })
  .nullable()
  .meta({ description: "Who manages the object now: the URN of the Pulumi resource that wrote it. A refresh shows a takeover by another stack." });

export const DEFAULT_TIMEOUT_MS = 30_000;
/** Calls in flight to one upstream at once when the server does not say. */
export const DEFAULT_MAX_IN_FLIGHT = 256;
export const MAX_ROOTS = 100;

const Milliseconds = (field: string) =>
  z
    .number({ error: (i) => `${field} must be a number of milliseconds, ${got(i.input)}` })
    .int({ error: `${field} must be a whole number of milliseconds` })
    .min(100, { error: `${field} must be at least 100` })
    .max(3_600_000, { error: `${field} must be at most 3600000 (one hour)` });

const absoluteUri = (u: string) => URL.canParse(u) && !/[\s\0]/.test(u);
export const RootSchema = z.strictObject({
  uri: z
    .string({ error: (i) => `uri must be a string, ${gotType(i.input)}` })
    .max(2048, { error: "uri must be at most 2048 characters" })
    .refine(absoluteUri, { error: (i) => `uri must be an absolute URI without spaces, such as file:///srv/data, ${gotUrl(i.input)}` })
    .meta({ description: "An absolute URI, e.g. `file:///srv/data`." }),
  name: z
    .string({ error: (i) => `name must be a string, ${got(i.input)}` })
    .max(256, { error: "name must be at most 256 characters" })
    .meta({ description: "A name for the root, shown to the server." })
    .optional(),
});

export const ServerSpecSchema = z
  .strictObject({
    name: NameSchema,
    transport: TransportSchema,
    /** Idle timeout: a call fails when the upstream sends nothing (no bytes, no progress) for this long. */
    timeoutMs: Milliseconds("timeoutMs")
      .default(DEFAULT_TIMEOUT_MS)
      .meta({ description: `Idle timeout in milliseconds (100 to 3600000, default ${DEFAULT_TIMEOUT_MS}): a call fails when the upstream sends nothing, not even progress, for this long.` }),
    /** Bound on a whole call, however busy the upstream is. None when absent. */
    totalTimeoutMs: Milliseconds("totalTimeoutMs")
      .meta({ description: "Bound on a whole call in milliseconds (at least timeoutMs, at most 3600000), however busy the upstream is. Default: none." })
      .optional(),
    /** Most calls in flight to this upstream at once (default 256); beyond it calls fail at once as busy. */
    maxInFlight: z
      .number({ error: (i) => `maxInFlight must be a number, ${got(i.input)}` })
      .int({ error: "maxInFlight must be a whole number" })
      .min(1, { error: "maxInFlight must be at least 1" })
      .max(1024, { error: "maxInFlight must be at most 1024" })
      .meta({ description: `Most calls in flight to this upstream at once, 1 to 1024 (default ${DEFAULT_MAX_IN_FLIGHT}); beyond it calls fail at once as busy.` })
      .optional(),
    /** Pinned roots: the gateway answers the server's roots/list with these, whatever the agent says. */
    roots: z
      .array(RootSchema, { error: (i) => `roots must be a list of {uri, name?} objects, ${got(i.input)}` })
      .max(MAX_ROOTS, { error: `roots must have at most ${MAX_ROOTS} entries` })
      .meta({ description: `Pinned roots (at most ${MAX_ROOTS}): the gateway answers the server's roots/list with these, whatever the agent says.` })
      .optional(),
    description: Description.optional(),
    /** RFC 8693: the caller's access token is exchanged at the identity provider for one meant for this upstream. */
    tokenExchange: TokenExchangeSchema.meta({ description: "RFC 8693 token exchange: the caller's access token is exchanged at the identity provider for one meant for this upstream." }).optional(),
    /** Who may decide this server's approvals: signed-in users of an identity provider whose claims match. */
    approvers: ApproversSchema.meta({ description: "Who may decide this server's approvals: signed-in users of an identity provider whose claims match." }).optional(),
    labels: Labels.optional(),
    owner: Owner.optional(),
  })
  .superRefine((spec, ctx) => {
    if (spec.totalTimeoutMs !== undefined && spec.totalTimeoutMs < spec.timeoutMs) {
      ctx.addIssue({ code: "custom", path: ["totalTimeoutMs"], input: spec.totalTimeoutMs, message: `totalTimeoutMs must be at least timeoutMs (${spec.timeoutMs})` });
    }
    if (spec.tokenExchange !== undefined && spec.transport.type !== "streamable-http") {
      // The exchanged token travels as the upstream's Authorization header, per request.
      ctx.addIssue({
        code: "custom",
        path: ["tokenExchange"],
        input: spec.tokenExchange,
        message: `tokenExchange needs a streamable-http transport: the exchanged token is sent as the upstream's Authorization header, and a ${spec.transport.type} server has none`,
      });
    }
  });
export type ServerSpec = z.output<typeof ServerSpecSchema>;
export type ServerSpecInput = z.input<typeof ServerSpecSchema>;
export type Transport = z.output<typeof TransportSchema>;

export const PolicySpecSchema = z.strictObject({
  name: NameSchema,
  /** Validated with `validatePolicy` (issues re-rooted under /document) by `parsePolicySpec`. */
  document: z
    .record(z.string(), z.unknown(), { error: (i) => `document must be a policy object, ${got(i.input)}` })
    .meta({ description: "The policy document (PolicyLayer-compatible JSON, see docs/policy.md): default, hide, tools, all_tools, limits and the extensions. Validated at preview." }),
  owner: Owner.optional(),
});
export type PolicySpec = z.output<typeof PolicySpecSchema>;

export const GrantSpecSchema = z.strictObject({
  name: NameSchema,
  server: NameSchema.meta({ description: "The name of the server this grant may use (pass the McpServer's name output so it is created first)." }),
  policy: NameSchema.nullable()
    .meta({ description: "The name of the policy deciding this grant's calls (pass the Policy's name output). Without one every call is denied." })
    .optional(),
  expiresAt: z.iso
    .datetime({ offset: true, error: (i) => `expiresAt must be an ISO 8601 time like 2027-01-31T00:00:00Z, ${got(i.input)}` })
    .nullable()
    .meta({ description: "When the grant stops working: an ISO 8601 time with a zone, e.g. `2027-01-31T00:00:00Z`. Default: never." })
    .optional(),
  /** A grant by identity: callers whose access token matches get it; it holds no token. */
  identity: GrantIdentitySchema.meta({ description: "A grant by identity: callers whose access token (from identityProvider) satisfies every condition get it; such a grant holds no token." }).optional(),
  description: Description.optional(),
  owner: Owner.optional(),
});
export type GrantSpec = z.output<typeof GrantSpecSchema>;

export const WEBHOOK_EVENTS = ["approval.requested", "approval.approved", "approval.denied", "approval.expired"] as const;
export type WebhookEvent = (typeof WEBHOOK_EVENTS)[number];

export const WebhookSpecSchema = z.strictObject({
  name: NameSchema,
  url: z
    .string({ error: (i) => `url must be an http(s) URL, ${gotUrl(i.input)}` })
    .refine(isHttpUrl, { error: (i) => `url must be an http(s) URL, ${gotUrl(i.input)}` })
    .refine(hasNoCredentials, { error: "url must not contain credentials (user:password@); deliveries are signed with the secret instead" })
    .meta({ description: "Where the gateway POSTs events (http or https, without credentials)." }),
  events: z
    .array(z.enum(WEBHOOK_EVENTS, { error: (i) => `events entries must be one of ${WEBHOOK_EVENTS.join(", ")}, ${got(i.input)}` }), { error: (i) => `events must be a list, ${got(i.input)}` })
    .min(1, { error: "events must name at least one event" })
    .default([...WEBHOOK_EVENTS])
    .meta({ description: `Which events to send. Default: all of ${WEBHOOK_EVENTS.join(", ")}.` }),
  /** Write-only: the HMAC-SHA256 signing key. Stored encrypted; the API shows only its digest. */
  secret: z
    .string({ error: (i) => `secret must be a string, ${gotType(i.input)}` })
    .min(16, { error: "secret must be at least 16 characters" })
    .max(512, { error: "secret must be at most 512 characters" })
    .meta({ description: "The HMAC-SHA256 signing key, 16 to 512 characters. Secret: encrypted at rest, never returned.", writeOnly: true }),
  description: Description.optional(),
  owner: Owner.optional(),
});
export type WebhookSpec = z.output<typeof WebhookSpecSchema>;

const Meta = { version: z.number().int().meta({ description: "The gateway's version of the object; changes on every update." }), createdAt: z.string(), updatedAt: z.string() };

export const ServerObjectSchema = z.object({
  name: z.string(),
  transport: z.union([
    HttpTransportSchema.extend({ headers: z.record(z.string(), z.literal("[redacted]")).optional() }),
    SseTransportSchema.extend({ headers: z.record(z.string(), z.literal("[redacted]")).optional() }),
    StdioTransportSchema.extend({ env: z.record(z.string(), z.literal("[redacted]")).optional(), secretArgs: z.array(z.literal("[redacted]")).optional() }),
  ]),
  timeoutMs: z.number(),
  totalTimeoutMs: z.number().optional(),
  maxInFlight: z.number().optional(),
  roots: z.array(RootSchema).optional(),
  tokenExchange: TokenExchangeSchema.optional(),
  approvers: ApproversSchema.optional(),
  description: z.string().nullable(),
  labels: z.record(z.string(), z.string()),
  owner: z.string().nullable(),
  /** HMAC-SHA256 (gateway-held key) of the credentials: changes when they change, reveals nothing. */
  credentialsDigest: z.string(),
  ...Meta,
});
export type ServerObject = z.output<typeof ServerObjectSchema>;

export const PolicyObjectSchema = z.object({ name: z.string(), document: z.record(z.string(), z.unknown()), owner: z.string().nullable(), ...Meta });
export type PolicyObject = z.output<typeof PolicyObjectSchema>;

export const GrantObjectSchema = z.object({
  name: z.string(),
  server: z.string(),
  policy: z.string().nullable(),
  expiresAt: z.string().nullable(),
  identity: GrantIdentitySchema.optional(),
  description: z.string().nullable(),
  owner: z.string().nullable(),
  /** The MCP URL agents use: `<proxy base>/mcp/<server>`. */
  url: z.string().meta({ description: "The MCP URL agents connect to: `<gateway proxy>/mcp/<server>`." }),
  /** Present only in the responses of create and rotate. */
  token: z.string().meta({ description: "The bearer token for `Authorization: Bearer <token>`, issued on create and on rotation. Secret." }).optional(),
  ...Meta,
});
export type GrantObject = z.output<typeof GrantObjectSchema>;

export const WebhookObjectSchema = z.object({
  name: z.string(),
  url: z.string(),
  events: z.array(z.enum(WEBHOOK_EVENTS)),
  /** HMAC-SHA256 (gateway-held key) of the signing secret: changes when it changes, reveals nothing. */
  secretDigest: z.string().meta({ description: "HMAC-SHA256 (under a gateway-held key) of the signing secret: changes when it changes, reveals nothing." }),
  description: z.string().nullable(),
  owner: z.string().nullable(),
  ...Meta,
});
export type WebhookObject = z.output<typeof WebhookObjectSchema>;

export const ProblemSchema = z.object({
  type: z.string(),
  title: z.string(),
  status: z.number(),
  detail: z.string().optional(),
  code: z.string(),
  issues: z.array(z.object({ path: z.string(), message: z.string() })).optional(),
});

/** Validates a policy spec including its document; every issue as a pointer from the request body's root. */
export function policySpecIssues(spec: PolicySpec): Issue[] {
  const result = validatePolicy(spec.document);
  return result.ok ? [] : result.errors.map((e) => ({ path: joinPointer("/document", e.path), message: e.message }));
}
