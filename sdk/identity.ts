import { z } from "zod";

/**
 * Identity (OAuth 2.1 resource server) objects of the admin API: an identity provider the gateway trusts, the
 * claims a grant matches instead of holding a token, the token exchange an upstream gets, and who may approve.
 * One source for the admin API, the provider's `check` and the Pulumi schema.
 */

const got = (input: unknown) => (input === undefined ? "it is missing" : `got ${JSON.stringify(input)}`);
const gotType = (input: unknown) => (input === undefined ? "it is missing" : `got ${Array.isArray(input) ? "a list" : input === null ? "null" : typeof input}`);
const NAME = /^[a-z0-9][a-z0-9._-]{0,62}$/;
const LOOPBACK = new Set(["localhost", "127.0.0.1", "[::1]"]);

/** https, or http on a loopback host (a development IdP): tokens and client secrets never cross a network in clear. */
const secureUrl = (field: string) =>
  z
    .string({ error: (i) => `${field} must be a string, ${gotType(i.input)}` })
    .refine((u) => URL.canParse(u), { error: `${field} must be an absolute URL` })
    .refine((u) => !URL.canParse(u) || new URL(u).protocol === "https:" || (new URL(u).protocol === "http:" && LOOPBACK.has(new URL(u).hostname)), {
      error: (i) => `${field} must be an https URL (http only on localhost), got ${typeof i.input === "string" && URL.canParse(i.input) ? `scheme ${JSON.stringify(new URL(i.input).protocol)} on ${new URL(i.input).hostname}` : "text that is not a URL"}`,
    })
    .refine((u) => !URL.canParse(u) || (new URL(u).username === "" && new URL(u).password === ""), { error: `${field} must not contain credentials` });

const ProviderName = z.string({ error: (i) => `identityProvider must be a string, ${got(i.input)}` }).regex(NAME, { error: (i) => `identityProvider must name an IdentityProvider (1-63 characters of a-z, 0-9, ".", "_" or "-"), ${got(i.input)}` }).meta({ description: "The name of the IdentityProvider whose access tokens this applies to." });

/** Algorithms a token may be signed with. `none` and the HMAC family (a secret shared with every client) never. */
export const JWT_ALGORITHMS = ["RS256", "RS384", "RS512", "PS256", "PS384", "PS512", "ES256", "ES384", "ES512", "EdDSA"] as const;
export const DEFAULT_JWT_ALGORITHMS = ["RS256", "PS256", "ES256", "EdDSA"] as const;

