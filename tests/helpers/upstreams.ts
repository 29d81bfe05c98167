import { execFile, spawn, type ChildProcess } from "node:child_process";
import { createHash, randomBytes } from "node:crypto";
import { existsSync, mkdirSync, mkdtempSync, readFileSync, renameSync, rmSync } from "node:fs";
import { homedir, tmpdir } from "node:os";
import { join } from "node:path";
import { promisify } from "node:util";
import { ROOT } from "./cli.ts";

const run = promisify(execFile);

/** What an upstream executed (recorded when the tool starts, with the arguments as that server decoded them). */
export interface Execution {
  kind: "call";
  id: unknown;
  tool: string;
  args: Record<string, unknown>;
}

/** A notification the upstream received. */
export interface ReceivedNotification {
  kind: "notification";
  method: string;
  params: unknown;
}

export type UpstreamRecord = Execution | ReceivedNotification;

/** The `transport` of an McpServer registration. */
export type UpstreamTransport = { type: "streamable-http"; url: string } | { type: "stdio"; command: string; args: string[]; env: Record<string, string> };

/**
 * A real MCP server with the tools `read`, `transfer` ({amount}), `delete_all` and `slow` ({ms, tag}), which records
 * every tool it starts and every notification it receives.
 */
export interface TestUpstream {
  /** "node", "go", "python", "go-stdio": also a valid McpServer name. */
  name: string;
  transport: UpstreamTransport;
  records(): Promise<UpstreamRecord[]>;
  close(): Promise<void>;
}

export type UpstreamKind = "node" | "go" | "python" | "go-stdio";

/** Every kind, for tests that attack each upstream in turn. */
export const UPSTREAM_KINDS: UpstreamKind[] = ["node", "go", "python", "go-stdio"];

export function startUpstream(kind: UpstreamKind): Promise<TestUpstream> {
  switch (kind) {
    case "node":
      return startNodeUpstream();
    case "go":
      return startGoUpstream();
    case "python":
      return startPythonUpstream();
    case "go-stdio":
      return goStdioUpstream();
  }
}

/** Where test toolchains are cached: `$TOOLGATE_CACHE_DIR`, else `$XDG_CACHE_HOME/toolgate`, else `~/.cache/toolgate`. */
export function cacheRoot(): string {
  return process.env.TOOLGATE_CACHE_DIR ?? join(process.env.XDG_CACHE_HOME ?? join(homedir(), ".cache"), "toolgate");
}

function sourcesHash(dir: string, files: string[]): string {
  const hash = createHash("sha256");
  for (const f of files) hash.update(f).update("\0").update(readFileSync(join(dir, f))).update("\0");
  return hash.digest("hex").slice(0, 16);
}

/** Builds something into `<cacheRoot>/<name>/<key>/` unless it is there: `build` fills a fresh directory that is renamed into place. */
async function cached(name: string, key: string, build: (dir: string) => Promise<void>): Promise<string> {
  const final = join(cacheRoot(), name, key);
  if (existsSync(final)) return final;
  mkdirSync(join(cacheRoot(), name), { recursive: true });
  const work = join(cacheRoot(), name, `${key}.tmp-${process.pid}-${randomBytes(4).toString("hex")}`);
  try {
    mkdirSync(work);
    await build(work);
    try {
      renameSync(work, final);
    } catch (error) {
      if (!existsSync(final)) throw error; // Another process built it first; use theirs.
    }
  } finally {
    rmSync(work, { recursive: true, force: true });
  }
  return final;
}

const GO_DIR = join(ROOT, "tests/fixtures/go-upstream");

/** Builds tests/fixtures/go-upstream with `go build` (no dependencies), cached by a hash of its sources; the binary's path. */
export async function buildGoUpstream(): Promise<string> {
  const dir = await cached("go-upstream", sourcesHash(GO_DIR, ["go.mod", "main.go"]), async (out) => {
    try {
      await run("go", ["build", "-o", join(out, "go-upstream"), "."], { cwd: GO_DIR, env: { ...process.env, CGO_ENABLED: "0", GOTOOLCHAIN: "local" } });
    } catch (error) {
      const e = error as NodeJS.ErrnoException & { stderr?: string };
      if (e.code === "ENOENT") throw new Error("The security tests build a Go MCP server (tests/fixtures/go-upstream) and need Go >= 1.19: `go` is not on PATH. Install Go (Debian: apt-get install golang-go).", { cause: error });
      throw new Error(`go build of tests/fixtures/go-upstream failed:\n${e.stderr ?? e.message}`, { cause: error });
    }
  });
  return join(dir, "go-upstream");
}

