import { Agent, errors as undiciErrors, request, type Dispatcher } from "undici";
import { ToolgateError, type ErrorCode } from "./errors.ts";
import type { Issue } from "./issues.ts";
import { SDK_VERSION } from "./version.ts";

/** An RFC 9457 problem as the admin API sends it. */
export interface Problem {
  type?: string;
  title?: string;
  status?: number;
  detail?: string;
  code?: string;
  issues?: Issue[];
}

/**
 * A failed admin API call. `status` is the HTTP status (0 when no response arrived); `issues` keeps the
 * field paths of a validation failure. The message names the operation and never carries a secret.
 */
export class AdminApiError extends ToolgateError {
  readonly status: number;
  readonly problem: Problem | undefined;
  constructor(code: ErrorCode, message: string, options: { status: number; problem?: Problem; cause?: unknown }) {
    super(code, message, { cause: options.cause, issues: options.problem?.issues ?? [] });
    this.name = "AdminApiError";
    this.status = options.status;
    this.problem = options.problem;
  }
}

export interface AdminClientOptions {
  /** Admin listener URL, e.g. `http://127.0.0.1:8788`. */
  endpoint: string;
  /** The admin token. Sent as a bearer token; never put in messages. */
  token: string;
  /** Per-request timeout in ms (default 30 000). */
  timeoutMs?: number;
  /** Attempts for idempotent requests on connection errors, 429 and 5xx (default 4). */
  attempts?: number;
  /** Base delay of the exponential backoff in ms (default 200); full jitter is applied. */
  backoffMs?: number;
  userAgent?: string;
  dispatcher?: Dispatcher;
  /** Where the token came from, e.g. "the TOOLGATE_TOKEN environment variable": said in a 401 error. */
  tokenSource?: string;
  /** Where the endpoint came from: said when the gateway cannot be reached. */
  endpointSource?: string;
}

export interface Versioned<T> {
  value: T;
  /** The object's ETag, for `ifMatch` on the next write. */
  etag: string | undefined;
}

export interface WriteOptions {
  /** Only write if the object's current ETag is this (412 otherwise). */
  ifMatch?: string;
  /** Only create: fail with 412 when the object already exists. */
  ifNoneMatch?: "*";
  /**
   * Sent as `Idempotency-Key`: the gateway answers a write whose key is that of the object's last write with the
   * object as it is, without writing again, so a retry of a write whose answer was lost is not a conflict.
   */
  idempotencyKey?: string;
}

export interface Page<T> {
  items: T[];
  nextCursor: string | null;
}

type Method = "GET" | "PUT" | "POST" | "DELETE";
const IDEMPOTENT: ReadonlySet<Method> = new Set(["GET", "PUT", "DELETE"]);
const RETRYABLE_STATUS: ReadonlySet<number> = new Set([429, 500, 502, 503, 504]);

let sharedAgent: Agent | undefined;
function defaultAgent(): Agent {
  sharedAgent ??= new Agent({ connections: 16, keepAliveTimeout: 10_000 });
  return sharedAgent;
}

/**
 * Typed client for the gateway's admin API (docs/admin-api.md), on undici.
 *
 * @example
 * const admin = new AdminClient({ endpoint: "http://127.0.0.1:8788", token: process.env.TOOLGATE_TOKEN! });
 * await admin.put("policies", "support", { name: "support", document });
 */
export class AdminClient {
  readonly endpoint: string;
  private readonly token: string;
  private readonly timeoutMs: number;
  private readonly attempts: number;
  private readonly backoffMs: number;
  private readonly userAgent: string;
  private readonly dispatcher: Dispatcher;
  private readonly tokenSource: string | undefined;
  private readonly endpointSource: string | undefined;

  constructor(options: AdminClientOptions) {
    let url: URL;
    try {
      url = new URL(options.endpoint);
    } catch {
      throw new ToolgateError("config", `endpoint must be an http(s) URL like http://127.0.0.1:8788, got ${JSON.stringify(options.endpoint)}`);
    }
    if (url.protocol !== "http:" && url.protocol !== "https:") throw new ToolgateError("config", `endpoint must use http or https, got ${JSON.stringify(url.protocol)}`);
    if (!options.token) throw new ToolgateError("config", "the admin token is empty");
    this.endpoint = url.href.replace(/\/+$/, "");
    this.token = options.token;
    this.timeoutMs = options.timeoutMs ?? 30_000;
    this.attempts = Math.max(1, options.attempts ?? 4);
    this.backoffMs = options.backoffMs ?? 200;
    this.userAgent = options.userAgent ?? `toolgate-sdk/${SDK_VERSION}`;
    this.dispatcher = options.dispatcher ?? defaultAgent();
    this.tokenSource = options.tokenSource;
    this.endpointSource = options.endpointSource;
  }

