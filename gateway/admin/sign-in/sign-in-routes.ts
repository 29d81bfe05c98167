import type { Context, Hono } from "hono";
import type { Logger } from "pino";
import { ToolgateError } from "../../../sdk/index.ts";
import { ApiProblem } from "../problem.ts";
import { deciderOf } from "./approver-access.ts";
import type { OidcSignIn, PendingSignIn, SignInProvider } from "./oidc-sign-in.ts";
import { CSRF_HEADER, type UiSessions } from "./ui-session.ts";

export interface SignInRoutesDeps {
  /** Identity providers approvers sign in with: those with a `clientId` that some server's `approvers` names. */
  providers(): Promise<(SignInProvider & { description: string | null })[]>;
  sessions: UiSessions;
  oidc: OidcSignIn;
  /** The admin listener as browsers reach it (`--admin-public-url`, else its own address): the callback is under it. */
  adminBase: () => string;
  log: Logger;
  /** The page's headers (content security policy and friends) for the HTML this answers with. */
  pageHeaders: Record<string, string>;
}

/** Where /ui/ may send a person back to after sign-in: the page itself, optionally at one approval. */
const RETURN_TO = /^#apr_[A-Za-z0-9_-]{1,64}$/;

/**
 * Sign-in to the approvers' page with the identity provider (OIDC authorization code + PKCE):
 * `GET /ui/auth/providers` (which to offer; public, names only), `GET /ui/auth/login?provider=` (to the IdP),
 * `GET /ui/auth/callback` (back from it: a session cookie), `GET /ui/auth/session` (who is signed in, and the CSRF
 * token the page sends with decisions), `POST /ui/auth/logout`.
 */
export function mountSignInRoutes(app: Hono, deps: SignInRoutesDeps): void {
  const redirectUri = () => `${deps.adminBase().replace(/\/+$/, "")}/ui/auth/callback`;
  const page = (c: Context, status: 400 | 401 | 403 | 404 | 503, message: string) => c.html(errorPage(message), status, deps.pageHeaders);

  app.get("/ui/auth/providers", async (c) => {
    const providers = await deps.providers();
    return c.json({ providers: providers.map((p) => ({ name: p.name, description: p.description })) }, 200, { "cache-control": "no-store" });
  });

  app.get("/ui/auth/login", async (c) => {
    const name = c.req.query("provider");
    const provider = (await deps.providers()).find((p) => p.name === name);
    if (!provider) return page(c, 404, name ? `There is no identity provider "${name}" to sign in with (it needs a clientId, and a server whose approvers name it).` : "Say which identity provider to sign in with: /ui/auth/login?provider=<name>.");
    const returnTo = c.req.query("return") ?? "";
    try {
      const { url, pending } = await deps.oidc.start(provider, redirectUri(), RETURN_TO.test(returnTo) ? returnTo : "");
      deps.sessions.savePending(c, pending);
      return c.redirect(url.href, 302);
    } catch (error) {
      if (error instanceof ToolgateError) return page(c, 503, error.message);
      throw error;
    }
  });

  app.get("/ui/auth/callback", async (c) => {
    const pending = deps.sessions.takePending<PendingSignIn>(c);
    if (!pending) return page(c, 400, "This sign-in was not started here, took longer than 10 minutes or was already used: start again from the approvals page.");
    const provider = (await deps.providers()).find((p) => p.name === pending.provider);
    if (!provider) return page(c, 400, `Identity provider "${pending.provider}" no longer offers sign-in to this page.`);
    const callbackUrl = new URL(redirectUri());
    callbackUrl.search = new URL(c.req.url).search;
    try {
      const who = await deps.oidc.finish(provider, pending, callbackUrl);
      const claimText = (name: string) => (typeof who.claims[name] === "string" ? (who.claims[name] as string).slice(0, 200) : null);
      const session = deps.sessions.begin(c, { provider: provider.name, subject: who.subject, claims: who.claims, name: claimText("name"), email: claimText("email") });
      deps.log.info({ provider: provider.name, decider: deciderOf(session) }, "approver signed in to /ui/");
      return c.redirect(`/ui/${pending.returnTo}`, 303);
    } catch (error) {
      if (!(error instanceof ToolgateError)) throw error;
      deps.log.warn({ provider: provider.name, reason: error.message }, "approver sign-in to /ui/ failed");
      return page(c, error.code === "unavailable" ? 503 : 401, error.message);
    }
  });

  app.get("/ui/auth/session", (c) => {
    const session = deps.sessions.current(c);
    if (!session) throw new ApiProblem(401, "unauthorized", "Not signed in to the approvals page");
    return c.json(
      { provider: session.provider, subject: session.subject, decider: deciderOf(session), name: session.name, email: session.email, expiresAt: new Date(session.expiresAt).toISOString(), csrfToken: session.csrf, csrfHeader: CSRF_HEADER },
      200,
      { "cache-control": "no-store" },
    );
  });

  app.post("/ui/auth/logout", (c) => {
    const session = deps.sessions.current(c);
    if (session) {
      const refused = deps.sessions.csrfProblem(c, session);
      if (refused) throw new ApiProblem(403, "forbidden", `Sign-out refused: ${refused}`);
      deps.log.info({ provider: session.provider, decider: deciderOf(session) }, "approver signed out of /ui/");
    }
    deps.sessions.end(c, session);
    return c.body(null, 204);
  });
}

function errorPage(message: string): string {
  const text = message.replace(/[&<>"']/g, (ch) => `&#${ch.charCodeAt(0)};`);
  return `<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>Toolgate approvals: sign-in</title></head>
<body style="font: 14px/1.45 system-ui, sans-serif; margin: 24px"><h1 style="font-size: 16px">Sign-in did not work</h1><p id="reason">${text}</p><p><a href="/ui/">Back to the approvals page</a></p></body></html>
`;
}
