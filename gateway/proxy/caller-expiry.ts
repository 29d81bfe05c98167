import type { Caller } from "../contracts.ts";

/** setTimeout's longest delay; a token living longer than this (about 24 days) is not watched. */
const MAX_DELAY_MS = 2_147_483_647;

export interface CallerExpiry {
  /** Aborts, with a reason that says so, when the caller's access token expires; never for grant tokens. */
  signal: AbortSignal;
  /** Stops watching (the request is over). */
  stop(): void;
}

/**
 * Watches the expiry of the access token a request was made with (`Caller.expiresAt`), so what the request keeps
 * open (a call held for approval, a GET stream) ends when the token does instead of serving the caller past it.
 *
 * @example
 * const expiry = watchCallerExpiry(caller, Date.now);
 * expiry.signal.addEventListener("abort", () => res.destroy());
 * try { await stream(); } finally { expiry.stop(); }
 */
export function watchCallerExpiry(caller: Caller | undefined, clock: () => number): CallerExpiry {
  const controller = new AbortController();
  if (caller?.expiresAt === undefined) return { signal: controller.signal, stop: () => {} };
  const reason = `the caller's access token expired at ${new Date(caller.expiresAt).toISOString()}`;
  const delay = caller.expiresAt - clock();
  if (delay <= 0) {
    controller.abort(reason);
    return { signal: controller.signal, stop: () => {} };
  }
  if (delay > MAX_DELAY_MS) return { signal: controller.signal, stop: () => {} };
  const timer = setTimeout(() => controller.abort(reason), delay);
  timer.unref();
  return { signal: controller.signal, stop: () => clearTimeout(timer) };
}
