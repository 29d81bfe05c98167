import { hkdfSync } from "node:crypto";
import { createServer, type Server } from "node:http";
import type { AddressInfo } from "node:net";
import { serve as serveHono } from "@hono/node-server";
import pino, { type Logger } from "pino";
import type { ServeConfig } from "./config.ts";
import { createAdminApp } from "./admin/app.ts";
import { generateAdminToken, generateSecretKey, lockDataDir, prepareDataDir, secretFile, secureDataDir } from "./data-dir.ts";
import { createMetrics } from "./metrics.ts";
import { createProxy } from "./proxy/create-proxy.ts";
import { createAccessTokenVerifier } from "./identity/access-tokens.ts";
import { createDiscovery } from "./identity/discovery.ts";
import { createWhoami } from "./identity/whoami.ts";
import { createRuntimeView } from "./runtime-view.ts";
import { createSealer, parseKey } from "./store/seal.ts";
import { openBackends, type Backends } from "./store/backends.ts";
import { startupFailure } from "./store/store-faults.ts";
import { join } from "node:path";
import { hostname } from "node:os";
import { newReplicaId, type ReplicaDirectory } from "./replicas.ts";
import { createCatalog } from "./catalog/catalog.ts";
import { createApprovals } from "./approvals/approvals.ts";
import { createWebhookNotifier } from "./webhooks/notifier.ts";
import { createWebhookTargets } from "./webhooks/webhook-targets.ts";
import { startAuditPruner } from "./store/audit-retention.ts";
import { listUpstreamTools } from "./catalog/list-upstream-tools.ts";

export interface RunningGateway {
  proxyUrl: string;
  adminUrl: string;
  /** The admin token in force (given, or read from / generated into the data dir). */
  adminToken: string;
  /** Set when the admin token was generated on this start (printed once by the CLI). */
  generatedAdminToken: string | undefined;
  /** Where state lives: configuration and audit, and limit counters. */
  stores: { config: "sqlite" | "postgres"; counters: "sqlite" | "postgres" | "redis" };
  /**
   * Stops: no new calls, /readyz 503 at once, in-flight calls drain (up to the drain timeout), the audit
   * log is flushed, stores close. `drain: false` (also while a stop runs) cuts the drain short.
   */
  stop(options?: { drain?: boolean }): Promise<void>;
}

/** Redacted wherever they appear in a log line: tokens, credentials and argument values never reach logs. */
const REDACT = ["req.headers.authorization", "req.headers.cookie", "*.token", "*.adminToken", "*.headers", "*.env", "*.arguments", "*.args"];

export function createLogger(level: string): Logger {
  return pino({ level, base: { service: "toolgate" }, redact: { paths: REDACT, censor: "[redacted]" }, timestamp: pino.stdTimeFunctions.isoTime });
}

