import type { Issue } from "../../sdk/index.ts";

/** An error the admin API answers with as RFC 9457 problem+json. Thrown by routes, rendered in one place. */
export class ApiProblem extends Error {
  readonly status: number;
  readonly code: string;
  readonly issues: readonly Issue[] | undefined;
  readonly headers: Record<string, string>;
  constructor(status: number, code: string, detail: string, options: { issues?: readonly Issue[]; headers?: Record<string, string> } = {}) {
    super(detail);
    this.status = status;
    this.code = code;
    this.issues = options.issues;
    this.headers = options.headers ?? {};
  }
}

const TITLES: Record<number, string> = {
  400: "Bad Request", 401: "Unauthorized", 403: "Forbidden", 404: "Not Found", 405: "Method Not Allowed", 409: "Conflict",
  412: "Precondition Failed", 413: "Content Too Large", 415: "Unsupported Media Type", 422: "Unprocessable Content", 428: "Precondition Required",
  500: "Internal Server Error", 503: "Service Unavailable",
};

export function problemBody(status: number, code: string, detail: string, issues?: readonly Issue[]): Record<string, unknown> {
  return { type: `https://toolgate.dev/problems/${code}`, title: TITLES[status] ?? "Error", status, detail, code, ...(issues && issues.length > 0 ? { issues } : {}) };
}
