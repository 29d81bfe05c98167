import { randomBytes, timingSafeEqual } from "node:crypto";
import type { Context } from "hono";
import { deleteCookie, getCookie, setCookie } from "hono/cookie";
import { ToolgateError } from "../../../sdk/index.ts";
import type { CookieSealer } from "./sealed-cookie.ts";
import type { Approver } from "./approver-access.ts";

/** A person signed in to /ui/ with an identity provider, as kept (sealed) in their session cookie. */
export interface UiSession extends Approver {
  /** Names this session: a signed-out session is refused even though its cookie is still sealed and unexpired. */
  sid: string;
  name: string | null;
  email: string | null;
  /** Sent back by the page in `X-Toolgate-CSRF` on every change (double submit, on top of SameSite=Strict). */
  csrf: string;
  expiresAt: number;
}

/** How long a sign-in lasts. Claims are read at sign-in: a person removed from a group keeps it at most this long. */
export const SESSION_TTL_MS = 8 * 60 * 60_000;
/** How long the IdP may take between the redirect and the callback. */
export const SIGN_IN_TTL_MS = 10 * 60_000;
export const CSRF_HEADER = "x-toolgate-csrf";
/** Browsers keep cookies of up to about 4096 bytes, name and attributes included. */
const MAX_COOKIE_CHARS = 3800;

const SESSION = "ui-session";
const SIGN_IN = "ui-sign-in";

export interface UiSessions {
  /** The session of this request, if it carries a valid, unexpired, not signed-out session cookie. */
  current(c: Context): UiSession | undefined;
  /** Does this change request come from the page (same origin, the session's CSRF token)? A reason when not. */
  csrfProblem(c: Context, session: UiSession): string | undefined;
  begin(c: Context, session: Omit<UiSession, "sid" | "csrf" | "expiresAt">): UiSession;
  end(c: Context, session: UiSession | undefined): void;
  /** A sign-in in progress (state, nonce, PKCE verifier) is kept in its own short-lived cookie, read once. */
  savePending(c: Context, pending: object): void;
  takePending<T>(c: Context): T | undefined;
}

/**
 * The cookies of /ui/: sealed (see sealed-cookie.ts), HttpOnly, `Secure` (with the `__Host-`/`__Secure-` names)
 * when the admin listener's public URL is https. The session cookie is SameSite=Strict: no other site can make the
 * browser send it. The sign-in cookie must come back on the IdP's redirect, a cross-site navigation, so it is
 * SameSite=Lax, limited to the callback path, and good for one callback.
 */
export function createUiSessions(deps: { sealer: CookieSealer; adminBase: () => string; clock?: () => number }): UiSessions {
  const clock = deps.clock ?? Date.now;
  /** Signed-out sessions until they would have expired. Per process: another replica honours a copied cookie until it expires. */
  const ended = new Map<string, number>();
  const secure = () => new URL(deps.adminBase()).protocol === "https:";
  const sessionCookie = () => (secure() ? "__Host-tg_session" : "tg_session");
  const signInCookie = () => (secure() ? "__Secure-tg_sign_in" : "tg_sign_in");

  function forgetEnded(now: number): void {
    for (const [sid, until] of ended) if (until <= now) ended.delete(sid);
  }

  return {
    current(c) {
      const now = clock();
      const session = deps.sealer.open<UiSession>(SESSION, getCookie(c, sessionCookie()), now);
      if (!session || session.expiresAt <= now || ended.has(session.sid)) return undefined;
      return session;
    },

    csrfProblem(c, session) {
      const origin = c.req.header("origin");
      if (origin !== undefined && origin !== new URL(deps.adminBase()).origin && origin !== new URL(c.req.url).origin) return `requests from ${origin} may not use the approvers' session`;
      const given = Buffer.from(c.req.header(CSRF_HEADER) ?? "");
      const expected = Buffer.from(session.csrf);
      if (given.length !== expected.length || !timingSafeEqual(given, expected)) return `the ${CSRF_HEADER} header is missing or does not match the session; reload /ui/`;
      return undefined;
    },

    begin(c, who) {
      const now = clock();
      const session: UiSession = { ...who, sid: randomBytes(12).toString("base64url"), csrf: randomBytes(24).toString("base64url"), expiresAt: now + SESSION_TTL_MS };
      const sealed = deps.sealer.seal(SESSION, session, session.expiresAt);
      if (sealed.length > MAX_COOKIE_CHARS) {
        throw new ToolgateError("unauthorized", `The identity provider sent more claims than a session cookie holds (${sealed.length} characters sealed, at most ${MAX_COOKIE_CHARS}): have it put fewer claims in the ID token and userinfo for this client`);
      }
      setCookie(c, sessionCookie(), sealed, { httpOnly: true, secure: secure(), sameSite: "Strict", path: "/", maxAge: SESSION_TTL_MS / 1000 });
      return session;
    },

    end(c, session) {
      const now = clock();
      forgetEnded(now);
      if (session) ended.set(session.sid, session.expiresAt);
      deleteCookie(c, sessionCookie(), { path: "/", secure: secure(), httpOnly: true, sameSite: "Strict" });
    },

    savePending(c, pending) {
      const until = clock() + SIGN_IN_TTL_MS;
      setCookie(c, signInCookie(), deps.sealer.seal(SIGN_IN, pending, until), { httpOnly: true, secure: secure(), sameSite: "Lax", path: "/ui/auth/callback", maxAge: SIGN_IN_TTL_MS / 1000 });
    },

    takePending<T>(c: Context): T | undefined {
      const pending = deps.sealer.open<T>(SIGN_IN, getCookie(c, signInCookie()), clock());
      deleteCookie(c, signInCookie(), { path: "/ui/auth/callback", secure: secure(), httpOnly: true, sameSite: "Lax" });
      return pending;
    },
  };
}
