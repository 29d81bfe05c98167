import { createCipheriv, createDecipheriv, createHash, createHmac, hkdfSync, randomBytes } from "node:crypto";
import { ToolgateError } from "../../sdk/index.ts";

/**
 * AES-256-GCM sealing of upstream credentials. A sealed value is `tg1.<key id>.<iv>.<tag>.<ciphertext>`
 * (base64url); the key id (first 8 bytes of SHA-256 of the key, hex) says which key opens it, so keys can
 * rotate: seal with the current key, open with the current or any previous one.
 */
export interface Sealer {
  seal(plaintext: string): string;
  open(sealed: string): string;
  /** HMAC-SHA256 under a key derived from the current key: detects changes, reveals nothing. */
  digest(plaintext: string): string;
}

export function keyId(key: Buffer): string {
  return createHash("sha256").update(key).digest("hex").slice(0, 16);
}

/** Parses a 32-byte key given as base64, base64url or hex. */
export function parseKey(text: string, name: string): Buffer {
  const trimmed = text.trim();
  const key = /^[0-9a-fA-F]{64}$/.test(trimmed) ? Buffer.from(trimmed, "hex") : Buffer.from(trimmed, "base64");
  if (key.length !== 32) throw new ToolgateError("config", `${name} must be 32 bytes, given as 64 hex characters or base64 (got ${key.length} bytes)`);
  return key;
}

/** One AES-256-GCM sealed value, each part base64url: a fresh 12-byte IV, the 16-byte tag, the ciphertext. */
export interface GcmParts {
  iv: string;
  tag: string;
  body: string;
}

/** AES-256-GCM with a fresh IV; `aad` (additional data) binds the value to a purpose without being part of it. */
export function gcmSeal(key: Buffer, plaintext: Buffer, aad?: Buffer): GcmParts {
  const iv = randomBytes(12);
  const cipher = createCipheriv("aes-256-gcm", key, iv);
  if (aad) cipher.setAAD(aad);
  const body = Buffer.concat([cipher.update(plaintext), cipher.final()]);
  return { iv: iv.toString("base64url"), tag: cipher.getAuthTag().toString("base64url"), body: body.toString("base64url") };
}

/** Opens what gcmSeal sealed under the same key and `aad`; throws when anything was changed. */
export function gcmOpen(key: Buffer, parts: GcmParts, aad?: Buffer): Buffer {
  // The full 16-byte tag only: GCM would otherwise accept a truncated one, which makes forging easier.
  const decipher = createDecipheriv("aes-256-gcm", key, Buffer.from(parts.iv, "base64url"), { authTagLength: 16 });
  if (aad) decipher.setAAD(aad);
  decipher.setAuthTag(Buffer.from(parts.tag, "base64url"));
  return Buffer.concat([decipher.update(Buffer.from(parts.body, "base64url")), decipher.final()]);
}

export function createSealer(current: Buffer, previous: Buffer[] = []): Sealer {
  const keys = new Map([current, ...previous].map((k) => [keyId(k), k]));
  const currentId = keyId(current);
  const digestKey = Buffer.from(hkdfSync("sha256", current, Buffer.alloc(0), "toolgate credentials digest", 32));
  return {
    seal(plaintext) {
      const { iv, tag, body } = gcmSeal(current, Buffer.from(plaintext, "utf8"));
      return ["tg1", currentId, iv, tag, body].join(".");
    },
    open(sealed) {
      const [format, id, iv, tag, body] = sealed.split(".");
      if (format !== "tg1" || !id || !iv || !tag || body === undefined) throw new ToolgateError("config", "a stored credential is not in a known sealed format");
      const key = keys.get(id);
      if (!key) throw new ToolgateError("config", `a stored credential was sealed with key ${id}, which is not configured (set it in TOOLGATE_SECRET_KEY_PREVIOUS to read it)`);
      try {
        return gcmOpen(key, { iv, tag, body }).toString("utf8");
      } catch {
        throw new ToolgateError("config", `a stored credential failed authentication with key ${id}: the data or the key is wrong`);
      }
    },
    digest(plaintext) {
      return "hmac-sha256:" + createHmac("sha256", digestKey).update(plaintext).digest("base64url");
    },
  };
}
