import { parseArgs } from "node:util";
import { resolveServeConfig } from "../config.ts";
import { createLogger, startGateway } from "../gateway.ts";
import type { Command } from "./main.ts";

export const SERVE_USAGE = `Usage: toolgate serve [options]

  --listen <host:port>          proxy listener (TOOLGATE_LISTEN, default 127.0.0.1:8787)
  --admin-listen <host:port>    admin API listener (TOOLGATE_ADMIN_LISTEN, default 127.0.0.1:8788)
  --data-dir <dir>              database, lock and generated secrets (TOOLGATE_DATA_DIR, default ./.toolgate)
  --admin-token <token>         admin API token (TOOLGATE_ADMIN_TOKEN; default: generated into <data-dir>/admin-token)
  --read-only-token <token>     a token that may only read the admin API (TOOLGATE_READONLY_TOKEN)
  --admin-token-file <path>     read the admin token from a file (TOOLGATE_ADMIN_TOKEN_FILE): unlike --admin-token, it
                                is not visible to other users of the machine in the process list
  --read-only-token-file <path> read the read-only token from a file (TOOLGATE_READONLY_TOKEN_FILE)
  --allowed-origin <origin>     a browser Origin allowed to reach the proxy; repeatable (TOOLGATE_ALLOWED_ORIGINS, comma list)
  --public-url <url>            proxy base URL agents use, when behind a load balancer (TOOLGATE_PUBLIC_URL)
  --admin-public-url <url>      admin listener's URL as browsers reach it, for approvers' sign-in to /ui/ with an
                                identity provider (TOOLGATE_ADMIN_PUBLIC_URL; https makes the session cookie Secure)
  --advertise-url <url>         how other replicas reach this replica's proxy listener, to forward requests of
                                stdio sessions it holds (TOOLGATE_ADVERTISE_URL; default: the listen address, or
                                http://<hostname>:<port> when listening on all interfaces)
  --max-stdio-processes <n>     most stdio upstream processes at once (TOOLGATE_MAX_STDIO_PROCESSES, default 64)
  --max-stdio-per-grant <n>     most stdio sessions one grant may hold at once (TOOLGATE_MAX_STDIO_PER_GRANT, default 8)
  --stdio-idle <duration>       a stdio session with no request for this long ends, with its processes (TOOLGATE_STDIO_IDLE, default 10m)
  --max-body-bytes <n>          largest request body the proxy accepts (TOOLGATE_MAX_BODY_BYTES, default 4194304)
  --headers-timeout <ms>        time a client has to send its request headers (TOOLGATE_HEADERS_TIMEOUT, default 10000)
  --request-timeout <ms>        time a client has to send its whole request (TOOLGATE_REQUEST_TIMEOUT, default 60000)
  --max-connections <n>         most open connections per listener (TOOLGATE_MAX_CONNECTIONS, default 4096)
  --catalog-refresh <duration>  how often the tool catalog re-reads every server's tools (TOOLGATE_CATALOG_REFRESH, default 10m; 0: off)
  --jwks-cache <duration>       how long identity providers' signing keys are used without a fresh fetch; an IdP
                                unreachable longer than this fails calls closed (TOOLGATE_JWKS_CACHE, default 10m)
  --drain-timeout <duration>    on SIGTERM/SIGINT, how long in-flight calls may finish before they are cut off
                                (TOOLGATE_DRAIN_TIMEOUT, default 10s; 0: at once); a second signal cuts them off now
  --log-level <level>           fatal, error, warn, info, debug, trace, silent (TOOLGATE_LOG_LEVEL, default info)
  --database-url <url>          keep servers, policies, grants, approvals and audit in PostgreSQL instead of SQLite,
                                shared by every replica (TOOLGATE_DATABASE_URL, postgres://...)
  --redis-url <url>             keep limit counters in Redis, shared by every replica (TOOLGATE_REDIS_URL, redis://...)
  --limits-fail-open            while the counter store is unreachable, let calls through without limits instead of
                                denying them (TOOLGATE_LIMITS_FAIL_OPEN=true; default: deny, fail closed)
  --webhook-allow <target>      let webhooks reach a loopback, private or link-local target: a CIDR range, an address or
                                a host name; repeatable (TOOLGATE_WEBHOOK_ALLOW, comma list; default: public addresses only)
  --max-pending-approvals-per-grant <n>
                                most approvals one grant may have waiting for a person at once; past it, calls that need
                                approval are denied (TOOLGATE_MAX_PENDING_APPROVALS_PER_GRANT, default 20)
  --audit-retention <age|rows>  delete audit rows older than an age ("30d", "12h"), beyond the newest n ("1000000rows"),
                                or both ("90d,1000000rows") (TOOLGATE_AUDIT_RETENTION; default: keep every row)

Upstream credentials are encrypted with TOOLGATE_SECRET_KEY (32 bytes, base64 or hex), or a key generated
into <data-dir>/secret.key. TOOLGATE_SECRET_KEY_PREVIOUS (comma list) opens values sealed with older keys.
With --database-url, TOOLGATE_SECRET_KEY and the admin token are required (every replica needs the same ones).
See docs/operations.md for running several replicas.
`;

