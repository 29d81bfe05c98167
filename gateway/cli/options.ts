import { ToolgateError } from "../../sdk/index.ts";

/** Parses a JSON option value, naming the option when it is not JSON. */
export function parseJsonOption(name: string, text: string): unknown {
  try {
    return JSON.parse(text);
  } catch (error) {
    throw new ToolgateError("invalid_input", `${name} must be JSON: ${(error as Error).message}`);
  }
}

/** Parses an ISO 8601 time option into epoch ms. */
export function parseTimeOption(name: string, text: string): number {
  const ms = Date.parse(text);
  if (Number.isNaN(ms)) throw new ToolgateError("invalid_input", `${name} must be an ISO 8601 time like 2026-01-31T12:00:00Z, got ${JSON.stringify(text)}`);
  return ms;
}
