import { spawn, type ChildProcess } from "node:child_process";
import { randomBytes } from "node:crypto";
import { mkdtempSync } from "node:fs";
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
  const child = spawn(process.execPath, [BIN, "serve", "--data-dir", dataDir, "--listen", "127.0.0.1:0", "--admin-listen", "127.0.0.1:0", ...(options.args ?? [])], {
    cwd: ROOT,
    env: { ...process.env, TOOLGATE_ADMIN_TOKEN: adminToken, TOOLGATE_LOG_LEVEL: "info", ...options.env },
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
        const entry = JSON.parse(line) as { proxyUrl: string; adminUrl: string };
        clearTimeout(timer);
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
