/**
 * Showing names and text that came from agents, servers or documents without letting them lie about themselves.
 *
 * Escaped: control characters (Unicode Cc: C0, DEL, C1), format characters (Cf: bidi marks, embeddings, overrides
 * and isolates, zero-width characters, U+FEFF, the invisible tag characters U+E0000–U+E007F…), the line and
 * paragraph separators U+2028/U+2029, and lone surrogates. Newline and tab become `\n` and `\t`, everything else
 * `\u{XXXX}` (hex code point).
 *
 * Backslash: doubled only where it could be read as the start of an escape, i.e. when the next character is `\`,
 * `n`, `t`, `u` or a character that is itself escaped. So `C:\dir` is shown as is, while a name that literally
 * contains the text `\u{202E}` is shown as `\\u{202E}` and never looks like an escaped override.
 */

const UNSAFE = /[\p{Cc}\p{Cf}\p{Zl}\p{Zp}]|\p{Cs}/u;
const UNSAFE_OR_BACKSLASH = /\\(?=[\\ntu\p{Cc}\p{Cf}\p{Zl}\p{Zp}\p{Cs}])|[\p{Cc}\p{Cf}\p{Zl}\p{Zp}]|\p{Cs}/gu;
const NEEDS_WORK = /[\\\p{Cc}\p{Cf}\p{Zl}\p{Zp}]|\p{Cs}/u;

function escape(char: string): string {
  if (char === "\\") return "\\\\";
  if (char === "\n") return "\\n";
  if (char === "\t") return "\\t";
  return `\\u{${char.codePointAt(0)!.toString(16).toUpperCase().padStart(4, "0")}}`;
}

/** `text` with invisible, control and direction-changing characters made visible (see the module comment). */
export function printable(text: string): string {
  if (!NEEDS_WORK.test(text)) return text;
  return text.replace(UNSAFE_OR_BACKSLASH, escape);
}

/** The first character `printable` would escape (backslash aside), as `U+XXXX`, or undefined when there is none. */
export function unsafeCharacter(text: string): string | undefined {
  const match = UNSAFE.exec(text);
  if (!match) return undefined;
  return `U+${match[0].codePointAt(0)!.toString(16).toUpperCase().padStart(4, "0")}`;
}