/** Starts the gateway: store, admin API and proxy, each on its own listener. */
export async function startGateway(config: ServeConfig, log: Logger): Promise<RunningGateway> {
  // A data dir that cannot be written (full, read-only, damaged files) is said in one line naming the file.
  const databasePath = config.databaseUrl ? undefined : join(config.dataDir, "toolgate.db");
  let unlock: () => void;
  try {
    prepareDataDir(config.dataDir, log);
    unlock = lockDataDir(config.dataDir);
  } catch (error) {
    throw startupFailure(error, { file: join(config.dataDir, "gateway.lock") });
  }
  let backends: Backends | undefined;
  try {
    const admin = config.adminToken ? { value: config.adminToken, created: false } : secretFile(config.dataDir, "admin-token", generateAdminToken);
    const key = config.secretKey ? parseKey(config.secretKey, "TOOLGATE_SECRET_KEY") : parseKey(secretFile(config.dataDir, "secret.key", generateSecretKey).value, "the data dir's secret.key");
    const sealer = createSealer(key, config.previousSecretKeys.map((k, i) => parseKey(k, `TOOLGATE_SECRET_KEY_PREVIOUS[${i}]`)));
    const opened = await openBackends(config, sealer, log);
    // The database files exist now: make them private like the rest of the data dir.
    secureDataDir(config.dataDir, log);
    backends = opened;
    const { config: store, counters, audit } = opened;
    const view = createRuntimeView();
    view.load(await store.snapshot());
    const metrics = createMetrics();

    const catalog = createCatalog({
      store: opened.catalog,
      view,
      audit,
      log,
      listTools: (target) => listUpstreamTools(target, config.dataDir),
      onChanged: (server) => metrics.toolChanged(server),
      refreshMs: config.catalogRefreshMs,
    });
    await catalog.load();
    await opened.follow(view, catalog);
    let adminUrl = "";
    const webhookTargets = createWebhookTargets(config.webhookAllow);
    const webhooks = createWebhookNotifier({ store, log, adminUrl: () => adminUrl, targets: webhookTargets });
    const approvals = createApprovals({ store: opened.approvals, audit, log, notify: (event, approval) => webhooks.notify(event, approval), maxPendingPerGrant: config.maxPendingApprovalsPerGrant });
    const replicaId = newReplicaId();
    // Registered once the proxy listens (its address is part of the registration).
    const registered: { directory?: ReplicaDirectory } = {};
    const replica = { id: replicaId, locate: async (id: string) => registered.directory?.locate(id) };
    /** The proxy's base URL as agents reach it; set once the proxy listens. */
    let publicUrl = "";
    // One cache of identity providers' metadata for token checks, token exchange and approver sign-in.
    const discovery = createDiscovery();
    // One verifier (one key cache) for the proxy and the admin API's whoami.
    const identity = { verifier: createAccessTokenVerifier({ view, providers: () => view.identityProviders(), jwksCacheMs: config.jwksCacheMs, discovery }), active: () => view.identityProviders().length > 0 };
    const proxy = createProxy({
      identity,
      publicUrl: () => publicUrl,
      discovery,
      replica,
      view,
      counters,
      audit,
      metrics,
      log,
      catalog,
      approvals,
      servingProblem: opened.servingProblem,
      allowedOrigins: config.allowedOrigins,
      // Every replica derives the same key, so any replica can check a session's grant.
      sessionKey: Buffer.from(hkdfSync("sha256", key, Buffer.alloc(0), "toolgate mcp session binding", 32)),
      dataDir: config.dataDir,
      maxStdioProcesses: config.maxStdioProcesses,
      maxStdioPerGrant: config.maxStdioPerGrant,
      stdioIdleMs: config.stdioIdleMs,
      maxBodyBytes: config.maxBodyBytes,
      drainMs: config.drainTimeoutMs,
    });
    metrics.observe(proxy);
    const proxyServer = createServer({ ...SLOW_CLIENT_LIMITS(config) }, (req, res) => {
      const described = serverInPath(req.url, RESOURCE_METADATA_PREFIX);
      if (typeof described === "string") {
        proxy.resourceMetadata(req, res, described);
        return;
      }
      const server = serverInPath(req.url);
      if (typeof server !== "string") {
        const [status, message] = server === MALFORMED ? [400, "Bad request: the server name in the path has a malformed percent-escape"] : [404, "Not found: MCP endpoints are /mcp/<server>"];
        res.writeHead(status, { "content-type": "application/json" }).end(JSON.stringify({ jsonrpc: "2.0", id: null, error: { code: -32600, message } }));
        return;
      }
      void proxy.handle(req, res, server);
    });
    limitConnections(proxyServer, config);
    await listen(proxyServer, config.listen.host, config.listen.port);
    const proxyUrl = config.publicUrl?.replace(/\/+$/, "") ?? urlOf(proxyServer);
    publicUrl = proxyUrl;
    registered.directory = await opened.registerReplica(replicaId, config.advertiseUrl?.replace(/\/+$/, "") ?? advertisedUrl(proxyServer));

    /** Set by stop(): /readyz answers 503 from then on; `cut` ends the drain early (a second signal). */
    const shutdown = { stopping: false, cut: Promise.withResolvers<void>() };
    const app = createAdminApp({
      store,
      audit,
      view,
      catalog,
      approvals,
      registry: metrics.registry,
      log,
      adminToken: admin.value,
      readOnlyToken: config.readOnlyToken,
      proxyUrl: () => proxyUrl,
      ready: async () => (shutdown.stopping ? "the gateway is shutting down" : (opened.servingProblem() ?? (await opened.readinessProblem()))),
      webhookTargets,
      secretKey: key,
      adminPublicUrl: () => config.adminPublicUrl?.replace(/\/+$/, "") ?? adminUrl,
      discovery,
      whoami: createWhoami({ view, identity, publicUrl: () => publicUrl }),
    });
    const adminServer = await new Promise<Server>((resolve, reject) => {
      const s = serveHono({ fetch: app.fetch, hostname: config.adminListen.host, port: config.adminListen.port, serverOptions: SLOW_CLIENT_LIMITS(config) }, () => resolve(s as Server));
      (s as Server).once("error", reject);
    });
    limitConnections(adminServer, config);
    adminUrl = urlOf(adminServer);

    const pruner = config.auditRetention ? startAuditPruner(audit, config.auditRetention, log) : undefined;
    let stopped: Promise<void> | undefined;
    return {
      proxyUrl,
      adminUrl,
      adminToken: admin.value,
      generatedAdminToken: admin.created ? admin.value : undefined,
      stores: { config: opened.kind, counters: opened.countersKind },
      stop(options = {}) {
        if (options.drain === false) shutdown.cut.resolve();
        stopped ??= (async () => {
          // Stop accepting and say so to load balancers, then drain, then flush the audit log and close stores.
          shutdown.stopping = true;
          const closedProxy = new Promise((r) => proxyServer.close(r));
          catalog.stop();
          approvals.stop();
          const drained = proxy.close();
          await Promise.race([drained, shutdown.cut.promise]);
          proxyServer.closeAllConnections();
          // Calls cut off end now and write their audit rows before the log is flushed.
          await drained;
          await closedProxy;
          await new Promise((r) => adminServer.close(r));
          adminServer.closeAllConnections();
          await registered.directory?.close();
          await pruner?.stop();
          await opened.close();
          unlock();
        })();
        return stopped;
      },
    };
  } catch (error) {
    await backends?.close().catch(() => {});
    unlock();
    throw startupFailure(error, { file: config.dataDir, database: databasePath });
  }
}

