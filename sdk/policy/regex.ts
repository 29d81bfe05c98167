import safeRegex from "safe-regex2";

/**
 * Regex values are JavaScript patterns compiled with the `u` flag and matched unanchored, like Go's
 * MatchString in Intercept. Argument values come from agents, so a pattern that can backtrack
 * exponentially (nested quantifiers such as `(a+)+`) is rejected: it would let a caller stall the gateway.
 */
export function regexProblem(pattern: string): string | undefined {
  try {
    new RegExp(pattern, "u");
  } catch (error) {
    return `invalid regex ${JSON.stringify(pattern)}: ${(error as Error).message.replace(/^Invalid regular expression: /, "")}`;
  }
  if (!safeRegex(pattern)) {
    return `regex ${JSON.stringify(pattern)} can backtrack exponentially (nested or repeated quantifiers); rewrite it without them`;
  }
  return undefined;
}

export function compileRegex(pattern: string): RegExp {
  return new RegExp(pattern, "u");
}
