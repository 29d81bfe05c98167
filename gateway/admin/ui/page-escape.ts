/**
 * The approvers' page's copies of `printable` (sdk/display.ts) and `displaySafeJson` (../safe-json.ts): the browser
 * cannot import those modules, so these two functions are self-contained and their source is sent inside the page's
 * script. tests/unit/admin-display.test.ts checks that they agree with the originals.
 */

/** Control, format (bidi, zero-width, tags) and separator characters and lone surrogates made visible. */
export function pagePrintable(text: string): string {
  return String(text).replace(/\\(?=[\\ntu\p{Cc}\p{Cf}\p{Zl}\p{Zp}\p{Cs}])|[\p{Cc}\p{Cf}\p{Zl}\p{Zp}]|\p{Cs}/gu, (c) =>
    c === "\\" ? "\\\\" : c === "\n" ? "\\n" : c === "\t" ? "\\t" : `\\u{${c.codePointAt(0)!.toString(16).toUpperCase().padStart(4, "0")}}`,
  );
}

/** Indented JSON with every invisible or direction-changing character as a `\uXXXX` escape (same meaning). */
export function pageJson(value: unknown): string {
  return (JSON.stringify(value, null, 2) ?? "").replace(/(?!\n)[\p{Cc}\p{Cf}\p{Zl}\p{Zp}]/gu, (c) =>
    Array.from({ length: c.length }, (_, i) => "\\u" + c.charCodeAt(i).toString(16).padStart(4, "0")).join(""),
  );
}
