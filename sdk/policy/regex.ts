import { RE2JS } from "re2js";

/**
 * Regex values are RE2 patterns (the dialect of Go's regexp, which Intercept uses), matched unanchored like
 * Go's MatchString. Argument values come from agents, so patterns run on re2js, which matches in time linear
 * in the argument's length for every pattern: no pattern can let a caller stall the gateway.
 */
export interface CompiledRegex {
  test(input: string): boolean;
}

export function regexProblem(pattern: string): string | undefined {
  try {
    RE2JS.compile(pattern);
    return undefined;
  } catch (error) {
    return `invalid regex ${JSON.stringify(pattern)} (RE2 syntax): ${(error as Error).message.replace(/^error parsing regexp: /, "")}`;
  }
}

export function compileRegex(pattern: string): CompiledRegex {
  return RE2JS.compile(pattern);
}
