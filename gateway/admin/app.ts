import { createHash, randomBytes } from "node:crypto";
import { Hono, type Context } from "hono";
import { bodyLimit } from "hono/body-limit";
import type { Logger } from "pino";
import type { Registry } from "prom-client";
import type { z } from "zod";
import { GrantSpecSchema, IdentityProviderSpecSchema, NameSchema, PolicySpecSchema, ServerSpecSchema, WebhookSpecSchema, WhoamiRequestSchema, ToolgateError, policySpecIssues, zodIssues, type Issue } from "../../sdk/index.ts";
import type { MutableRuntimeView } from "../runtime-view.ts";
import type { ConfigStore, Preconditions } from "../store/config-store.ts";
import type { AuditStore } from "../store/audit-log.ts";
import { mediaType } from "../http/media-type.ts";
import { createTokenCheck } from "./auth.ts";
import { openApiDocument } from "./openapi.ts";
import { APPROVALS_HTML, APPROVALS_JS } from "./ui/approvals-page.ts";
import { ApiProblem, problemBody } from "./problem.ts";
import { nestedDeeperThan } from "./json-depth.ts";
import { displaySafeJson } from "./safe-json.ts";
import type { WebhookTargets } from "../webhooks/webhook-targets.ts";
import { approvalView, catalogToolView, webhookView, grantView, identityProviderView, policyView, serverView } from "./views.ts";
import type { Catalog } from "../catalog/catalog.ts";
import type { Approvals } from "../approvals/approvals.ts";
import { APPROVAL_STATUSES, type ApprovalStatus } from "../approvals/approval-store.ts";
import { createApproverSignIn } from "./sign-in/approver-sign-in.ts";
import { deciderOf } from "./sign-in/approver-access.ts";
import type { Discovery } from "../identity/discovery.ts";
import type { WhoamiReport } from "../identity/whoami.ts";

export interface AdminDeps {
  store: ConfigStore;
  audit: AuditStore;
  view: MutableRuntimeView;
  catalog: Catalog;
  approvals: Approvals;
  registry: Registry;
  log: Logger;
  adminToken: string;
  readOnlyToken?: string;
  /** Base URL agents use for the proxy, e.g. http://127.0.0.1:8787. */
  proxyUrl: () => string;
  ready: () => Promise<string | undefined>;
  /** Which hosts webhooks may reach: a webhook whose URL the operator has not allowed is refused. */
  webhookTargets: WebhookTargets;
  maxBodyBytes?: number;
  /** The gateway's secret key: approvers' /ui/ session cookies are sealed with a key derived from it. */
  secretKey: Buffer;
  /** The admin listener as browsers reach it (`--admin-public-url`): the sign-in callback is under it. */
  adminPublicUrl: () => string;
  /** Identity providers' metadata, shared with the proxy (default: a cache of the admin app's own). */
  discovery?: Discovery;
  /** What a bearer gets on a server, by the proxy's own authenticate() (`POST /v1/identity/whoami`). */
  whoami?: (token: string, server: string) => Promise<WhoamiReport>;
}

const PAGE_MAX = 500;
/** Deepest nesting of arrays and objects a request body may have (a policy document needs about a dozen). */
export const MAX_BODY_DEPTH = 64;
const UI_CSP = "default-src 'none'; script-src 'self'; style-src 'unsafe-inline'; connect-src 'self'; frame-ancestors 'none'; base-uri 'none'; form-action 'none'";

