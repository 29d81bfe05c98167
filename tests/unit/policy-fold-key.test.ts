import { test } from "node:test";
import assert from "node:assert/strict";
import { foldKey } from "../../sdk/index.ts";

test("foldKey: keys Go's encoding/json reads as the same field fold to the same string", () => {
  assert.equal(foldKey("AMOUNT"), foldKey("amount"));
  assert.equal(foldKey("Amount"), foldKey("amount"));
  assert.equal(foldKey("aſſet"), foldKey("asset"), "long s reads as s");
  assert.equal(foldKey("\u212Aey"), foldKey("key"), "Kelvin sign reads as k");
  assert.equal(foldKey("lımıt"), foldKey("limit"), "dotless i reads as i");
  assert.equal(foldKey("\u0130D"), foldKey("id"), "dotted capital I reads as i");
  assert.equal(foldKey("ΣΟΦΙΑ"), foldKey("σοφια"));
  assert.equal(foldKey("\u{10400}"), foldKey("\u{10428}"), "Deseret letters outside the BMP");
});

test("foldKey: keys that differ by more than letter case stay apart", () => {
  assert.notEqual(foldKey("amount"), foldKey("amounts"));
  assert.notEqual(foldKey("amount_usd"), foldKey("amountusd"));
  assert.notEqual(foldKey("straße"), foldKey("strasse"), "ß has no simple upper case");
  assert.notEqual(foldKey("a"), foldKey("á"));
});

test("foldKey: the folded key has the key's length", () => {
  for (const key of ["", "amount", "AMOUNT", "ſ", "\u212A", "\u0130", "ß", "ﬀ", "\u{10400}x"]) {
    assert.equal(foldKey(key).length, key.length, key);
  }
});
