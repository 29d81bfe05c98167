import type { Issue } from "./issues.ts";

/** Stable codes callers branch on; messages are for people and may change. */
export type ErrorCode =
  | "invalid_policy"
  | "invalid_input"
  | "parse_error"
  | "not_found"
  | "conflict"
  | "precondition_failed"
  | "unauthorized"
  | "forbidden"
  | "rate_limited"
  | "unavailable"
  | "timeout"
  | "network"
  | "server_error"
  | "config";

/** An error of ours. Local: it may carry field issues, never a secret. */
export class ToolgateError extends Error {
  readonly code: ErrorCode;
  readonly issues: readonly Issue[];
  constructor(code: ErrorCode, message: string, options: { cause?: unknown; issues?: readonly Issue[] } = {}) {
    super(message, options);
    this.name = "ToolgateError";
    this.code = code;
    this.issues = options.issues ?? [];
  }
}