/** The admin API (docs/admin-api.md) as a Hono app: routes only translate; the store decides. */
export function createAdminApp(deps: AdminDeps): Hono {
  const app = new Hono();
  const access = createTokenCheck(deps.adminToken, deps.readOnlyToken);
  const maxBody = deps.maxBodyBytes ?? 1024 * 1024;

  app.onError((error, c) => {
    if (error instanceof ApiProblem) return problem(c, error.status, error.code, error.message, error.issues, error.headers);
    if (error instanceof ToolgateError) {
      const status = { precondition_failed: 412, not_found: 404, conflict: 409, invalid_input: 422, invalid_policy: 400, unavailable: 503 }[error.code as string] ?? 500;
      if (status !== 500) return problem(c, status, error.code, error.message, error.issues);
    }
    deps.log.error({ err: error, path: c.req.path }, "admin request failed");
    return problem(c, 500, "internal", "Internal server error");
  });
  app.notFound((c) => problem(c, 404, "not_found", `No route for ${c.req.method} ${c.req.path}`));

  app.get("/healthz", (c) => c.json({ status: "ok" }));
  app.get("/readyz", async (c) => {
    const reason = await deps.ready();
    return reason ? c.json({ status: "not ready", reason }, 503) : c.json({ status: "ready" });
  });

  // The approvers' page carries no data: it calls the API with the admin token or the signed-in approver's session.
  const uiHeaders = { "cache-control": "no-store", "x-content-type-options": "nosniff", "content-security-policy": UI_CSP, "referrer-policy": "no-referrer" };
  const uiAsset = (body: string, type: string) => (c: Context) => c.body(body, 200, { "content-type": type, ...uiHeaders });
  app.get("/ui", (c) => c.redirect("/ui/"));
  app.get("/ui/", uiAsset(APPROVALS_HTML, "text/html; charset=utf-8"));
  app.get("/ui/app.js", uiAsset(APPROVALS_JS, "text/javascript; charset=utf-8"));
  // Approvers may sign in with an identity provider instead (docs/approvals.md): a session cookie for the approvals routes.
  const signIn = createApproverSignIn({ store: deps.store, secretKey: deps.secretKey, adminBase: deps.adminPublicUrl, log: deps.log, ...(deps.discovery ? { discovery: deps.discovery } : {}) });
  signIn.mount(app, uiHeaders);

  app.use("*", async (c, next) => {
    if (signIn.gate.signedIn(c)) return next();
    const who = access(c.req.header("authorization"));
    if (!who) throw new ApiProblem(401, "unauthorized", c.req.header("authorization") ? "The admin token is not valid" : "Missing admin token: send Authorization: Bearer <token>", { headers: { "www-authenticate": 'Bearer realm="toolgate-admin"' } });
    if (who === "read-only" && c.req.method !== "GET" && c.req.method !== "HEAD") throw new ApiProblem(403, "forbidden", "The read-only token cannot change anything");
    await next();
  });
  app.use("*", bodyLimit({ maxSize: maxBody, onError: () => { throw new ApiProblem(413, "too_large", `Request body is larger than ${maxBody} bytes`, { headers: { connection: "close" } }); } }));

  app.get("/metrics", async (c) => c.text(await deps.registry.metrics(), 200, { "content-type": deps.registry.contentType }));
  app.get("/openapi.json", (c) => c.json(openApiDocument()));

  // ---- servers
  app.get("/v1/servers", async (c) => {
    const { limit, after } = page(c);
    return listPage(c, await deps.store.listServers(limit + 1, after), limit, (r) => r.name, serverView);
  });
  app.get("/v1/servers/:name", async (c) => {
    const r = await deps.store.getServer(name(c));
    if (!r) throw notFound("server", name(c));
    return versioned(c, serverView(r), r.version);
  });
  app.put("/v1/servers/:name", async (c) => {
    const spec = parse(ServerSpecSchema, await body(c), name(c));
    const result = await deps.store.putServer(spec, preconditions(c));
    deps.view.setServer(result.record);
    if (result.changed) {
      deps.log.info({ kind: "server", name: spec.name, version: result.record.version, created: result.created }, "admin change");
      void deps.catalog.refresh(spec.name);
    }
    return versioned(c, serverView(result.record), result.record.version, result.created ? 201 : 200, result.replayed);
  });
  app.delete("/v1/servers/:name", async (c) => {
    if (!(await deps.store.deleteServer(name(c), preconditions(c)))) throw notFound("server", name(c));
    deps.view.removeServer(name(c));
    await deps.catalog.removeServer(name(c));
    deps.log.info({ kind: "server", name: name(c), deleted: true }, "admin change");
    return c.body(null, 204);
  });

  // ---- tool catalog
  const serverTools = async (c: Context) => {
    if (!(await deps.store.getServer(name(c)))) throw notFound("server", name(c));
    return c.json({ server: name(c), items: deps.catalog.tools(name(c)).map(catalogToolView) });
  };
  app.get("/v1/servers/:name/tools", serverTools);
  app.post("/v1/servers/:name/tools/refresh", async (c) => {
    if (!(await deps.store.getServer(name(c)))) throw notFound("server", name(c));
    if (!(await deps.catalog.refresh(name(c)))) throw new ApiProblem(502, "upstream_unavailable", `Could not list the tools of server "${name(c)}": the upstream did not answer tools/list (see the gateway log)`);
    return serverTools(c);
  });
  app.post("/v1/servers/:name/tools/review", async (c) => {
    if (!(await deps.store.getServer(name(c)))) throw notFound("server", name(c));
    const tool = c.req.query("tool");
    if (tool !== undefined && !deps.catalog.tools(name(c)).some((t) => t.name === tool)) throw new ApiProblem(404, "not_found", `Server "${name(c)}" has no tool "${tool}" in the catalog`);
    return c.json({ server: name(c), reviewed: await deps.catalog.review(name(c), tool) });
  });

  // ---- policies
  app.get("/v1/policies", async (c) => {
    const { limit, after } = page(c);
    return listPage(c, await deps.store.listPolicies(limit + 1, after), limit, (r) => r.name, policyView);
  });
  app.get("/v1/policies/:name", async (c) => {
    const r = await deps.store.getPolicy(name(c));
    if (!r) throw notFound("policy", name(c));
    return versioned(c, policyView(r), r.version);
  });
  app.put("/v1/policies/:name", async (c) => {
    const spec = parse(PolicySpecSchema, await body(c), name(c));
    const issues = policySpecIssues(spec);
    if (issues.length > 0) throw new ApiProblem(400, "invalid_policy", `The policy document has ${issues.length} problem${issues.length === 1 ? "" : "s"}`, { issues });
    const result = await deps.store.putPolicy(spec, preconditions(c));
    deps.view.setPolicy(result.record);
    if (result.changed) {
      deps.log.info({ kind: "policy", name: spec.name, version: result.record.version, created: result.created }, "admin change");
      // Applying a policy accepts the current definitions of the tools it governs (see docs/catalog.md).
      for (const server of await serversUsingPolicy(spec.name)) await deps.catalog.review(server);
    }
    return versioned(c, policyView(result.record), result.record.version, result.created ? 201 : 200, result.replayed);
  });
  app.delete("/v1/policies/:name", async (c) => {
    if (!(await deps.store.deletePolicy(name(c), preconditions(c)))) throw notFound("policy", name(c));
    deps.view.removePolicy(name(c));
    deps.log.info({ kind: "policy", name: name(c), deleted: true }, "admin change");
    return c.body(null, 204);
  });

  // ---- grants
  app.get("/v1/grants", async (c) => {
    const { limit, after } = page(c);
    return listPage(c, await deps.store.listGrants(limit + 1, after), limit, (r) => r.name, (r) => grantView(r, deps.proxyUrl()));
  });
  app.get("/v1/grants/:name", async (c) => {
    const r = await deps.store.getGrant(name(c));
    if (!r) throw notFound("grant", name(c));
    return versioned(c, grantView(r, deps.proxyUrl()), r.version);
  });
  app.put("/v1/grants/:name", async (c) => {
    const spec = parse(GrantSpecSchema, await body(c), name(c));
    // A grant by identity holds no token: it is stored with the hash of one nobody is ever given.
    const token = spec.identity ? undefined : newToken();
    const result = await deps.store.putGrant(spec, hashToken(token ?? newToken()), preconditions(c));
    deps.view.setGrant(result.record);
    if (result.changed) deps.log.info({ kind: "grant", name: spec.name, version: result.record.version, created: result.created }, "admin change");
    return versioned(c, grantView(result.record, deps.proxyUrl(), result.created ? token : undefined), result.record.version, result.created ? 201 : 200, result.replayed);
  });
  app.post("/v1/grants/:name/rotate", async (c) => {
    const grant = await deps.store.getGrant(name(c));
    if (grant?.identity) throw new ApiProblem(409, "conflict", `Grant "${grant.name}" is a grant by identity (identity provider "${grant.identity.identityProvider}"): it holds no token to rotate; callers use their own access tokens`);
    const token = newToken();
    const r = await deps.store.rotateGrant(name(c), hashToken(token), preconditions(c));
    if (!r) throw notFound("grant", name(c));
    deps.view.setGrant(r);
    deps.log.info({ kind: "grant", name: r.name, version: r.version, rotated: true }, "admin change");
    return versioned(c, grantView(r, deps.proxyUrl(), token), r.version);
  });
  app.delete("/v1/grants/:name", async (c) => {
    if (!(await deps.store.deleteGrant(name(c), preconditions(c)))) throw notFound("grant", name(c));
    deps.view.removeGrant(name(c));
    deps.log.info({ kind: "grant", name: name(c), deleted: true }, "admin change");
    return c.body(null, 204);
  });

  // ---- identity providers
  app.get("/v1/identity-providers", async (c) => {
    const { limit, after } = page(c);
    return listPage(c, await deps.store.listIdentityProviders(limit + 1, after), limit, (r) => r.name, identityProviderView);
  });
  app.get("/v1/identity-providers/:name", async (c) => {
    const r = await deps.store.getIdentityProvider(name(c));
    if (!r) throw notFound("identity provider", name(c));
    return versioned(c, identityProviderView(r), r.version);
  });
  app.put("/v1/identity-providers/:name", async (c) => {
    const spec = parse(IdentityProviderSpecSchema, await body(c), name(c));
    // A token is checked by the one provider whose issuer equals its iss: two with one issuer would make that a coin toss.
    const twin = deps.view.identityProviders().find((p) => p.issuer === spec.issuer && p.name !== spec.name);
    if (twin) throw new ApiProblem(409, "conflict", `Identity provider "${twin.name}" already has issuer ${spec.issuer}: tokens are matched to a provider by their iss alone, so edit "${twin.name}" (audiences, algorithms...) instead of adding a second one`);
    const result = await deps.store.putIdentityProvider(spec, preconditions(c));
    deps.view.setIdentityProvider(result.record);
    if (result.changed) deps.log.info({ kind: "identity-provider", name: spec.name, version: result.record.version, created: result.created }, "admin change");
    return versioned(c, identityProviderView(result.record), result.record.version, result.created ? 201 : 200, result.replayed);
  });
  app.delete("/v1/identity-providers/:name", async (c) => {
    if (!(await deps.store.deleteIdentityProvider(name(c), preconditions(c)))) throw notFound("identity provider", name(c));
    deps.view.removeIdentityProvider(name(c));
    deps.log.info({ kind: "identity-provider", name: name(c), deleted: true }, "admin change");
    return c.body(null, 204);
  });

  // ---- what a bearer gets (toolgate grants whoami); the token is only ever in the body, never logged or echoed
  app.post("/v1/identity/whoami", async (c) => {
    const input = await body(c);
    const parsed = WhoamiRequestSchema.safeParse(input, { reportInput: false });
    if (!parsed.success) {
      const issues = zodIssues(parsed.error, { input, pickUnionBranch: () => 0 });
      throw new ApiProblem(400, "invalid_input", `The request body has ${issues.length} problem${issues.length === 1 ? "" : "s"}`, { issues });
    }
    if (!deps.view.server(parsed.data.server)) throw notFound("server", parsed.data.server);
    if (!deps.whoami) throw new ApiProblem(503, "unavailable", "This gateway cannot check tokens (no proxy in this process)");
    return c.json(await deps.whoami(parsed.data.token, parsed.data.server), 200, { "cache-control": "no-store" });
  });

  // ---- webhooks
  app.get("/v1/webhooks", async (c) => {
    const { limit, after } = page(c);
    return listPage(c, await deps.store.listWebhooks(limit + 1, after), limit, (r) => r.name, webhookView);
  });
  app.get("/v1/webhooks/:name", async (c) => {
    const r = await deps.store.getWebhook(name(c));
    if (!r) throw notFound("webhook", name(c));
    return versioned(c, webhookView(r), r.version);
  });
  app.put("/v1/webhooks/:name", async (c) => {
    const spec = parse(WebhookSpecSchema, await body(c), name(c));
    const refused = await deps.webhookTargets.problem(spec.url);
    if (refused) throw new ApiProblem(400, "invalid_input", `url: ${refused}`, { issues: [{ path: "/url", message: refused }] });
    const result = await deps.store.putWebhook(spec, preconditions(c));
    if (result.changed) deps.log.info({ kind: "webhook", name: spec.name, version: result.record.version, created: result.created }, "admin change");
    return versioned(c, webhookView(result.record), result.record.version, result.created ? 201 : 200, result.replayed);
  });
  app.delete("/v1/webhooks/:name", async (c) => {
    if (!(await deps.store.deleteWebhook(name(c), preconditions(c)))) throw notFound("webhook", name(c));
    deps.log.info({ kind: "webhook", name: name(c), deleted: true }, "admin change");
    return c.body(null, 204);
  });

  // ---- approvals
  app.get("/v1/approvals", async (c) => {
    const limit = parseLimit(c.req.query("limit"));
    const status = c.req.query("status");
    if (status !== undefined && !(APPROVAL_STATUSES as readonly string[]).includes(status)) {
      throw new ApiProblem(400, "invalid_input", `status must be one of ${APPROVAL_STATUSES.join(", ")}, got ${JSON.stringify(status)}`, { issues: [{ path: "/status", message: `must be one of ${APPROVAL_STATUSES.join(", ")}` }] });
    }
    const query = { status: status as ApprovalStatus | undefined, grant: c.req.query("grant"), server: c.req.query("server"), tool: c.req.query("tool") };
    const approver = signIn.gate.approverOf(c);
    // A signed-in approver sees only the approvals of servers whose approvers they are.
    const rows = approver
      ? await signIn.gate.listVisible(approver, (after) => deps.approvals.list({ ...query, after, limit: PAGE_MAX }), c.req.query("cursor"), limit + 1)
      : await deps.approvals.list({ ...query, after: c.req.query("cursor"), limit: limit + 1 });
    const items = rows.slice(0, limit);
    return c.json({ items: items.map(approvalView), nextCursor: rows.length > limit ? items.at(-1)!.id : null });
  });
  app.get("/v1/approvals/:id", async (c) => {
    const a = await deps.approvals.get(c.req.param("id"));
    if (!a) throw notFound("approval", c.req.param("id"));
    const approver = signIn.gate.approverOf(c);
    if (approver) await signIn.gate.mustSee(approver, a.server);
    return c.json(approvalView(a));
  });
  const decide = (to: "approved" | "denied") => async (c: Context) => {
    const input = (await body(c)) as { by?: unknown; reason?: unknown } | null;
    const issues: Issue[] = [];
    // A signed-in approver decides as themselves (`provider:subject`); with the admin token, `by` names who decides.
    const approver = signIn.gate.approverOf(c);
    const by = approver ? deciderOf(approver) : input?.by;
    const reason = input?.reason;
    if (typeof by !== "string" || by.trim() === "" || by.length > 200) issues.push({ path: "/by", message: "by must name who decides (1-200 characters), e.g. an email address" });
    if (reason !== undefined && reason !== null && (typeof reason !== "string" || reason.length > 2000)) issues.push({ path: "/reason", message: "reason must be a string of at most 2000 characters" });
    if (to === "denied" && (typeof reason !== "string" || reason.trim() === "")) issues.push({ path: "/reason", message: "a denial needs a reason: the agent is told it" });
    if (issues.length) throw new ApiProblem(400, "invalid_input", issues.map((i) => i.message).join("; "), { issues });
    const current = await deps.approvals.get(c.req.param("id")!);
    if (!current) throw notFound("approval", c.req.param("id")!);
    if (approver) await signIn.gate.mustSee(approver, current.server);
    signIn.gate.mustNotBeRequester((by as string).trim(), await signIn.requesterOf(current));
    return c.json(approvalView(await deps.approvals.decide(c.req.param("id")!, to, (by as string).trim(), typeof reason === "string" && reason.trim() ? reason.trim() : null)));
  };
  app.post("/v1/approvals/:id/approve", decide("approved"));
  app.post("/v1/approvals/:id/deny", decide("denied"));

  // ---- audit
  app.get("/v1/audit", async (c) => {
    const q = auditQuery(c);
    const rows = await deps.audit.query({ ...q, limit: q.limit + 1 });
    const items = rows.slice(0, q.limit);
    return c.body(displaySafeJson({ items, nextCursor: rows.length > q.limit ? String(items.at(-1)!.id) : null }), 200, { "content-type": "application/json" });
  });
  app.get("/v1/audit/export", async (c) => {
    const q = auditQuery(c);
    const stream = new ReadableStream<string>({
      async start(controller) {
        let after = q.after;
        for (;;) {
          const rows = await deps.audit.query({ ...q, after, limit: 1000 });
          for (const row of rows) controller.enqueue(displaySafeJson(row) + "\n");
          if (rows.length < 1000) break;
          after = rows.at(-1)!.id;
        }
        controller.close();
      },
    });
    return new Response(stream.pipeThrough(new TextEncoderStream()), { headers: { "content-type": "application/x-ndjson" } });
  });

  async function serversUsingPolicy(policy: string): Promise<Set<string>> {
    const servers = new Set<string>();
    let after: string | undefined;
    for (;;) {
      const page = await deps.store.listGrants(PAGE_MAX, after);
      for (const g of page) if (g.policy === policy) servers.add(g.server);
      if (page.length < PAGE_MAX) return servers;
      after = page.at(-1)!.name;
    }
  }

  return app;
}

