import { createHmac, createSecretKey, timingSafeEqual } from "node:crypto";

/**
 * Binds an HTTP upstream's session id to the grant that opened the session, without keeping state (any replica
 * can check it): the agent sees `<upstream id>.<tag>`, where the tag is an HMAC of the grant and the upstream id
 * under a key every replica shares. Another grant's token on that session id does not verify.
 */
export interface SessionBinding {
  wrap(grant: string, upstreamId: string): string;
  /** The upstream's id, or undefined when the id is not one this grant was given. */
  unwrap(grant: string, sessionId: string): string | undefined;
}

/** Tags computed lately: a session's id comes back with every request, so most tags are computed once. */
const REMEMBERED_TAGS = 10_000;

export function createSessionBinding(key: Buffer): SessionBinding {
  const secret = createSecretKey(key);
  const remembered = new Map<string, string>();
  const tag = (grant: string, upstreamId: string) => {
    const name = `${grant}\0${upstreamId}`;
    let value = remembered.get(name);
    if (value === undefined) {
      value = createHmac("sha256", secret).update(name).digest().subarray(0, 18).toString("base64url");
      if (remembered.size >= REMEMBERED_TAGS) remembered.delete(remembered.keys().next().value!);
      remembered.set(name, value);
    }
    return value;
  };
  return {
    wrap: (grant, upstreamId) => `${upstreamId}.${tag(grant, upstreamId)}`,
    unwrap(grant, sessionId) {
      const dot = sessionId.lastIndexOf(".");
      if (dot <= 0) return undefined;
      const upstreamId = sessionId.slice(0, dot);
      const given = Buffer.from(sessionId.slice(dot + 1));
      const expected = Buffer.from(tag(grant, upstreamId));
      return given.length === expected.length && timingSafeEqual(given, expected) ? upstreamId : undefined;
    },
  };
}
