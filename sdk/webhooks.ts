import { createHmac, timingSafeEqual } from "node:crypto";

/**
 * Webhook signatures, as the gateway sends them:
 * `Toolgate-Delivery: dlv_…` (new for every attempt), `Toolgate-Timestamp: <unix seconds>` and
 * `Toolgate-Signature: v2=<hex HMAC-SHA256(secret, "<timestamp>.<delivery>.<raw body>")>`.
 * The delivery id is signed, so a receiver can refuse the same request twice (see `verifyWebhook`).
 *
 * @example signWebhook("whsec_0123456789abcdef", 1767225600, "dlv_x", '{"id":"evt_1"}') // "v2=…"
 */
export function signWebhook(secret: string, timestamp: number, delivery: string, body: string): string {
  return "v2=" + createHmac("sha256", secret).update(`${timestamp}.${delivery}.${body}`).digest("hex");
}

/** Remembers the delivery ids a receiver has accepted, so a captured request cannot be played again. */
export interface DeliveryIdStore {
  /**
   * Records `delivery` until `expiresAt` and returns true, or returns false when it is already recorded and not
   * expired at `now` (a replay). Times are epoch ms. Called only for deliveries whose signature and timestamp are valid.
   */
  claim(delivery: string, expiresAt: number, now: number): boolean;
}

/**
 * A `DeliveryIdStore` in this process's memory. Ids are forgotten once their timestamp is outside the tolerance
 * window (the timestamp check refuses them from then on). Holds at most `maxEntries` ids (default 100,000); past
 * that the oldest is forgotten. Receivers that run as several processes should pass a store they share.
 *
 * @example verifyWebhook(secret, headers, body, { seen: createMemoryDeliveryStore() })
 */
export function createMemoryDeliveryStore(options: { maxEntries?: number } = {}): DeliveryIdStore {
  const maxEntries = options.maxEntries ?? 100_000;
  if (!Number.isInteger(maxEntries) || maxEntries < 1) throw new RangeError(`maxEntries must be a positive integer, got ${maxEntries}`);
  /** Insertion order is close to expiry order (ids arrive with current timestamps), so expired ids sit in front. */
  const seen = new Map<string, number>();
  return {
    claim(delivery, expiresAt, now) {
      for (const [id, until] of seen) {
        if (until > now) break;
        seen.delete(id);
      }
      const until = seen.get(delivery);
      if (until !== undefined && until > now) return false;
      seen.delete(delivery);
      if (seen.size >= maxEntries) seen.delete(seen.keys().next().value!);
      seen.set(delivery, expiresAt);
      return true;
    },
  };
}

const processDeliveries = createMemoryDeliveryStore();

export interface WebhookHeaders {
  /** `Toolgate-Timestamp` */
  timestamp: string | undefined;
  /** `Toolgate-Signature` */
  signature: string | undefined;
  /** `Toolgate-Delivery` */
  delivery: string | undefined;
}

export interface VerifyWebhookOptions {
  /** How far the timestamp may be from now; default 300 seconds. */
  toleranceSeconds?: number;
  /** Now, in epoch milliseconds (tests). */
  now?: number;
  /** Where accepted delivery ids are remembered; default one in-memory store per process. */
  seen?: DeliveryIdStore;
}

/**
 * Checks a delivery on the receiving side: the signature over the delivery id and the raw body, a timestamp within
 * `toleranceSeconds` of now, and a delivery id not accepted before within that window. True only when all hold;
 * the id is then remembered, so the same request verified again (a replay) is false. A retry by the gateway is a
 * new delivery with its own id; the event's `id` in the body stays the same, for de-duplicating its effects.
 *
 * @example
 * const ok = verifyWebhook(process.env.WEBHOOK_SECRET!, {
 *   timestamp: req.headers["toolgate-timestamp"], signature: req.headers["toolgate-signature"], delivery: req.headers["toolgate-delivery"],
 * }, rawBody);
 */
export function verifyWebhook(secret: string, headers: WebhookHeaders, body: string, options: VerifyWebhookOptions = {}): boolean {
  const timestamp = Number(headers.timestamp);
  const { signature, delivery } = headers;
  if (!Number.isInteger(timestamp) || typeof signature !== "string" || typeof delivery !== "string" || delivery === "" || delivery.length > 200) return false;
  const tolerance = options.toleranceSeconds ?? 300;
  const nowMs = options.now ?? Date.now();
  if (Math.abs(Math.floor(nowMs / 1000) - timestamp) > tolerance) return false;
  const expected = Buffer.from(signWebhook(secret, timestamp, delivery, body));
  const given = Buffer.from(signature);
  if (expected.length !== given.length || !timingSafeEqual(expected, given)) return false;
  // The timestamp check refuses this delivery from (timestamp + tolerance + 1) s on, so remember it until then.
  return (options.seen ?? processDeliveries).claim(delivery, (timestamp + tolerance + 1) * 1000, nowMs);
}