/**
 * `toolgate serve`: runs the gateway until SIGTERM/SIGINT, then stops taking calls (/readyz 503), drains
 * in-flight calls for up to --drain-timeout, flushes the audit log and exits 0. A second signal cuts the
 * drain short (the audit log is still flushed); a third exits at once.
 */
export const serveCommand: Command = async (argv, io) => {
  const { values } = parseArgs({
    args: argv,
    strict: true,
    options: {
      listen: { type: "string" },
      "admin-listen": { type: "string" },
      "data-dir": { type: "string" },
      "admin-token": { type: "string" },
      "read-only-token": { type: "string" },
      "allowed-origin": { type: "string", multiple: true },
      "public-url": { type: "string" },
      "advertise-url": { type: "string" },
      "admin-public-url": { type: "string" },
      "max-stdio-processes": { type: "string" },
      "max-stdio-per-grant": { type: "string" },
      "stdio-idle": { type: "string" },
      "max-body-bytes": { type: "string" },
      "headers-timeout": { type: "string" },
      "request-timeout": { type: "string" },
      "max-connections": { type: "string" },
      "catalog-refresh": { type: "string" },
      "jwks-cache": { type: "string" },
      "drain-timeout": { type: "string" },
      "log-level": { type: "string" },
      "database-url": { type: "string" },
      "redis-url": { type: "string" },
      "limits-fail-open": { type: "boolean" },
      "admin-token-file": { type: "string" },
      "read-only-token-file": { type: "string" },
      "webhook-allow": { type: "string", multiple: true },
      "max-pending-approvals-per-grant": { type: "string" },
      "audit-retention": { type: "string" },
      help: { type: "boolean", short: "h" },
    },
  });
  if (values.help) {
    io.stdout(SERVE_USAGE);
    return 0;
  }
  const config = resolveServeConfig(values, process.env);
  const log = createLogger(config.logLevel);
  if (values["admin-token"] !== undefined) log.warn("--admin-token is visible to every user of this machine in the process list: pass the token in TOOLGATE_ADMIN_TOKEN or a file (--admin-token-file) instead");
  if (values["read-only-token"] !== undefined) log.warn("--read-only-token is visible to every user of this machine in the process list: pass the token in TOOLGATE_READONLY_TOKEN or a file (--read-only-token-file) instead");
  const gateway = await startGateway(config, log);
  if (gateway.generatedAdminToken) {
    io.stderr(`\nGenerated an admin token (stored in ${config.dataDir}/admin-token, shown only this once):\n\n  ${gateway.generatedAdminToken}\n\nUse it as TOOLGATE_TOKEN (or pulumi config set --secret toolgate:token).\n\n`);
  }
  log.info({ proxyUrl: gateway.proxyUrl, adminUrl: gateway.adminUrl, dataDir: config.dataDir, stores: gateway.stores }, "listening");
  await new Promise<void>((resolve) => {
    let signals = 0;
    const onSignal = (signal: NodeJS.Signals) => {
      signals++;
      if (signals === 1) {
        log.info({ signal, drainTimeoutMs: config.drainTimeoutMs }, "shutting down: no new calls; draining in-flight calls (a second signal cuts them off)");
        gateway
          .stop()
          .catch((error: unknown) => log.error({ err: { message: (error as Error).message } }, "stopping failed"))
          .finally(resolve);
      } else if (signals === 2) {
        log.warn({ signal }, "second signal: cutting off in-flight calls; the audit log is still written (a third signal exits at once)");
        void gateway.stop({ drain: false }).catch(() => {});
      } else {
        log.error({ signal }, "third signal: exiting at once; audit rows not yet written are lost");
        process.exit(1);
      }
    };
    process.on("SIGTERM", onSignal);
    process.on("SIGINT", onSignal);
  });
  log.info("stopped");
  return 0;
};