const MALFORMED = Symbol("malformed percent-escape");

/** The server name in `/mcp/<server>`, undefined for any other path, MALFORMED for a name that does not decode. */
/** RFC 9728 path-inserted form: the metadata of /mcp/<server> is at this prefix + /mcp/<server>. */
const RESOURCE_METADATA_PREFIX = "/.well-known/oauth-protected-resource";

function serverInPath(url: string | undefined, prefix = ""): string | typeof MALFORMED | undefined {
  if (prefix && !url?.startsWith(prefix + "/")) return undefined;
  const match = /^\/mcp\/([^/?]+)\/?(?:\?.*)?$/.exec((url ?? "").slice(prefix.length));
  if (!match) return undefined;
  try {
    return decodeURIComponent(match[1]!);
  } catch {
    return MALFORMED;
  }
}

/**
 * Slow headers and bodies are cut off (Node checks the deadlines every 30 s). A shorter check interval broke
 * resumed event streams (SDK clients reconnecting with Last-Event-ID timed out), so it stays at the default.
 */
const SLOW_CLIENT_LIMITS = (config: ServeConfig) => ({ headersTimeout: config.headersTimeoutMs, requestTimeout: config.requestTimeoutMs });

/** Unauthenticated clients cannot hold sockets open: slow headers and bodies are cut off, connections are capped. */
function limitConnections(server: Server, config: ServeConfig): void {
  server.keepAliveTimeout = 65_000;
  server.headersTimeout = config.headersTimeoutMs;
  server.requestTimeout = config.requestTimeoutMs;
  server.maxConnections = config.maxConnections;
}

function listen(server: Server, host: string, port: number): Promise<void> {
  return new Promise((resolve, reject) => {
    server.once("error", reject);
    server.listen(port, host, () => {
      server.off("error", reject);
      resolve();
    });
  });
}

/** How other replicas reach this one's proxy: its listen address, or this host's name when listening on all interfaces. */
function advertisedUrl(server: Server): string {
  const a = server.address() as AddressInfo;
  const wildcard = a.address === "0.0.0.0" || a.address === "::";
  return wildcard ? `http://${hostname()}:${a.port}` : urlOf(server);
}

function urlOf(server: Server): string {
  const a = server.address() as AddressInfo;
  const host = a.family === "IPv6" ? `[${a.address}]` : a.address;
  return `http://${host}:${a.port}`;
}