const PY_DIR = join(ROOT, "tests/fixtures/py-upstream");

/** A venv with tests/fixtures/py-upstream/requirements.txt installed from PyPI, cached by that file's hash; its python. */
export async function pythonUpstreamVenv(): Promise<string> {
  const dir = await cached("py-upstream", sourcesHash(PY_DIR, ["requirements.txt"]), async (out) => {
    const venv = join(out, "venv");
    try {
      await run("python3", ["-m", "venv", venv]);
    } catch (error) {
      const e = error as NodeJS.ErrnoException & { stderr?: string };
      if (e.code === "ENOENT") throw new Error("The security tests run a Python MCP server and need python3 >= 3.10 with venv: `python3` is not on PATH.", { cause: error });
      throw new Error(`python3 -m venv failed (Debian: apt-get install python3-venv):\n${e.stderr ?? e.message}`, { cause: error });
    }
    try {
      await run(join(venv, "bin/python"), ["-m", "pip", "install", "--disable-pip-version-check", "-q", "-r", join(PY_DIR, "requirements.txt")], { maxBuffer: 16 * 1024 * 1024 });
    } catch (error) {
      const e = error as Error & { stderr?: string };
      throw new Error(`pip could not install tests/fixtures/py-upstream/requirements.txt from PyPI (the security tests need the Python MCP SDK):\n${e.stderr ?? e.message}`, { cause: error });
    }
  });
  return join(dir, "venv/bin/python");
}

/** Starts a server process that prints `listening <url>` on its first line of stdout. */
async function startListening(name: string, command: string, args: string[]): Promise<TestUpstream> {
  const child: ChildProcess = spawn(command, args, { cwd: ROOT, stdio: ["ignore", "pipe", "pipe"] });
  let output = "";
  child.stderr!.on("data", (d: Buffer) => (output += d.toString()));
  const url = await new Promise<string>((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`the ${name} upstream did not start in 60s:\n${output}`)), 60_000);
    child.stdout!.on("data", (d: Buffer) => {
      output += d.toString();
      const match = /^listening (\S+)$/m.exec(output);
      if (match) {
        clearTimeout(timer);
        resolve(match[1]!);
      }
    });
    child.once("exit", (code) => {
      clearTimeout(timer);
      reject(new Error(`the ${name} upstream exited with ${code}:\n${output}`));
    });
  });
  const exited = new Promise<void>((r) => child.once("exit", () => r()));
  return {
    name,
    transport: { type: "streamable-http", url },
    async records() {
      const res = await fetch(new URL("/executions", url));
      return (await res.json()) as UpstreamRecord[];
    },
    async close() {
      if (child.exitCode === null && child.signalCode === null) child.kill("SIGTERM");
      await exited;
    },
  };
}

/** tests/fixtures/attack-server.ts: the official TypeScript SDK over Streamable HTTP. */
export function startNodeUpstream(): Promise<TestUpstream> {
  return startListening("node", process.execPath, ["tests/fixtures/attack-server.ts", "--listen", "127.0.0.1:0"]);
}

/** tests/fixtures/go-upstream over Streamable HTTP: encoding/json into structs. */
export async function startGoUpstream(): Promise<TestUpstream> {
  return startListening("go", await buildGoUpstream(), ["-listen", "127.0.0.1:0"]);
}

/** tests/fixtures/py-upstream: the official Python SDK (MCPServer) over Streamable HTTP. */
export async function startPythonUpstream(): Promise<TestUpstream> {
  return startListening("python", await pythonUpstreamVenv(), [join(PY_DIR, "server.py"), "--listen", "127.0.0.1:0"]);
}

/**
 * tests/fixtures/go-upstream over stdio: the gateway starts one process per session; all of them append their
 * records to one file.
 */
export async function goStdioUpstream(): Promise<TestUpstream> {
  const binary = await buildGoUpstream();
  const dir = mkdtempSync(join(tmpdir(), "toolgate-go-stdio-"));
  const log = join(dir, "executions.jsonl");
  return {
    name: "go-stdio",
    transport: { type: "stdio", command: binary, args: ["-stdio"], env: { EXECUTION_LOG: log } },
    async records() {
      if (!existsSync(log)) return [];
      return readFileSync(log, "utf8")
        .split("\n")
        .filter((l) => l.trim())
        .map((l) => JSON.parse(l) as UpstreamRecord);
    },
    async close() {
      rmSync(dir, { recursive: true, force: true });
    },
  };
}
