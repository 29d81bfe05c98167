import { spawn, type ChildProcess } from "node:child_process";
import { randomBytes } from "node:crypto";
import { existsSync, mkdtempSync, readFileSync, writeFileSync } from "node:fs";
import pg from "pg";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { AdminClient } from "../../sdk/index.ts";
import { BIN, ROOT } from "./cli.ts";

export interface TestGateway {
  proxyUrl: string;
  adminUrl: string;
  adminToken: string;
  dataDir: string;
  admin: AdminClient;
  child: ChildProcess;
  /** Everything the process wrote to stdout and stderr so far. */
  logs(): string;
  /** SIGTERM, then wait for the exit code. */
  stop(): Promise<number | null>;
}

/**
 * Starts a real `toolgate serve` on free loopback ports with a temporary data dir (or the given one, to
 * test restarts). Run `npm run build` first (`npm test` does).
 */
export async function startGateway(options: { dataDir?: string; adminToken?: string; env?: NodeJS.ProcessEnv; args?: string[] } = {}): Promise<TestGateway> {
  const dataDir = options.dataDir ?? mkdtempSync(join(tmpdir(), "toolgate-gw-"));
  const adminToken = options.adminToken ?? "tga_test_" + randomBytes(16).toString("hex");
  const shared = await sharedBackendEnv(dataDir);
  const child = spawn(process.execPath, [BIN, "serve", "--data-dir", dataDir, "--listen", "127.0.0.1:0", "--admin-listen", "127.0.0.1:0", ...(options.args ?? [])], {
    cwd: ROOT,
    env: { ...process.env, TOOLGATE_ADMIN_TOKEN: adminToken, TOOLGATE_LOG_LEVEL: "info", ...shared, ...options.env },
    stdio: ["ignore", "pipe", "pipe"],
  });
  let output = "";
  child.stdout!.on("data", (d: Buffer) => (output += d.toString()));
  child.stderr!.on("data", (d: Buffer) => (output += d.toString()));
  const urls = await new Promise<{ proxyUrl: string; adminUrl: string }>((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`gateway did not start in 20s:\n${output}`)), 20_000);
    const onData = () => {
      for (const line of output.split("\n")) {
        if (!line.includes('"listening"')) continue;
        const entry = JSON.parse(line) as { proxyUrl: string; adminUrl: string; stores: { config: string; counters: string } };
        clearTimeout(timer);
        if (shared.TOOLGATE_DATABASE_URL && entry.stores.config !== "postgres") reject(new Error(`expected a PostgreSQL-backed gateway, got ${JSON.stringify(entry.stores)}`));
        child.stdout!.off("data", onData);
        resolve({ proxyUrl: entry.proxyUrl, adminUrl: entry.adminUrl });
        return;
      }
    };
    child.stdout!.on("data", onData);
    child.once("exit", (code) => {
      clearTimeout(timer);
      reject(new Error(`gateway exited with ${code}:\n${output}`));
    });
  });
  const exited = new Promise<number | null>((r) => child.once("exit", (code) => r(code)));
  // An empty token means "let the gateway generate one"; tests that do so read it from the data dir.
  const admin = adminToken ? new AdminClient({ endpoint: urls.adminUrl, token: adminToken, attempts: 1 }) : undefined;
  return {
    ...urls,
    adminToken,
    dataDir,
    child,
    get admin() {
      if (!admin) throw new Error("this gateway was started without a known admin token");
      return admin;
    },
    logs: () => output,
    async stop() {
      if (child.exitCode === null) child.kill("SIGTERM");
      return exited;
    },
  };
}

/**
 * When TOOLGATE_TEST_POSTGRES_URL is set (tests/integration/shared-backends.test.ts), every gateway gets its own
 * new PostgreSQL database, counters in TOOLGATE_TEST_REDIS_URL and a secret key; both are remembered in the data
 * dir, so a restart on the same data dir finds the same database.
 */
async function sharedBackendEnv(dataDir: string): Promise<NodeJS.ProcessEnv> {
  const server = process.env.TOOLGATE_TEST_POSTGRES_URL;
  if (!server) return {};
  const file = join(dataDir, "test-backend.json");
  if (!existsSync(file)) {
    const database = "tg_" + randomBytes(6).toString("hex");
    const client = new pg.Client({ connectionString: server });
    await client.connect();
    try {
      await client.query(`CREATE DATABASE ${database}`);
    } finally {
      await client.end();
    }
    const url = new URL(server);
    url.pathname = "/" + database;
    writeFileSync(file, JSON.stringify({ TOOLGATE_DATABASE_URL: url.toString(), TOOLGATE_SECRET_KEY: randomBytes(32).toString("base64") }));
  }
  const env = JSON.parse(readFileSync(file, "utf8")) as NodeJS.ProcessEnv;
  return { ...env, ...(process.env.TOOLGATE_TEST_REDIS_URL ? { TOOLGATE_REDIS_URL: process.env.TOOLGATE_TEST_REDIS_URL } : {}) };
}
