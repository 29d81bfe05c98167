/**
 * Limit windows. `minute`, `hour` and `day` are fixed windows aligned to UTC boundaries; a duration
 * (`"30s"`, `"15m"`, `"6h"`, `"2d"`) is a fixed window aligned to the Unix epoch. Epoch time has no leap
 * seconds and starts at UTC midnight, so both alignments are `floor(now / length) * length`.
 */
export const NAMED_WINDOWS = { minute: 60_000, hour: 3_600_000, day: 86_400_000 } as const;
export type NamedWindow = keyof typeof NAMED_WINDOWS;

/** Durations: a positive integer and one of s, m, h, d. Longest accepted: 366 days. */
export const DURATION_PATTERN = /^([1-9][0-9]{0,5})(s|m|h|d)$/;
export const WINDOW_PATTERN = /^(minute|hour|day|[1-9][0-9]{0,5}[smhd])$/;
export const MAX_WINDOW_MS = 366 * 86_400_000;

const UNIT_MS = { s: 1_000, m: 60_000, h: 3_600_000, d: 86_400_000 } as const;

/** Window length in milliseconds, or undefined when `window` is not a valid window. */
export function windowLength(window: string): number | undefined {
  if (Object.hasOwn(NAMED_WINDOWS, window)) return NAMED_WINDOWS[window as NamedWindow];
  const match = DURATION_PATTERN.exec(window);
  if (!match) return undefined;
  const ms = Number(match[1]) * UNIT_MS[match[2] as keyof typeof UNIT_MS];
  return ms <= MAX_WINDOW_MS ? ms : undefined;
}

/** Start of the window of length `lengthMs` that contains `nowMs`. */
export function windowStart(nowMs: number, lengthMs: number): number {
  return Math.floor(nowMs / lengthMs) * lengthMs;
}
