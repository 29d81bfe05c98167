/**
 * Control, format (bidi overrides, zero-width, tags) and separator characters that JSON.stringify leaves raw. A raw
 * newline is indentation (inside strings JSON.stringify escapes it), so it stays.
 */
const INVISIBLE = /(?!\n)[\p{Cc}\p{Cf}\p{Zl}\p{Zp}]/gu;

const escapeUnits = (char: string) => Array.from({ length: char.length }, (_, i) => "\\u" + char.charCodeAt(i).toString(16).padStart(4, "0")).join("");

/**
 * JSON.stringify, with every invisible or direction-changing character written as a `\uXXXX` escape. The JSON means
 * exactly the same (a parser reads the same strings back), but a terminal, pager or editor showing it cannot be
 * tricked into displaying a different name (e.g. U+202E RIGHT-TO-LEFT OVERRIDE). Such characters can only occur
 * inside strings, so replacing them in the output is safe.
 *
 * @example displaySafeJson({ tool: "a\u202Eb" }) // '{"tool":"a\\u202eb"}'
 */
export function displaySafeJson(value: unknown, space?: number): string {
  return JSON.stringify(value, null, space).replace(INVISIBLE, escapeUnits);
}
