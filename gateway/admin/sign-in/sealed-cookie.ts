import { hkdfSync } from "node:crypto";
import { deflateRawSync, inflateRawSync } from "node:zlib";
import { gcmOpen, gcmSeal } from "../../store/seal.ts";

/**
 * Values the browser keeps for the gateway but cannot read or change: JSON, compressed, sealed with AES-256-GCM
 * under a key derived from the gateway's secret key (so every replica opens what another sealed). The purpose is
 * the GCM additional data, so a value sealed as one kind of cookie (a sign-in in progress) never opens as another
 * (a session). Each value carries its own expiry, checked when opened.
 */
export interface CookieSealer {
  seal(purpose: string, value: object, expiresAt: number): string;
  /** The value, or undefined when it was changed, sealed for another purpose or key, or has expired. */
  open<T>(purpose: string, sealed: string | undefined, now: number): T | undefined;
}

const FORMAT = "c1";

export function createCookieSealer(secretKey: Buffer): CookieSealer {
  const key = Buffer.from(hkdfSync("sha256", secretKey, Buffer.alloc(0), "toolgate ui cookies", 32));
  return {
    seal(purpose, value, expiresAt) {
      const { iv, tag, body } = gcmSeal(key, deflateRawSync(Buffer.from(JSON.stringify({ exp: expiresAt, value }))), Buffer.from(purpose));
      return [FORMAT, iv, tag, body].join(".");
    },
    open<T>(purpose: string, sealed: string | undefined, now: number): T | undefined {
      const [format, iv, tag, body, extra] = (sealed ?? "").split(".");
      if (format !== FORMAT || !iv || !tag || body === undefined || extra !== undefined) return undefined;
      try {
        const plain = gcmOpen(key, { iv, tag, body }, Buffer.from(purpose));
        const opened = JSON.parse(inflateRawSync(plain, { maxOutputLength: 64 * 1024 }).toString("utf8")) as { exp: number; value: T };
        return typeof opened.exp === "number" && opened.exp > now ? opened.value : undefined;
      } catch {
        return undefined;
      }
    },
  };
}
