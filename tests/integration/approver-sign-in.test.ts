import assert from "node:assert/strict";
import { randomBytes } from "node:crypto";
import { after, before, test } from "node:test";
import { Hono } from "hono";
import pino from "pino";
import { ApiProblem } from "../../gateway/admin/problem.ts";
import { createOidcSignIn, type PendingSignIn } from "../../gateway/admin/sign-in/oidc-sign-in.ts";
import { createCookieSealer } from "../../gateway/admin/sign-in/sealed-cookie.ts";
import { mountSignInRoutes } from "../../gateway/admin/sign-in/sign-in-routes.ts";
import { createUiSessions } from "../../gateway/admin/sign-in/ui-session.ts";
import { GATEWAY_CLIENT, startIdp, type TestIdp } from "../helpers/idp.ts";

/**
 * The sign-in routes of /ui/ against a real oidc-provider, without a browser: the callback's checks (state, PKCE,
 * nonce, iss, a used code) and what a changed, misplaced or expired cookie gets. In process, so a test can seal a
 * sign-in cookie of its own (with the key the routes use) to change exactly one of the values it carries.
 */
const ADMIN = "http://127.0.0.1:8788";
const CALLBACK = `${ADMIN}/ui/auth/callback`;
const key = randomBytes(32);
const sealer = createCookieSealer(key);
let idp: TestIdp;
let app: Hono;
let now = Date.now();

before(async () => {
  idp = await startIdp({ gatewayRedirectUris: [CALLBACK] });
  app = new Hono();
  // The admin app renders problems in one place; this stand-in keeps their status.
  app.onError((error, c) => (error instanceof ApiProblem ? c.json({ detail: error.message }, error.status as 401 | 403) : c.text(String(error), 500)));
  const sessions = createUiSessions({ sealer, adminBase: () => ADMIN, clock: () => now });
  const provider = { name: "corp", issuer: idp.issuer, clientId: GATEWAY_CLIENT.clientId, clientSecret: GATEWAY_CLIENT.clientSecret, version: 1, description: "Corp SSO" };
  mountSignInRoutes(app, { providers: async () => [provider], sessions, oidc: createOidcSignIn(), adminBase: () => ADMIN, log: pino({ level: "silent" }), pageHeaders: {} });
});
after(() => idp?.stop());

/** name=value of each Set-Cookie, and the attributes as written. */
function cookies(res: Response): Map<string, { value: string; attributes: string }> {
  const out = new Map<string, { value: string; attributes: string }>();
  for (const line of res.headers.getSetCookie()) {
    const [pair, ...attributes] = line.split("; ");
    const eq = pair!.indexOf("=");
    out.set(pair!.slice(0, eq), { value: pair!.slice(eq + 1), attributes: attributes.join("; ") });
  }
  return out;
}

async function login(): Promise<{ authorization: URL; signInCookie: string }> {
  const res = await app.request(`${ADMIN}/ui/auth/login?provider=corp&return=${encodeURIComponent("#apr_abc")}`);
  assert.equal(res.status, 302);
  const cookie = cookies(res).get("tg_sign_in");
  assert.ok(cookie, "the sign-in cookie is set");
  return { authorization: new URL(res.headers.get("location")!), signInCookie: cookie.value };
}

const callback = (back: URL, signInCookie: string | undefined) =>
  app.request(`${CALLBACK}${back.search}`, { headers: signInCookie ? { cookie: `tg_sign_in=${signInCookie}` } : {} });

const session = (cookie: string) => app.request(`${ADMIN}/ui/auth/session`, { headers: { cookie: `tg_session=${cookie}` } });