function problem(c: Context, status: number, code: string, detail: string, issues?: readonly Issue[], headers: Record<string, string> = {}) {
  return new Response(JSON.stringify(problemBody(status, code, detail, issues)), { status, headers: { "content-type": "application/problem+json", ...headers } });
}

function name(c: Context): string {
  const n = c.req.param("name")!;
  const parsed = NameSchema.safeParse(n);
  if (!parsed.success) throw new ApiProblem(400, "invalid_input", parsed.error.issues[0]!.message, { issues: [{ path: "/name", message: parsed.error.issues[0]!.message }] });
  return n;
}

async function body(c: Context): Promise<unknown> {
  if (mediaType(c.req.header("content-type")) !== "application/json") throw new ApiProblem(415, "unsupported_media_type", "Content-Type must be application/json");
  const text = await c.req.text();
  if (nestedDeeperThan(text, MAX_BODY_DEPTH)) throw new ApiProblem(400, "too_deep", `Request body is nested deeper than ${MAX_BODY_DEPTH} levels`);
  try {
    return JSON.parse(text);
  } catch (error) {
    // The parser's message quotes the body, which may hold a secret: report only where it failed.
    const at = /at position (\d+)/.exec((error as Error).message)?.[1];
    throw new ApiProblem(400, "invalid_json", text.trim() === "" ? "The body is empty; send a JSON object" : `The body is not valid JSON${at ? ` (at character ${at})` : ""}`);
  }
}

