/**
 * True when JSON text nests arrays and objects more than `limit` deep. It scans the text without parsing (linear
 * time, no recursion), so a hostile body is refused before a parser or a validator walks it.
 *
 * @example nestedDeeperThan('{"a":[[1]]}', 2) // true: three levels
 */
export function nestedDeeperThan(text: string, limit: number): boolean {
  let depth = 0;
  let inString = false;
  for (let i = 0; i < text.length; i++) {
    const c = text.charCodeAt(i);
    if (inString) {
      if (c === 0x5c) i++; // backslash: skip the escaped character
      else if (c === 0x22) inString = false;
    } else if (c === 0x22) inString = true;
    else if (c === 0x7b || c === 0x5b) {
      if (++depth > limit) return true;
    } else if (c === 0x7d || c === 0x5d) depth--;
  }
  return false;
}
