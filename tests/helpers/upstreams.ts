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
export function pythonUpstreamVenv(): Promise<string> {
  return pythonVenv("py-upstream", PY_DIR, "the security tests' Python MCP server");
}

/**
 * A venv with `<dir>/requirements.txt` installed from PyPI, built once under `<cacheRoot>/<name>/<hash of that file>/`;
 * returns its python. `purpose` says in errors what needs it.
 */
export async function pythonVenv(name: string, dir: string, purpose: string): Promise<string> {
  const built = await cached(name, sourcesHash(dir, ["requirements.txt"]), async (out) => {
    const venv = join(out, "venv");
    try {
      await run("python3", ["-m", "venv", venv]);
    } catch (error) {
      const e = error as NodeJS.ErrnoException & { stderr?: string };
      if (e.code === "ENOENT") throw new Error(`${purpose} needs python3 >= 3.10 with venv: \`python3\` is not on PATH.`, { cause: error });
      throw new Error(`python3 -m venv failed (Debian: apt-get install python3-venv):\n${e.stderr ?? e.message}`, { cause: error });
    }
    try {
      await run(join(venv, "bin/python"), ["-m", "pip", "install", "--disable-pip-version-check", "-q", "-r", join(dir, "requirements.txt")], { maxBuffer: 16 * 1024 * 1024 });
    } catch (error) {
      const e = error as Error & { stderr?: string };
      throw new Error(`pip could not install ${join(dir, "requirements.txt").slice(ROOT.length + 1)} from PyPI (${purpose} needs it):\n${e.stderr ?? e.message}`, { cause: error });
    }
  });
  return join(built, "venv/bin/python");
}

/** The URL a server process prints as `listening <url>` on stdout; rejects with its output if it exits or takes 60 s. */
export function listeningUrl(child: ChildProcess, name: string): Promise<string> {
  let output = "";
  child.stderr!.on("data", (d: Buffer) => (output += d.toString()));
  return new Promise<string>((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`${name} did not start in 60s:\n${output}`)), 60_000);
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
      reject(new Error(`${name} exited with ${code}:\n${output}`));
    });
  });
}

/** Starts a server process that prints `listening <url>` on its first line of stdout. */
async function startListening(name: string, command: string, args: string[]): Promise<TestUpstream> {
  const child: ChildProcess = spawn(command, args, { cwd: ROOT, stdio: ["ignore", "pipe", "pipe"] });
  const url = await listeningUrl(child, `the ${name} upstream`);
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
      // uvicorn waits for requests still in flight (a call the SDK lost stays in flight forever).
      const kill = setTimeout(() => child.kill("SIGKILL"), 5000);
      await exited;
      clearTimeout(kill);
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

/** The gateway's answer to one POST: HTTP status, raw body, and the JSON-RPC response in it, if any. */
export interface Answer {
  status: number;
  body: string;
  message?: { id?: unknown; result?: { content?: { type: string; text?: string }[]; isError?: boolean; _meta?: Record<string, unknown> }; error?: { code: number; message: string; data?: unknown } };
}

/** The JSON-RPC response in a body that is JSON or an event stream (the message with a result or an error). */
function responseIn(contentType: string, body: string): Answer["message"] {
  const texts = contentType.startsWith("text/event-stream")
    ? body
        .split(/\r?\n\r?\n/)
        .map((event) =>
          event
            .split(/\r?\n/)
            .filter((l) => l.startsWith("data:"))
            .map((l) => l.slice(5).trimStart())
            .join("\n"),
        )
        .filter((t) => t)
    : [body];
  for (const text of texts) {
    try {
      const m = JSON.parse(text) as Answer["message"] & { method?: unknown };
      if (m && typeof m === "object" && m.method === undefined && ("result" in m || "error" in m)) return m;
    } catch {
      // Not JSON: no message here.
    }
  }
  return undefined;
}

/**
 * An agent that talks to `toolgate serve` in raw bytes, as an attacker would (no SDK client to tidy up what it
 * sends): one Streamable HTTP session on /mcp/<server> with a grant token.
 */
export class RawAgent {
  readonly url: string;
  readonly token: string;
  sessionId: string | undefined;

  constructor(url: string, token: string) {
    this.url = url;
    this.token = token;
  }

  /** Opens a session: initialize, then notifications/initialized. */
  static async connect(proxyUrl: string, server: string, token: string): Promise<RawAgent> {
    const agent = new RawAgent(`${proxyUrl}/mcp/${server}`, token);
    const init = await agent.send(JSON.stringify({ jsonrpc: "2.0", id: "init", method: "initialize", params: { protocolVersion: "2025-06-18", capabilities: {}, clientInfo: { name: "attacker", version: "1.0.0" } } }));
    if (init.status !== 200 || !init.message?.result) throw new Error(`initialize through the gateway failed: HTTP ${init.status} ${init.body}`);
    const initialized = await agent.send(JSON.stringify({ jsonrpc: "2.0", method: "notifications/initialized" }));
    if (initialized.status !== 202) throw new Error(`notifications/initialized through the gateway failed: HTTP ${initialized.status} ${initialized.body}`);
    return agent;
  }

  /** POSTs `body` as it is. */
  async send(body: string, signal?: AbortSignal): Promise<Answer> {
    const res = await fetch(this.url, {
      method: "POST",
      headers: {
        authorization: `Bearer ${this.token}`,
        "content-type": "application/json",
        accept: "application/json, text/event-stream",
        "mcp-protocol-version": "2025-06-18",
        ...(this.sessionId ? { "mcp-session-id": this.sessionId } : {}),
      },
      body,
      ...(signal ? { signal } : {}),
    });
    this.sessionId ??= res.headers.get("mcp-session-id") ?? undefined;
    const text = await res.text();
    const message = responseIn(res.headers.get("content-type") ?? "", text);
    return { status: res.status, body: text, ...(message ? { message } : {}) };
  }

  /** Sends a ping and waits for its answer: the upstream has handled everything sent before (stdio reads in order). */
  async settle(): Promise<void> {
    const pong = await this.send(JSON.stringify({ jsonrpc: "2.0", id: "settle", method: "ping" }));
    if (pong.status !== 200) throw new Error(`ping through the gateway failed: HTTP ${pong.status} ${pong.body}`);
  }
}

/** The text of a tool result in an answer. */
export function resultText(answer: Answer): string | undefined {
  return answer.message?.result?.content?.map((c) => c.text ?? `[${c.type}]`).join("\n");
}

/** Calls `read` until `done` holds for its value or `ms` pass, and returns the last value (a wait, never an assertion). */
export async function eventually<T>(read: () => Promise<T>, done: (value: T) => boolean, ms = 5000): Promise<T> {
  const deadline = Date.now() + ms;
  for (;;) {
    const value = await read();
    if (done(value) || Date.now() >= deadline) return value;
    await new Promise((r) => setTimeout(r, 25));
  }
}
