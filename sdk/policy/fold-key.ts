/**
 * The key fold of Go's encoding/json (v1): upstreams written in Go decode an object key into a struct field
 * whose name equals it up to letter case, including Unicode simple folds ("ſ" reads as "s", the Kelvin sign
 * "K" as "k", "ı" and "İ" as "i"). Two keys with the same `foldKey` may be read as the same field.
 *
 * Per code point: simple lower case, then simple upper case, like Go's foldName. JavaScript only offers full
 * case mappings, so a mapping to several code points keeps the code point (İ lowers to "i", its simple
 * mapping). Checked against Go's unicode tables for every code point: every pair of keys Go folds together
 * folds together here; a newer Unicode version in Node may fold a few more pairs, which only fails closed.
 * The folded key has the same UTF-16 length as the key.
 */
export function foldKey(key: string): string {
  // eslint-disable-next-line no-control-regex
  if (/^[\x00-\x7f]*$/.test(key)) return key.toUpperCase();
  let folded = "";
  for (const char of key) folded += foldChar(char);
  return folded;
}

function foldChar(char: string): string {
  const lower = single(char.toLowerCase()) ?? (char === "\u0130" ? "i" : char);
  return single(lower.toUpperCase()) ?? lower;
}

function single(mapped: string): string | undefined {
  const first = mapped.codePointAt(0);
  return first !== undefined && mapped.length === (first > 0xffff ? 2 : 1) ? mapped : undefined;
}