test("sign-in: to the IdP with state, nonce and an S256 PKCE challenge; back with a session cookie; the session names the person", async () => {
  const { authorization, signInCookie } = await login();
  assert.equal(authorization.origin, idp.issuer);
  for (const p of ["state", "nonce", "code_challenge"]) assert.ok((authorization.searchParams.get(p) ?? "").length >= 32, `${p} is random and long`);
  assert.equal(authorization.searchParams.get("code_challenge_method"), "S256");
  assert.equal(authorization.searchParams.get("redirect_uri"), CALLBACK);
  assert.equal(authorization.searchParams.get("client_id"), GATEWAY_CLIENT.clientId);
  const signInAttributes = cookies(await app.request(`${ADMIN}/ui/auth/login?provider=corp`)).get("tg_sign_in")!.attributes;
  assert.match(signInAttributes, /HttpOnly/);
  assert.match(signInAttributes, /SameSite=Lax/);
  assert.match(signInAttributes, /Path=\/ui\/auth\/callback/);

  const back = await idp.signIn(authorization.href, "alice");
  const res = await callback(back, signInCookie);
  assert.equal(res.status, 303, await res.clone().text());
  assert.equal(res.headers.get("location"), "/ui/#apr_abc");
  const set = cookies(res);
  assert.equal(set.get("tg_sign_in")?.value, "", "the sign-in cookie is used once");
  const sessionCookie = set.get("tg_session")!;
  assert.match(sessionCookie.attributes, /HttpOnly/);
  assert.match(sessionCookie.attributes, /SameSite=Strict/);
  assert.match(sessionCookie.attributes, /Max-Age=28800/);
  assert.doesNotMatch(sessionCookie.attributes, /Secure/, "an http admin URL gets no Secure cookie (the browser would drop it)");

  const who = (await (await session(sessionCookie.value)).json()) as Record<string, unknown>;
  assert.deepEqual([who.provider, who.subject, who.decider, who.name, who.email], ["corp", "alice", "corp:alice", "Alice", "alice@example.com"]);
  assert.equal(typeof who.csrfToken, "string");
});

test("callback: a changed state is refused", async () => {
  const { authorization, signInCookie } = await login();
  const back = await idp.signIn(authorization.href, "alice");
  back.searchParams.set("state", "x".repeat(43));
  const res = await callback(back, signInCookie);
  assert.equal(res.status, 401);
  assert.match(await res.text(), /state/);
  assert.equal(cookies(res).get("tg_session"), undefined);
});

test("callback: without the sign-in cookie (started elsewhere, or used already) is refused", async () => {
  const { authorization, signInCookie } = await login();
  const back = await idp.signIn(authorization.href, "alice");
  const none = await callback(back, undefined);
  assert.equal(none.status, 400);
  assert.match(await none.text(), /was not started here/);
  assert.equal((await callback(back, signInCookie)).status, 303);
  const replay = await callback(back, signInCookie);
  assert.equal(replay.status, 401, "the code was used: the IdP refuses it");
  assert.match(await replay.text(), /invalid_grant/);
});

test("callback: a PKCE verifier that does not match the challenge is refused by the IdP", async () => {
  const { authorization, signInCookie } = await login();
  const pending = sealer.open<PendingSignIn>("ui-sign-in", signInCookie, now)!;
  const back = await idp.signIn(authorization.href, "alice");
  const forged = sealer.seal("ui-sign-in", { ...pending, codeVerifier: randomBytes(32).toString("base64url") }, now + 60_000);
  const res = await callback(back, forged);
  assert.equal(res.status, 401);
  // Only the verifier differs from a good callback (state and nonce are the real ones), so this is the PKCE check.
  assert.match(await res.text(), /failed: invalid_grant/);
});

test("callback: an ID token with another nonce is refused", async () => {
  const { authorization, signInCookie } = await login();
  const pending = sealer.open<PendingSignIn>("ui-sign-in", signInCookie, now)!;
  const back = await idp.signIn(authorization.href, "alice");
  const forged = sealer.seal("ui-sign-in", { ...pending, nonce: randomBytes(32).toString("base64url") }, now + 60_000);
  const res = await callback(back, forged);
  assert.equal(res.status, 401);
  assert.match(await res.text(), /nonce/);
});