/** Validates a request body; the name in the URL wins and must match a `name` in the body, if any. */
function parse<S extends z.ZodType>(schema: S, input: unknown, urlName: string): z.output<S> {
  const withName = input !== null && typeof input === "object" && !Array.isArray(input) ? { name: urlName, ...(input as object) } : input;
  if (withName !== null && typeof withName === "object" && (withName as { name?: unknown }).name !== urlName) {
    throw new ApiProblem(400, "invalid_input", `The body's name "${String((withName as { name?: unknown }).name)}" does not match the URL's "${urlName}"`, { issues: [{ path: "/name", message: `must be "${urlName}" (the name in the URL)` }] });
  }
  const parsed = schema.safeParse(withName, { reportInput: false });
  if (!parsed.success) {
    const issues = zodIssues(parsed.error, { input: withName, pickUnionBranch: () => 0 }).sort((a, b) => (a.path < b.path ? -1 : a.path > b.path ? 1 : 0));
    throw new ApiProblem(400, "invalid_input", `The request body has ${issues.length} problem${issues.length === 1 ? "" : "s"}`, { issues });
  }
  return parsed.data;
}

function preconditions(c: Context): Preconditions {
  const ifMatch = c.req.header("if-match");
  const ifNoneMatch = c.req.header("if-none-match");
  const pre: Preconditions = {};
  if (ifNoneMatch !== undefined) {
    if (ifNoneMatch.trim() !== "*") throw new ApiProblem(400, "invalid_input", 'If-None-Match supports only "*" (create only)');
    pre.ifNoneMatch = true;
  }
  if (ifMatch !== undefined && ifMatch.trim() !== "*") {
    const m = /^(?:W\/)?"(\d+)"$/.exec(ifMatch.trim());
    if (!m) throw new ApiProblem(400, "invalid_input", `If-Match must be an ETag like "3", got ${JSON.stringify(ifMatch)}`);
    pre.ifMatch = Number(m[1]);
  }
  const key = c.req.header("idempotency-key");
  if (key !== undefined) {
    if (!/^[\x21-\x7e]{1,200}$/.test(key)) throw new ApiProblem(400, "invalid_input", "Idempotency-Key must be 1-200 printable ASCII characters without spaces", { issues: [{ path: "/Idempotency-Key", message: "must be 1-200 printable ASCII characters without spaces" }] });
    pre.idempotencyKey = key;
  }
  return pre;
}