  /** `GET /v1/<kind>/<name>`; undefined when it does not exist. */
  async get<T>(kind: Kind, name: string): Promise<Versioned<T> | undefined> {
    const r = await this.send<T>("GET", objectPath(kind, name), undefined, {}, [404]);
    return r.status === 404 ? undefined : { value: r.body as T, etag: r.etag };
  }

  /** `PUT /v1/<kind>/<name>`: idempotent upsert. `created` is true on 201. */
  async put<T>(kind: Kind, name: string, body: unknown, options: WriteOptions = {}): Promise<Versioned<T> & { created: boolean }> {
    const r = await this.send<T>("PUT", objectPath(kind, name), body, options);
    return { value: r.body as T, etag: r.etag, created: r.status === 201 };
  }

  /** `DELETE /v1/<kind>/<name>`; false when it was already gone. */
  async delete(kind: Kind, name: string, options: Pick<WriteOptions, "ifMatch"> = {}): Promise<boolean> {
    const r = await this.send("DELETE", objectPath(kind, name), undefined, options, [404]);
    return r.status !== 404;
  }

  /** One page of `GET /v1/<kind>`. */
  async list<T>(kind: Kind, options: { limit?: number; cursor?: string } = {}): Promise<Page<T>> {
    const query = new URLSearchParams();
    if (options.limit !== undefined) query.set("limit", String(options.limit));
    if (options.cursor) query.set("cursor", options.cursor);
    const r = await this.send<Page<T>>("GET", `/v1/${kind}${query.size ? `?${query}` : ""}`);
    return r.body as Page<T>;
  }

  /** Every object of a kind, following cursors. */
  async *listAll<T>(kind: Kind, pageSize = 100): AsyncGenerator<T> {
    let cursor: string | undefined;
    do {
      const page: Page<T> = await this.list<T>(kind, { limit: pageSize, cursor });
      yield* page.items;
      cursor = page.nextCursor ?? undefined;
    } while (cursor);
  }

  /** `POST /v1/grants/<name>/rotate`: a new token (returned once); the old one stops working. Not retried. */
  async rotateGrant<T>(name: string): Promise<Versioned<T>> {
    const r = await this.send<T>("POST", `${objectPath("grants", name)}/rotate`, {});
    return { value: r.body as T, etag: r.etag };
  }

  /** Any other admin endpoint (audit, approvals, catalog): GET with a query. */
  async getJson<T>(path: string, query: Record<string, string | number | undefined> = {}): Promise<T> {
    const q = new URLSearchParams();
    for (const [k, v] of Object.entries(query)) if (v !== undefined) q.set(k, String(v));
    const r = await this.send<T>("GET", `${path}${q.size ? `?${q}` : ""}`);
    return r.body as T;
  }

  /** POST to an admin endpoint (not retried: POSTs are not idempotent). */
  async postJson<T>(path: string, body: unknown): Promise<T> {
    const r = await this.send<T>("POST", path, body);
    return r.body as T;
  }

  private async send<T>(method: Method, path: string, body?: unknown, options: WriteOptions = {}, okStatuses: number[] = []): Promise<{ status: number; body: T | undefined; etag: string | undefined }> {
    const what = `${method} ${path}`;
    const headers: Record<string, string> = {
      authorization: `Bearer ${this.token}`,
      accept: "application/json, application/problem+json",
      "user-agent": this.userAgent,
    };
    if (body !== undefined) headers["content-type"] = "application/json";
    if (options.ifMatch) headers["if-match"] = options.ifMatch;
    if (options.ifNoneMatch) headers["if-none-match"] = options.ifNoneMatch;
    if (options.idempotencyKey) headers["idempotency-key"] = options.idempotencyKey;
    const payload = body === undefined ? undefined : JSON.stringify(body);
    const attempts = IDEMPOTENT.has(method) ? this.attempts : 1;
    const started = performance.now();
    for (let attempt = 1; ; attempt++) {
      let response: Dispatcher.ResponseData;
      try {
        response = await request(this.endpoint + path, { method, headers, body: payload, dispatcher: this.dispatcher, signal: AbortSignal.timeout(this.timeoutMs) });
      } catch (error) {
        if (attempt < attempts) {
          await sleep(this.backoff(attempt));
          continue;
        }
        throw transportError(error, what, { endpoint: this.endpoint, endpointSource: this.endpointSource, timeoutMs: this.timeoutMs, attempts: attempt, elapsedMs: performance.now() - started });
      }
      const status = response.statusCode;
      const text = await response.body.text();
      const etagHeader = response.headers.etag;
      const etag = Array.isArray(etagHeader) ? etagHeader[0] : etagHeader;
      if ((status >= 200 && status < 300) || okStatuses.includes(status)) {
        return { status, body: text ? (JSON.parse(text) as T) : undefined, etag };
      }
      if (RETRYABLE_STATUS.has(status) && attempt < attempts) {
        await sleep(retryAfterMs(response.headers["retry-after"]) ?? this.backoff(attempt));
        continue;
      }
      throw httpError(status, parseProblem(text), what, this.tokenSource);
    }
  }

