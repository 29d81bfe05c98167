import { test } from "node:test";
import assert from "node:assert/strict";
import { randomBytes } from "node:crypto";
import { createSealer } from "../../gateway/store/seal.ts";

const sealer = createSealer(randomBytes(32));

test("a sealed credential opens to its plaintext", () => {
  assert.equal(sealer.open(sealer.seal("Bearer sk_live_123")), "Bearer sk_live_123");
});

test("a sealed credential whose tag was shortened is refused (GCM would accept a truncated tag)", () => {
  const [format, id, iv, tag, body] = sealer.seal("Bearer sk_live_123").split(".");
  const short = Buffer.from(tag!, "base64url").subarray(0, 12).toString("base64url");
  assert.throws(() => sealer.open([format, id, iv, short, body].join(".")), /failed authentication/);
});

test("a sealed credential with a changed body is refused", () => {
  const parts = sealer.seal("Bearer sk_live_123").split(".");
  const body = Buffer.from(parts[4]!, "base64url");
  body[0]! ^= 1;
  parts[4] = body.toString("base64url");
  assert.throws(() => sealer.open(parts.join(".")), /failed authentication/);
});
