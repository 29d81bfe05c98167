// IBM ContextForge (PyPI mcp-contextforge-gateway) as a benchmark peer: installed into a cached virtualenv,
// started with its own SQLite database and JWT auth, the upstream registered as a federated gateway and exposed
// through a virtual server, exactly as its docs describe. Its CLI runs one uvicorn worker (its default).
import { execFileSync, spawn, type ChildProcess } from "node:child_process";
import { existsSync, mkdtempSync } from "node:fs";
import os from "node:os";
import { join } from "node:path";
import type { Target } from "./load.ts";
import { freePort } from "../../tests/helpers/free-port.ts";

export interface ContextForge {
  target: Target;
  /** ContextForge prefixes federated tools with the gateway's slug. */
  tool: string;
  version: string;
  stop(): void;
}

const VENV = process.env.CONTEXTFORGE_VENV ?? join(os.homedir(), ".cache", "toolgate", "bench", "contextforge");
const SECRET = "toolgate-bench-jwt-secret-0123456789abcdef";

/** Installs ContextForge if needed; returns why not when it cannot. */
export function installContextForge(): { ok: true } | { ok: false; why: string } {
  if (existsSync(join(VENV, "bin", "mcpgateway"))) return { ok: true };
  try {
    execFileSync("python3", ["-m", "venv", VENV], { stdio: "pipe" });
    execFileSync(join(VENV, "bin", "pip"), ["install", "-q", "mcp-contextforge-gateway"], { stdio: "pipe", timeout: 900_000 });
    return { ok: true };
  } catch (error) {
    const stderr = String((error as { stderr?: Buffer }).stderr ?? (error as Error).message).trim().split("\n").slice(-2).join(" ");
    return { ok: false, why: `pip install mcp-contextforge-gateway failed: ${stderr}` };
  }
}

export async function startContextForge(upstreamUrl: string): Promise<ContextForge> {
  const dir = mkdtempSync(join(os.tmpdir(), "toolgate-bench-cf-"));
  const port = await freePort();
  const env = {
    ...process.env,
    DATABASE_URL: `sqlite:///${join(dir, "mcp.db")}`,
    JWT_SECRET_KEY: SECRET,
    PLATFORM_ADMIN_EMAIL: "admin@example.com",
    PLATFORM_ADMIN_PASSWORD: "Bench-Passw0rd-123",
    MCPGATEWAY_UI_ENABLED: "false",
    MCPGATEWAY_ADMIN_API_ENABLED: "true",
    SSRF_PROTECTION_ENABLED: "false",
    // Its default per-user limit (100 MCP requests a minute, then a 15-minute lockout) would be measured instead of the gateway.
    RATE_LIMITING_ENABLED: "false",
    LOG_LEVEL: "ERROR",
  };
  const child: ChildProcess = spawn(join(VENV, "bin", "mcpgateway"), ["--host", "127.0.0.1", "--port", String(port)], { cwd: dir, env, stdio: "ignore" });
  const base = `http://127.0.0.1:${port}`;
  try {
    const deadline = Date.now() + 90_000;
    for (;;) {
      if (await fetch(`${base}/health`).then((r) => r.ok, () => false)) break;
      if (Date.now() > deadline) throw new Error("ContextForge did not become healthy in 90 s");
      await new Promise((r) => setTimeout(r, 500));
    }
    const token = execFileSync(join(VENV, "bin", "python"), ["-m", "mcpgateway.utils.create_jwt_token", "--username", "admin@example.com", "--exp", "600", "--secret", SECRET], { env, encoding: "utf8" }).trim().split("\n").at(-1)!;
    const api = async <T>(method: string, path: string, body?: unknown): Promise<T> => {
      const res = await fetch(`${base}${path}`, { method, headers: { authorization: `Bearer ${token}`, "content-type": "application/json" }, body: body ? JSON.stringify(body) : undefined });
      if (!res.ok) throw new Error(`ContextForge ${method} ${path}: HTTP ${res.status} ${await res.text()}`);
      return (await res.json()) as T;
    };
    await api("POST", "/gateways", { name: "echo", url: upstreamUrl, transport: "STREAMABLEHTTP" });
    const tools = await api<{ id: string; name: string }[]>("GET", "/tools");
    const server = await api<{ id: string }>("POST", "/servers", { server: { name: "bench", associated_tools: tools.map((t) => t.id) } });
    const version = execFileSync(join(VENV, "bin", "pip"), ["show", "mcp-contextforge-gateway"], { encoding: "utf8" }).match(/^Version: (.+)$/m)?.[1] ?? "unknown";
    return { target: { url: `${base}/servers/${server.id}/mcp`, token }, tool: tools[0]!.name, version, stop: () => child.kill() };
  } catch (error) {
    child.kill();
    throw error;
  }
}