function versioned(c: Context, value: unknown, version: number, status: 200 | 201 = 200, replayed = false) {
  return c.json(value, status, { etag: `"${version}"`, ...(replayed ? { "idempotent-replayed": "true" } : {}) });
}

function parseLimit(text: string | undefined): number {
  const limit = text === undefined ? 100 : Number(text);
  if (!Number.isInteger(limit) || limit < 1 || limit > PAGE_MAX) throw new ApiProblem(400, "invalid_input", `limit must be an integer from 1 to ${PAGE_MAX}, got ${JSON.stringify(text)}`, { issues: [{ path: "/limit", message: `must be 1-${PAGE_MAX}` }] });
  return limit;
}

function page(c: Context): { limit: number; after: string | undefined } {
  const limit = parseLimit(c.req.query("limit"));
  const cursor = c.req.query("cursor");
  let after: string | undefined;
  if (cursor) {
    after = Buffer.from(cursor, "base64url").toString("utf8");
    if (!NameSchema.safeParse(after).success) throw new ApiProblem(400, "invalid_input", "cursor is not valid; use the nextCursor of the previous page", { issues: [{ path: "/cursor", message: "not a cursor from this API" }] });
  }
  return { limit, after };
}

function listPage<R, V>(c: Context, rows: R[], limit: number, key: (r: R) => string, view: (r: R) => V) {
  const items = rows.slice(0, limit);
  const nextCursor = rows.length > limit ? Buffer.from(key(items.at(-1)!)).toString("base64url") : null;
  return c.json({ items: items.map(view), nextCursor });
}