test("callback: an iss parameter other than the provider's issuer is refused (RFC 9207, mix-up)", async () => {
  const { authorization, signInCookie } = await login();
  const back = await idp.signIn(authorization.href, "alice");
  assert.equal(back.searchParams.get("iss"), idp.issuer, "the IdP sends iss with the code");
  back.searchParams.set("iss", "https://evil.example");
  const res = await callback(back, signInCookie);
  assert.equal(res.status, 401);
  assert.match(await res.text(), /iss/);
});

test("callback: the IdP's error (the person declined) is shown as text, not markup", async () => {
  const { signInCookie } = await login();
  const pending = sealer.open<PendingSignIn>("ui-sign-in", signInCookie, now)!;
  const back = new URL(CALLBACK);
  for (const [k, v] of Object.entries({ error: "access_denied", error_description: "<script>alert(1)</script>", state: pending.state, iss: idp.issuer })) back.searchParams.set(k, v);
  const res = await callback(back, signInCookie);
  assert.equal(res.status, 401);
  const body = await res.text();
  assert.match(body, /access_denied: &#60;script&#62;alert\(1\)&#60;\/script&#62;/);
  assert.doesNotMatch(body, /<script>/);
});

test("session cookie: changed, sealed for another purpose, or expired, it is not a session", async () => {
  const { authorization, signInCookie } = await login();
  const res = await callback(await idp.signIn(authorization.href, "bob"), signInCookie);
  const good = cookies(res).get("tg_session")!.value;
  assert.equal((await session(good)).status, 200);

  const parts = good.split(".");
  const body = Buffer.from(parts[3]!, "base64url");
  body[0] = body[0]! ^ 1;
  const flipped = [...parts.slice(0, 3), body.toString("base64url")].join(".");
  assert.equal((await session(flipped)).status, 401, "one bit changed");
  const shortTag = [parts[0], parts[1], parts[2]!.slice(0, 6), parts[3]].join(".");
  assert.equal((await session(shortTag)).status, 401, "a shortened tag");
  assert.equal((await session(createCookieSealer(randomBytes(32)).seal("ui-session", { subject: "alice" }, now + 60_000))).status, 401, "sealed with another key");
  const asSession = sealer.seal("ui-sign-in", sealer.open("ui-session", good, now)!, now + 60_000);
  assert.equal((await session(asSession)).status, 401, "a value sealed as a sign-in cookie is no session");

  const saved = now;
  now += 8 * 60 * 60_000 + 1;
  try {
    assert.equal((await session(good)).status, 401, "expired after 8 hours");
  } finally {
    now = saved;
  }
});

test("sign-out needs the session's CSRF token; afterwards the cookie is no session, even if kept", async () => {
  const { authorization, signInCookie } = await login();
  const cookie = cookies(await callback(await idp.signIn(authorization.href, "alice"), signInCookie)).get("tg_session")!.value;
  const { csrfToken } = (await (await session(cookie)).json()) as { csrfToken: string };
  const refused = await app.request(`${ADMIN}/ui/auth/logout`, { method: "POST", headers: { cookie: `tg_session=${cookie}` } });
  assert.equal(refused.status, 403);
  const foreign = await app.request(`${ADMIN}/ui/auth/logout`, { method: "POST", headers: { cookie: `tg_session=${cookie}`, "x-toolgate-csrf": csrfToken, origin: "https://evil.example" } });
  assert.equal(foreign.status, 403);
  assert.equal((await session(cookie)).status, 200);
  const out = await app.request(`${ADMIN}/ui/auth/logout`, { method: "POST", headers: { cookie: `tg_session=${cookie}`, "x-toolgate-csrf": csrfToken, origin: ADMIN } });
  assert.equal(out.status, 204);
  assert.equal(cookies(out).get("tg_session")?.value, "");
  assert.equal((await session(cookie)).status, 401);
});

test("an unknown provider is a 404 page; the providers list names only those offered", async () => {
  const res = await app.request(`${ADMIN}/ui/auth/login?provider=nope`);
  assert.equal(res.status, 404);
  assert.match(await res.text(), /no identity provider &#34;nope&#34;/);
  assert.deepEqual(await (await app.request(`${ADMIN}/ui/auth/providers`)).json(), { providers: [{ name: "corp", description: "Corp SSO" }] });
});
