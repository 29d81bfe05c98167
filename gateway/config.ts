import { z } from "zod";
import { readFileSync } from "node:fs";
import { ToolgateError, windowLength } from "../sdk/index.ts";
import { parseAuditRetention } from "./store/audit-retention.ts";
import { webhookAllowProblems } from "./webhooks/webhook-targets.ts";

/** `host:port` with port 0 allowed (any free port). */
const Address = (flag: string) =>
  z.string().transform((text, ctx) => {
    const m = /^(\[[0-9a-fA-F:]+\]|[A-Za-z0-9.-]+):(\d{1,5})$/.exec(text);
    const port = m ? Number(m[2]) : NaN;
    if (!m || port > 65535) {
      ctx.addIssue({ code: "custom", message: `${flag} must be host:port, e.g. 127.0.0.1:8787, got ${JSON.stringify(text)}` });
      return z.NEVER;
    }
    return { host: m[1]!.replace(/^\[|\]$/g, ""), port };
  });

const ServeConfigSchema = z.object({
  listen: Address("--listen"),
  adminListen: Address("--admin-listen"),
  dataDir: z.string().min(1, { error: "--data-dir must not be empty" }),
  adminToken: z.string().min(16, { error: "--admin-token (TOOLGATE_ADMIN_TOKEN) must be at least 16 characters" }).optional(),
  readOnlyToken: z.string().min(16, { error: "--read-only-token (TOOLGATE_READONLY_TOKEN) must be at least 16 characters" }).optional(),
  allowedOrigins: z.array(z.string().refine((o) => URL.canParse(o), { error: (i) => `--allowed-origin must be an origin like https://app.example.com, got ${JSON.stringify(i.input)}` })),
  publicUrl: z.string().refine((u) => URL.canParse(u), { error: (i) => `--public-url must be a URL, got ${JSON.stringify(i.input)}` }).optional(),
  adminPublicUrl: z
    .string()
    .refine((u) => URL.canParse(u) && ["http:", "https:"].includes(new URL(u).protocol), { error: (i) => `--admin-public-url must be an http(s) URL, got ${JSON.stringify(i.input)}` })
    .optional(),
  advertiseUrl: z.string().refine((u) => URL.canParse(u), { error: (i) => `--advertise-url must be a URL, got ${JSON.stringify(i.input)}` }).optional(),
  secretKey: z.string().optional(),
  previousSecretKeys: z.array(z.string()),
  catalogRefreshMs: z
    .string()
    .transform((text, ctx) => {
      if (text === "0") return 0;
      const ms = windowLength(text);
      if (ms === undefined) {
        ctx.addIssue({ code: "custom", message: `--catalog-refresh must be a duration like "10m" or "1h", or 0 to turn it off, got ${JSON.stringify(text)}` });
        return z.NEVER;
      }
      return ms;
    }),
  /** How long an identity provider's signing keys are used without being fetched again (the IdP unreachable: until then, then fail closed). */
  jwksCacheMs: z.string().transform((text, ctx) => {
    const ms = windowLength(text);
    if (ms === undefined || ms < 1000) {
      ctx.addIssue({ code: "custom", message: `--jwks-cache must be a duration of at least 1s like "10m" or "1h", got ${JSON.stringify(text)}` });
      return z.NEVER;
    }
    return ms;
  }),
  drainTimeoutMs: z.string().transform((text, ctx) => {
    if (text === "0") return 0;
    const ms = windowLength(text);
    if (ms === undefined) {
      ctx.addIssue({ code: "custom", message: `--drain-timeout must be a duration like "10s" or "2m", or 0 to cut calls off at once, got ${JSON.stringify(text)}` });
      return z.NEVER;
    }
    return ms;
  }),
  maxStdioProcesses: z.coerce.number({ error: "--max-stdio-processes must be a number" }).int().min(1, { error: "--max-stdio-processes must be at least 1" }),
  stdioIdleMs: z.string().transform((text, ctx) => {
    const ms = windowLength(text);
    if (ms === undefined) {
      ctx.addIssue({ code: "custom", message: `--stdio-idle must be a duration like "30s", "10m" or "1h", got ${JSON.stringify(text)}` });
      return z.NEVER;
    }
    return ms;
  }),
  maxStdioPerGrant: z.coerce.number({ error: "--max-stdio-per-grant must be a number" }).int().min(1, { error: "--max-stdio-per-grant must be at least 1" }),
  maxBodyBytes: z.coerce.number({ error: "--max-body-bytes must be a number of bytes" }).int().min(1024, { error: "--max-body-bytes must be at least 1024" }).max(1024 ** 3, { error: "--max-body-bytes must be at most 1073741824 (1 GiB)" }),
  headersTimeoutMs: z.coerce.number({ error: "--headers-timeout must be a number of milliseconds" }).int().min(1000, { error: "--headers-timeout must be at least 1000 (ms)" }),
  requestTimeoutMs: z.coerce.number({ error: "--request-timeout must be a number of milliseconds" }).int().min(1000, { error: "--request-timeout must be at least 1000 (ms)" }),
  maxConnections: z.coerce.number({ error: "--max-connections must be a number" }).int().min(16, { error: "--max-connections must be at least 16" }),
  databaseUrl: z
    .string()
    .refine((u) => /^postgres(ql)?:\/\//.test(u) && URL.canParse(u), { error: "--database-url (TOOLGATE_DATABASE_URL) must be a postgres:// URL" })
    .optional(),
  redisUrl: z
    .string()
    .refine((u) => /^rediss?:\/\//.test(u) && URL.canParse(u), { error: "--redis-url (TOOLGATE_REDIS_URL) must be a redis:// or rediss:// URL" })
    .optional(),
  webhookAllow: z.array(z.string()).superRefine((entries, ctx) => {
    for (const message of webhookAllowProblems(entries)) ctx.addIssue({ code: "custom", message });
  }),
  maxPendingApprovalsPerGrant: z.coerce
    .number({ error: "--max-pending-approvals-per-grant must be a number" })
    .int({ error: "--max-pending-approvals-per-grant must be a whole number" })
    .min(1, { error: "--max-pending-approvals-per-grant must be at least 1" }),
  auditRetention: z
    .string()
    .optional()
    .transform((text, ctx) => {
      const retention = text === undefined ? undefined : parseAuditRetention(text);
      if (typeof retention !== "string") return retention;
      ctx.addIssue({ code: "custom", message: retention });
      return z.NEVER;
    }),
  limitsFailOpen: z.enum(["true", "false", "1", "0"], { error: "TOOLGATE_LIMITS_FAIL_OPEN must be true or false" }).transform((v) => v === "true" || v === "1"),
  logLevel: z.enum(["fatal", "error", "warn", "info", "debug", "trace", "silent"], { error: (i) => `--log-level must be one of fatal, error, warn, info, debug, trace, silent, got ${JSON.stringify(i.input)}` }),
});
export type ServeConfig = z.output<typeof ServeConfigSchema>;

export interface ServeFlags {
  listen?: string;
  "admin-listen"?: string;
  "data-dir"?: string;
  "admin-token"?: string;
  "read-only-token"?: string;
  "allowed-origin"?: string[];
  "public-url"?: string;
  "advertise-url"?: string;
  "admin-public-url"?: string;
  "max-stdio-processes"?: string;
  "max-stdio-per-grant"?: string;
  "stdio-idle"?: string;
  "max-body-bytes"?: string;
  "headers-timeout"?: string;
  "request-timeout"?: string;
  "max-connections"?: string;
  "catalog-refresh"?: string;
  "jwks-cache"?: string;
  "drain-timeout"?: string;
  "log-level"?: string;
  "database-url"?: string;
  "redis-url"?: string;
  "limits-fail-open"?: boolean;
  "admin-token-file"?: string;
  "read-only-token-file"?: string;
  "webhook-allow"?: string[];
  "max-pending-approvals-per-grant"?: string;
  "audit-retention"?: string;
}

/** Flags win over environment variables, which win over defaults. Every problem is reported at once. */
export function resolveServeConfig(flags: ServeFlags, env: NodeJS.ProcessEnv): ServeConfig {
  const list = (v: string | undefined) => (v ? v.split(",").map((s) => s.trim()).filter(Boolean) : []);
  const fileProblems: string[] = [];
  // Tokens in files (or the environment) stay out of the process list, where any user of the machine can read flags.
  const tokenFrom = (path: string | undefined, source: string) => {
    if (!path) return undefined;
    try {
      return readFileSync(path, "utf8").trim();
    } catch (error) {
      fileProblems.push(`${source}: cannot read ${path} (${(error as NodeJS.ErrnoException).code ?? (error as Error).message})`);
      return undefined;
    }
  };
  if (flags["admin-token"] !== undefined && flags["admin-token-file"] !== undefined) fileProblems.push("give --admin-token or --admin-token-file, not both");
  if (flags["read-only-token"] !== undefined && flags["read-only-token-file"] !== undefined) fileProblems.push("give --read-only-token or --read-only-token-file, not both");
  const raw = {
    listen: flags.listen ?? env.TOOLGATE_LISTEN ?? "127.0.0.1:8787",
    adminListen: flags["admin-listen"] ?? env.TOOLGATE_ADMIN_LISTEN ?? "127.0.0.1:8788",
    dataDir: flags["data-dir"] ?? env.TOOLGATE_DATA_DIR ?? ".toolgate",
    adminToken: flags["admin-token"] ?? tokenFrom(flags["admin-token-file"], "--admin-token-file") ?? (env.TOOLGATE_ADMIN_TOKEN || undefined) ?? tokenFrom(env.TOOLGATE_ADMIN_TOKEN_FILE, "TOOLGATE_ADMIN_TOKEN_FILE"),
    readOnlyToken: flags["read-only-token"] ?? tokenFrom(flags["read-only-token-file"], "--read-only-token-file") ?? (env.TOOLGATE_READONLY_TOKEN || undefined) ?? tokenFrom(env.TOOLGATE_READONLY_TOKEN_FILE, "TOOLGATE_READONLY_TOKEN_FILE"),
    allowedOrigins: flags["allowed-origin"]?.length ? flags["allowed-origin"] : list(env.TOOLGATE_ALLOWED_ORIGINS),
    publicUrl: flags["public-url"] ?? (env.TOOLGATE_PUBLIC_URL || undefined),
    advertiseUrl: flags["advertise-url"] ?? (env.TOOLGATE_ADVERTISE_URL || undefined),
    adminPublicUrl: flags["admin-public-url"] ?? (env.TOOLGATE_ADMIN_PUBLIC_URL || undefined),
    secretKey: env.TOOLGATE_SECRET_KEY || undefined,
    previousSecretKeys: list(env.TOOLGATE_SECRET_KEY_PREVIOUS),
    catalogRefreshMs: flags["catalog-refresh"] ?? env.TOOLGATE_CATALOG_REFRESH ?? "10m",
    jwksCacheMs: flags["jwks-cache"] ?? env.TOOLGATE_JWKS_CACHE ?? "10m",
    drainTimeoutMs: flags["drain-timeout"] ?? env.TOOLGATE_DRAIN_TIMEOUT ?? "10s",
    maxStdioProcesses: flags["max-stdio-processes"] ?? env.TOOLGATE_MAX_STDIO_PROCESSES ?? 64,
    stdioIdleMs: flags["stdio-idle"] ?? env.TOOLGATE_STDIO_IDLE ?? "10m",
    maxStdioPerGrant: flags["max-stdio-per-grant"] ?? env.TOOLGATE_MAX_STDIO_PER_GRANT ?? 8,
    maxBodyBytes: flags["max-body-bytes"] ?? env.TOOLGATE_MAX_BODY_BYTES ?? 4 * 1024 * 1024,
    headersTimeoutMs: flags["headers-timeout"] ?? env.TOOLGATE_HEADERS_TIMEOUT ?? 10_000,
    requestTimeoutMs: flags["request-timeout"] ?? env.TOOLGATE_REQUEST_TIMEOUT ?? 60_000,
    maxConnections: flags["max-connections"] ?? env.TOOLGATE_MAX_CONNECTIONS ?? 4096,
    logLevel: flags["log-level"] ?? env.TOOLGATE_LOG_LEVEL ?? "info",
    databaseUrl: flags["database-url"] ?? (env.TOOLGATE_DATABASE_URL || undefined),
    redisUrl: flags["redis-url"] ?? (env.TOOLGATE_REDIS_URL || undefined),
    webhookAllow: flags["webhook-allow"]?.length ? flags["webhook-allow"] : list(env.TOOLGATE_WEBHOOK_ALLOW),
    maxPendingApprovalsPerGrant: flags["max-pending-approvals-per-grant"] ?? env.TOOLGATE_MAX_PENDING_APPROVALS_PER_GRANT ?? 20,
    auditRetention: flags["audit-retention"] ?? (env.TOOLGATE_AUDIT_RETENTION || undefined),
    limitsFailOpen: flags["limits-fail-open"] ? "true" : (env.TOOLGATE_LIMITS_FAIL_OPEN || "false"),
  };
  const parsed = ServeConfigSchema.safeParse(raw, { reportInput: false });
  const problems = [...fileProblems, ...(parsed.success ? [] : parsed.error.issues.map((i) => i.message))];
  if (raw.databaseUrl) {
    // Replicas share the database, so they must share what seals it and what guards the admin API.
    if (!raw.secretKey) problems.push("TOOLGATE_SECRET_KEY is required with a database URL: every replica must seal and open the same upstream credentials");
    if (!raw.adminToken) problems.push("--admin-token (TOOLGATE_ADMIN_TOKEN) is required with a database URL: every replica must accept the same admin token");
  }
  if (!parsed.success || problems.length) {
    throw new ToolgateError("config", `invalid configuration:\n${problems.map((m) => `  ${m}`).join("\n")}`);
  }
  return parsed.data;
}