function auditQuery(c: Context) {
  const limit = parseLimit(c.req.query("limit"));
  const cursor = c.req.query("cursor");
  const after = cursor === undefined ? undefined : Number(cursor);
  if (after !== undefined && (!Number.isInteger(after) || after < 0)) throw new ApiProblem(400, "invalid_input", "cursor is not valid; use the nextCursor of the previous page", { issues: [{ path: "/cursor", message: "not a cursor from this API" }] });
  const decision = c.req.query("decision");
  if (decision !== undefined && decision !== "allow" && decision !== "deny" && decision !== "event") throw new ApiProblem(400, "invalid_input", `decision must be "allow", "deny" or "event", got ${JSON.stringify(decision)}`, { issues: [{ path: "/decision", message: 'must be "allow", "deny" or "event"' }] });
  const time = (k: "since" | "until") => {
    const v = c.req.query(k);
    if (v === undefined) return undefined;
    const ms = Date.parse(v);
    if (Number.isNaN(ms)) throw new ApiProblem(400, "invalid_input", `${k} must be an ISO 8601 time, got ${JSON.stringify(v)}`, { issues: [{ path: `/${k}`, message: "must be an ISO 8601 time" }] });
    return new Date(ms).toISOString();
  };
  return { grant: c.req.query("grant"), subject: c.req.query("subject"), server: c.req.query("server"), tool: c.req.query("tool"), decision: decision as "allow" | "deny" | "event" | undefined, since: time("since"), until: time("until"), after, limit };
}

function notFound(kind: string, n: string): ApiProblem {
  return new ApiProblem(404, "not_found", `${kind} "${n}" does not exist`);
}

function newToken(): string {
  return "tg_" + randomBytes(32).toString("base64url");
}

export function hashToken(token: string): string {
  return createHash("sha256").update(token).digest("hex");
}
