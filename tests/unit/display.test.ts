import { test } from "node:test";
import assert from "node:assert/strict";
import { printable, unsafeCharacter } from "../../sdk/index.ts";

test("printable leaves ordinary names, Unicode letters and emoji alone", () => {
  assert.equal(printable("search_docs"), "search_docs");
  assert.equal(printable("überweisung 送金 😀"), "überweisung 送金 😀");
  assert.equal(printable("C:\\dir\\file"), "C:\\dir\\file");
});

test("printable shows newline and tab as \\n and \\t", () => {
  assert.equal(printable("a\nb\tc\r"), "a\\nb\\tc\\u{000D}");
});

test("printable escapes C0, DEL and C1 controls as \\u{XXXX}", () => {
  assert.equal(printable("a\u0000b\u001Bc\u007Fd\u0085e\u009F"), "a\\u{0000}b\\u{001B}c\\u{007F}d\\u{0085}e\\u{009F}");
});

test("printable escapes bidi overrides, isolates and marks", () => {
  assert.equal(printable("invoice\u202Efdp.exe"), "invoice\\u{202E}fdp.exe");
  assert.equal(
    printable("\u200E\u200F\u202A\u202B\u202C\u202D\u2066\u2067\u2068\u2069\u061C"),
    "\\u{200E}\\u{200F}\\u{202A}\\u{202B}\\u{202C}\\u{202D}\\u{2066}\\u{2067}\\u{2068}\\u{2069}\\u{061C}",
  );
});

test("printable escapes zero-width characters, the BOM, line separators, tag characters and lone surrogates", () => {
  assert.equal(printable("de\u200Blete\u200C\u200D\uFEFF"), "de\\u{200B}lete\\u{200C}\\u{200D}\\u{FEFF}");
  assert.equal(printable("a\u2028b\u2029"), "a\\u{2028}b\\u{2029}");
  assert.equal(printable("ok\u{E0041}\u{E0042}"), "ok\\u{E0041}\\u{E0042}");
  assert.equal(printable("x\uD800y"), "x\\u{D800}y");
});

test("a backslash that could start an escape is doubled, so literal escape text never looks escaped", () => {
  assert.equal(printable("x\\u{202E}"), "x\\\\u{202E}");
  assert.equal(printable("a\\nb"), "a\\\\nb");
  assert.equal(printable("a\\\\b"), "a\\\\\\b");
  assert.equal(printable("a\\\n"), "a\\\\\\n");
  assert.notEqual(printable("a\\n"), printable("a\n"));
});

test("unsafeCharacter names the first character printable would escape", () => {
  assert.equal(unsafeCharacter("fine_name"), undefined);
  assert.equal(unsafeCharacter("C:\\dir"), undefined);
  assert.equal(unsafeCharacter("a\u202Eb\u0000"), "U+202E");
  assert.equal(unsafeCharacter("tab\there"), "U+0009");
});