export const IdentityProviderSpecSchema = z.strictObject({
  name: z.string({ error: (i) => `name must be a string, ${got(i.input)}` }).regex(NAME, { error: (i) => `name must be 1-63 characters of a-z, 0-9, ".", "_" or "-", starting with a letter or digit, ${got(i.input)}` }),
  /** The `iss` every token must carry, exactly; also where discovery (`/.well-known/openid-configuration`, then `oauth-authorization-server`) is read. */
  issuer: secureUrl("issuer").meta({ description: "The issuer identifier: tokens must carry exactly this `iss`. Discovery metadata is read from it." }),
  /**
   * Accepted `aud` values besides each server's own resource URL (`<public URL>/mcp/<server>`, RFC 8707), for IdPs
   * that issue audiences as API identifiers. A token whose `aud` has none of them is refused.
   */
  audiences: z
    .array(z.string({ error: (i) => `audiences entries must be strings, ${gotType(i.input)}` }).min(1, { error: "audiences entries must not be empty" }), { error: (i) => `audiences must be a list of strings, ${gotType(i.input)}` })
    .max(20, { error: "audiences must have at most 20 entries" })
    .optional()
    .meta({ description: "Accepted `aud` values besides the server's own resource URL (RFC 8707)." }),
  /** Where the signing keys are; default: `jwks_uri` from discovery. */
  jwksUri: secureUrl("jwksUri").optional().meta({ description: "The JSON Web Key Set URL. Default: `jwks_uri` from the issuer's discovery metadata." }),
  /** Opaque (non-JWT) access tokens are checked here (RFC 7662) with the client credentials. Default: from discovery when a client is set. */
  introspectionEndpoint: secureUrl("introspectionEndpoint").optional().meta({ description: "RFC 7662 introspection endpoint for opaque access tokens. Default: from discovery when `clientId` is set." }),
  algorithms: z
    .array(z.enum(JWT_ALGORITHMS, { error: (i) => `algorithms entries must be one of ${JWT_ALGORITHMS.join(", ")} (never none or HS*), ${got(i.input)}` }), { error: (i) => `algorithms must be a list, ${gotType(i.input)}` })
    .min(1, { error: "algorithms must name at least one algorithm" })
    .optional()
    .meta({ description: `Signature algorithms accepted (pinned). Default: ${DEFAULT_JWT_ALGORITHMS.join(", ")}.` }),
  clockSkewSeconds: z
    .number({ error: (i) => `clockSkewSeconds must be a number, ${got(i.input)}` })
    .int({ error: "clockSkewSeconds must be a whole number" })
    .min(0, { error: "clockSkewSeconds must be at least 0" })
    .max(300, { error: "clockSkewSeconds must be at most 300" })
    .optional()
    .meta({ description: "Tolerance for `exp`/`nbf`/`iat`, 0-300 seconds. Default 30." }),
  /** The gateway's own confidential client at this IdP: introspection, token exchange and approver sign-in. */
  clientId: z.string({ error: (i) => `clientId must be a string, ${got(i.input)}` }).min(1, { error: "clientId must not be empty" }).max(512).optional().meta({ description: "The gateway's client at this IdP (introspection, token exchange, approver sign-in to /ui/)." }),
  /** Write-only: stored encrypted, never returned (the API shows a digest). */
  clientSecret: z.string({ error: (i) => `clientSecret must be a string, ${gotType(i.input)}` }).min(1, { error: "clientSecret must not be empty" }).max(4096).optional().meta({ description: "The client's secret. Secret: encrypted at rest, never returned.", writeOnly: true }),
  description: z
    .string({ error: (i) => `description must be a string, ${got(i.input)}` })
    .max(1024, { error: "description must be at most 1024 characters" })
    .optional()
    .meta({ description: "A note for the people who read the gateway's configuration (up to 1024 characters)." }),
  owner: z
    .string({ error: (i) => `owner must be a string, ${got(i.input)}` })
    .max(1024)
    .nullable()
    .optional()
    .meta({ description: "Who manages the object now: the URN of the Pulumi resource that wrote it. A refresh shows a takeover by another stack." }),
});
export type IdentityProviderSpec = z.output<typeof IdentityProviderSpecSchema>;

/** An identity provider as the admin API shows it: the client secret never, only its digest. */
export const IdentityProviderObjectSchema = z.object({
  name: z.string(),
  issuer: z.string(),
  audiences: z.array(z.string()),
  jwksUri: z.string().nullable(),
  introspectionEndpoint: z.string().nullable(),
  algorithms: z.array(z.string()).nullable(),
  clockSkewSeconds: z.number().nullable(),
  clientId: z.string().nullable(),
  /** HMAC-SHA256 (gateway-held key) of the client secret, or null when none is set: changes when it changes, reveals nothing. */
  clientSecretDigest: z.string().nullable(),
  description: z.string().nullable(),
  owner: z.string().nullable(),
  version: z.number().int().meta({ description: "The gateway's version of the object; changes on every update." }),
  createdAt: z.string(),
  updatedAt: z.string(),
});
export type IdentityProviderObject = z.output<typeof IdentityProviderObjectSchema>;

/** One claim condition: the claim (a top-level name or a dotted path) equals a value, or is a list/space-separated string containing it. */
export const ClaimConditionSchema = z
  .strictObject({
    claim: z.string({ error: (i) => `claim must be a string, ${got(i.input)}` }).min(1).max(256).meta({ description: "Claim name, e.g. `groups`, `roles`, `realm_access.roles` (dotted path)." }),
    equals: z.string({ error: (i) => `equals must be a string, ${got(i.input)}` }).optional().meta({ description: "The claim is exactly this string." }),
    contains: z.string({ error: (i) => `contains must be a string, ${got(i.input)}` }).optional().meta({ description: "The claim is a list (or a space-separated string, like `scope`) holding this value." }),
  })
  .refine((c) => (c.equals === undefined) !== (c.contains === undefined), { error: "a claim condition needs exactly one of equals or contains" });