  private backoff(attempt: number): number {
    return Math.random() * this.backoffMs * 2 ** (attempt - 1);
  }
}

export type Kind = "servers" | "policies" | "grants" | "webhooks" | "identity-providers";

function objectPath(kind: Kind, name: string): string {
  return `/v1/${kind}/${encodeURIComponent(name)}`;
}

function parseProblem(text: string): Problem | undefined {
  try {
    const p = JSON.parse(text) as unknown;
    return p && typeof p === "object" ? (p as Problem) : undefined;
  } catch {
    return undefined;
  }
}

const STATUS_CODES: Record<number, ErrorCode> = { 400: "invalid_input", 401: "unauthorized", 403: "forbidden", 404: "not_found", 409: "conflict", 412: "precondition_failed", 413: "invalid_input", 415: "invalid_input", 422: "invalid_input", 429: "rate_limited", 503: "unavailable" };

function httpError(status: number, problem: Problem | undefined, what: string, tokenSource: string | undefined): AdminApiError {
  const code = STATUS_CODES[status] ?? (status >= 500 ? "server_error" : "invalid_input");
  const reason = problem?.detail ?? problem?.title ?? `HTTP ${status}`;
  const issues = problem?.issues?.length ? `\n${problem.issues.map((i) => `  ${i.path || "/"}: ${i.message}`).join("\n")}` : "";
  const hint = status !== 401 ? "" : tokenSource ? `. The admin token came from ${tokenSource}.` : " (check the admin token: toolgate:token or TOOLGATE_TOKEN)";
  return new AdminApiError(code, `${what} failed with ${status}: ${reason}${hint}${issues}`, { status, problem });
}

interface Attempts {
  endpoint: string;
  endpointSource: string | undefined;
  timeoutMs: number;
  attempts: number;
  /** From the first attempt to the last failure, backoff included: what the caller actually waited. */
  elapsedMs: number;
}

function transportError(error: unknown, what: string, a: Attempts): AdminApiError {
  const e = error as { name?: string; code?: string; message?: string };
  const at = `${a.endpoint}${a.endpointSource ? ` (from ${a.endpointSource})` : ""}`;
  const tries = a.attempts === 1 ? `after ${duration(a.elapsedMs)}` : `in ${a.attempts} attempts over ${duration(a.elapsedMs)}`;
  if (e.name === "TimeoutError" || error instanceof undiciErrors.HeadersTimeoutError || error instanceof undiciErrors.BodyTimeoutError) {
    const each = a.attempts === 1 ? "" : `, each given ${duration(a.timeoutMs)}`;
    return new AdminApiError("timeout", `${what} timed out: no answer ${tries}${each}, from the gateway at ${at}`, { status: 0, cause: error });
  }
  return new AdminApiError("network", `${what} could not reach the gateway at ${at} ${tries}: ${e.code ?? e.message ?? "connection failed"}`, { status: 0, cause: error });
}

/** `850 ms`, `4.2 s`, `2 min 5 s`. */
function duration(ms: number): string {
  if (ms < 1000) return `${Math.round(ms)} ms`;
  if (ms < 60_000) return `${(ms / 1000).toFixed(1)} s`;
  const s = Math.round(ms / 1000);
  return `${Math.floor(s / 60)} min ${s % 60} s`;
}

function retryAfterMs(header: string | string[] | undefined): number | undefined {
  const value = Array.isArray(header) ? header[0] : header;
  if (!value) return undefined;
  const seconds = Number(value);
  if (Number.isFinite(seconds)) return Math.min(seconds * 1000, 30_000);
  const at = Date.parse(value);
  return Number.isNaN(at) ? undefined : Math.min(Math.max(0, at - Date.now()), 30_000);
}

const sleep = (ms: number) => new Promise<void>((resolve) => setTimeout(resolve, ms));
