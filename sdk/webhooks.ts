import { createHmac, timingSafeEqual } from "node:crypto";

/**
 * Webhook signatures, as the gateway sends them: `Toolgate-Timestamp: <unix seconds>` and
 * `Toolgate-Signature: v1=<hex HMAC-SHA256(secret, "<timestamp>.<raw body>")>`.
 */
export function signWebhook(secret: string, timestamp: number, body: string): string {
  return "v1=" + createHmac("sha256", secret).update(`${timestamp}.${body}`).digest("hex");
}

/**
 * Checks a delivery on the receiving side: the signature over the raw body, and a timestamp within
 * `toleranceSeconds` of now (default 5 minutes), so a captured delivery cannot be replayed later.
 */
export function verifyWebhook(secret: string, headers: { timestamp: string | undefined; signature: string | undefined }, body: string, options: { toleranceSeconds?: number; now?: number } = {}): boolean {
  const timestamp = Number(headers.timestamp);
  if (!Number.isInteger(timestamp) || !headers.signature) return false;
  const now = Math.floor((options.now ?? Date.now()) / 1000);
  if (Math.abs(now - timestamp) > (options.toleranceSeconds ?? 300)) return false;
  const expected = Buffer.from(signWebhook(secret, timestamp, body));
  const given = Buffer.from(headers.signature);
  return expected.length === given.length && timingSafeEqual(expected, given);
}