export type ClaimCondition = z.output<typeof ClaimConditionSchema>;

/**
 * A grant by identity: callers whose access token (from `identityProvider`) satisfies every condition use the
 * grant's server under its policy. Such a grant holds no token. Among the grants of a server whose conditions all
 * hold, the most specific wins (see docs/identity.md).
 */
export const GrantIdentitySchema = z.strictObject({
  identityProvider: ProviderName,
  subject: z.string({ error: (i) => `subject must be a string, ${got(i.input)}` }).min(1).max(512).optional().meta({ description: "The token's `sub` is exactly this." }),
  clientId: z.string({ error: (i) => `clientId must be a string, ${got(i.input)}` }).min(1).max(512).optional().meta({ description: "The token's `client_id` (or `azp`) is exactly this: a workload." }),
  emailDomain: z
    .string({ error: (i) => `emailDomain must be a string, ${got(i.input)}` })
    .regex(/^[a-z0-9.-]+\.[a-z]{2,}$/i, { error: (i) => `emailDomain must be a domain like example.com, ${got(i.input)}` })
    .optional()
    .meta({ description: "The token's `email` is at this domain and `email_verified` is true." }),
  claims: z.array(ClaimConditionSchema, { error: (i) => `claims must be a list of {claim, equals | contains}, ${gotType(i.input)}` }).max(16, { error: "claims must have at most 16 conditions" }).optional().meta({ description: "Further conditions, all of which must hold." }),
});
export type GrantIdentityMatch = z.output<typeof GrantIdentitySchema>;

/** RFC 8693: the gateway exchanges the caller's access token at the IdP for one meant for the upstream. */
export const TokenExchangeSchema = z.strictObject({
  identityProvider: ProviderName,
  audience: z.string({ error: (i) => `audience must be a string, ${got(i.input)}` }).min(1).max(2048).meta({ description: "The `audience` asked of the IdP: the upstream's identifier." }),
  resource: secureUrl("resource").optional().meta({ description: "The `resource` (RFC 8707) asked of the IdP, when it wants one." }),
  scope: z.string({ error: (i) => `scope must be a string, ${got(i.input)}` }).max(1024).optional().meta({ description: "Space-separated scopes asked for the exchanged token." }),
});
export type TokenExchange = z.output<typeof TokenExchangeSchema>;

/** Who may approve this server's calls: signed-in users of the IdP whose token satisfies every condition. */
export const ApproversSchema = z.strictObject({
  identityProvider: ProviderName,
  claims: z.array(ClaimConditionSchema, { error: (i) => `claims must be a list of {claim, equals | contains}, ${gotType(i.input)}` }).min(1, { error: "approvers need at least one claim condition" }).max(16).meta({ description: "Conditions on the approver's token, all of which must hold (1 to 16)." }),
});
export type Approvers = z.output<typeof ApproversSchema>;

/** `POST /v1/identity/whoami`: which grant and policy a bearer gets on a server, and why (`toolgate grants whoami`). */
export const WhoamiRequestSchema = z.strictObject({
  token: z.string({ error: (i) => `token must be a string (the access token or grant token to check), ${gotType(i.input)}` }).min(1, { error: "token must not be empty" }).max(16_384, { error: "token must be at most 16384 characters" }).meta({ description: "The bearer to check: an access token or a grant token. Never logged or echoed.", writeOnly: true }),
  server: z.string({ error: (i) => `server must be a string, ${got(i.input)}` }).regex(NAME, { error: (i) => `server must name an McpServer (1-63 characters of a-z, 0-9, ".", "_" or "-"), ${got(i.input)}` }).meta({ description: "The server whose resource URL (audience) and grants the token is checked against." }),
});
export type WhoamiRequest = z.output<typeof WhoamiRequestSchema>;
