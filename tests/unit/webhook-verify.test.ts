import { test } from "node:test";
import assert from "node:assert/strict";
import { createMemoryDeliveryStore, signWebhook, verifyWebhook } from "../../sdk/index.ts";

const SECRET = "whsec_unit_0123456789abcdef";
const BODY = '{"id":"evt_1","event":"approval.requested"}';
const T = 1_767_225_600; // 2026-01-01T00:00:00Z
const at = (seconds: number) => seconds * 1000;

function delivery(id: string, timestamp = T) {
  return { timestamp: String(timestamp), delivery: id, signature: signWebhook(SECRET, timestamp, id, BODY) };
}

test("the signature covers the timestamp, the delivery id and the body", () => {
  // openssl dgst -sha256 -hmac <secret> of "1767225600.dlv_a.<body>"
  assert.equal(signWebhook(SECRET, T, "dlv_a", BODY), "v2=ab220a0d27e6586aae16d3c957c2f9fddb84701145824572a1a8f4e0d7075828");
  const seen = createMemoryDeliveryStore();
  const good = delivery("dlv_a");
  assert.equal(verifyWebhook(SECRET, { ...good, delivery: "dlv_b" }, BODY, { now: at(T), seen }), false, "another delivery id");
  assert.equal(verifyWebhook(SECRET, good, BODY.replace("requested", "approved"), { now: at(T), seen }), false, "another body");
  assert.equal(verifyWebhook(SECRET, { ...good, timestamp: String(T + 1) }, BODY, { now: at(T), seen }), false, "another timestamp");
  assert.equal(verifyWebhook("whsec_someone_else_0123", good, BODY, { now: at(T), seen }), false, "another secret");
  assert.equal(verifyWebhook(SECRET, { ...good, delivery: undefined }, BODY, { now: at(T), seen }), false, "no delivery id");
  assert.equal(verifyWebhook(SECRET, good, BODY, { now: at(T), seen }), true);
});

test("a replayed delivery is refused within the tolerance window; a retry (new delivery id) is accepted", () => {
  const seen = createMemoryDeliveryStore();
  const first = delivery("dlv_first");
  assert.equal(verifyWebhook(SECRET, first, BODY, { now: at(T), seen }), true);
  assert.equal(verifyWebhook(SECRET, first, BODY, { now: at(T + 1), seen }), false, "the same request again");
  assert.equal(verifyWebhook(SECRET, first, BODY, { now: at(T + 300), seen }), false, "still inside the window");
  assert.equal(verifyWebhook(SECRET, first, BODY, { now: at(T + 301), seen }), false, "outside the window the timestamp refuses it");
  assert.equal(verifyWebhook(SECRET, delivery("dlv_retry", T + 30), BODY, { now: at(T + 31), seen }), true, "the gateway's retry");
});

test("the default store is shared by the process, so replays are refused without configuration", () => {
  const now = Date.now();
  const fresh = delivery("dlv_default_" + now, Math.floor(now / 1000));
  assert.equal(verifyWebhook(SECRET, fresh, BODY), true);
  assert.equal(verifyWebhook(SECRET, fresh, BODY), false);
});

test("the store is pluggable: it is asked only about deliveries that verified", () => {
  const asked: [string, number, number][] = [];
  const seen = { claim: (id: string, expiresAt: number, now: number) => (asked.push([id, expiresAt, now]), true) };
  assert.equal(verifyWebhook(SECRET, delivery("dlv_x"), BODY, { now: at(T + 5), seen, toleranceSeconds: 60 }), true);
  assert.equal(verifyWebhook("whsec_someone_else_0123", delivery("dlv_y"), BODY, { now: at(T + 5), seen }), false);
  assert.deepEqual(asked, [["dlv_x", at(T + 61), at(T + 5)]]);
});

test("the memory store forgets ids once they expire, and holds at most maxEntries", () => {
  const seen = createMemoryDeliveryStore({ maxEntries: 2 });
  assert.equal(seen.claim("a", 2000, 1000), true);
  assert.equal(seen.claim("a", 2000, 1500), false);
  assert.equal(seen.claim("a", 3000, 2000), true, "expired at 2000, so it may be claimed again");
  assert.equal(seen.claim("b", 3000, 2000), true);
  assert.equal(seen.claim("c", 3000, 2000), true);
  assert.equal(seen.claim("b", 3000, 2000), false);
  assert.equal(seen.claim("a", 3000, 2000), true, "the oldest was forgotten to make room");
  assert.throws(() => createMemoryDeliveryStore({ maxEntries: 0 }), /maxEntries must be a positive integer, got 0/);
});
