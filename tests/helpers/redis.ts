import { spawn, type ChildProcess } from "node:child_process";
import { accessSync, constants, mkdtempSync, rmSync } from "node:fs";
import { connect } from "node:net";
import { delimiter, join } from "node:path";
import { tmpdir } from "node:os";
import { freePort } from "./free-port.ts";

export interface TestRedis {
  /** redis://127.0.0.1:PORT */
  url: string;
  port: number;
  /** Everything the server processes wrote to stdout and stderr so far. */
  logs(): string;
  /** Stops the server (SIGTERM, then wait for exit) but keeps the port for resume(). */
  pause(): Promise<void>;
  /** Starts the paused server again on the same port, with its data (append-only file, as deploy/ runs it). */
  resume(): Promise<void>;
  /** SIGKILL (a crash): nothing is flushed; resume() starts it again from what its append-only file holds. */
  crash(): Promise<void>;
  /** Stops the server, deletes its data, and starts it again empty on the same port (data loss). */
  restartEmpty(): Promise<void>;
  /** SIGSTOP: the server keeps its connections open but answers nothing (a hung host, a long GC-like stall). */
  freeze(): void;
  /** SIGCONT after freeze(): the server runs again and executes what was queued meanwhile. */
  thaw(): void;
  /** Stops the server and removes its temporary dir. Safe to call more than once. */
  stop(): Promise<void>;
}

/**
 * Starts a throwaway `redis-server` on a free loopback port, persisting to an append-only file in a
 * temporary dir (as deploy/ runs it). Callers stop it themselves, e.g. `after(() => redis.stop())`.
 */
export async function startRedis(): Promise<TestRedis> {
  const bin = findRedisServer();
  const dir = mkdtempSync(join(tmpdir(), "toolgate-redis-"));
  const port = await freePort();
  let output = "";
  let child: ChildProcess | undefined;
  let exited: Promise<void> = Promise.resolve();

  const start = async () => {
    const proc = spawn(bin, ["--port", String(port), "--bind", "127.0.0.1", "--save", "", "--appendonly", "yes", "--appendfsync", "everysec", "--protected-mode", "yes", "--dir", dir], {
      cwd: dir,
      stdio: ["ignore", "pipe", "pipe"],
    });
    child = proc;
    proc.stdout!.on("data", (d: Buffer) => (output += d.toString()));
    proc.stderr!.on("data", (d: Buffer) => (output += d.toString()));
    exited = new Promise<void>((resolve) => proc.once("close", () => resolve()));
    let exitError: Error | undefined;
    proc.once("error", (err) => (exitError = err));
    proc.once("exit", (code, signal) => (exitError ??= new Error(`redis-server exited with ${code ?? signal}`)));
    const deadline = Date.now() + 15_000;
    for (;;) {
      if (exitError) throw new Error(`${exitError.message}:\n${output}`);
      if (await ping(port)) return;
      if (Date.now() > deadline) {
        await kill(proc, exited);
        throw new Error(`redis-server did not accept connections on 127.0.0.1:${port} in 15s:\n${output}`);
      }
      await new Promise((r) => setTimeout(r, 50));
    }
  };
  const halt = async () => {
    // A frozen server would not act on SIGTERM.
    child?.kill("SIGCONT");
    if (child) await kill(child, exited);
    child = undefined;
  };

  try {
    await start();
  } catch (err) {
    rmSync(dir, { recursive: true, force: true });
    throw err;
  }

  let stopped: Promise<void> | undefined;
  return {
    url: `redis://127.0.0.1:${port}`,
    port,
    logs: () => output,
    async pause() {
      if (stopped) throw new Error("this redis-server was stopped");
      await halt();
    },
    async resume() {
      if (stopped) throw new Error("this redis-server was stopped");
      if (!child) await start();
    },
    async crash() {
      if (!child) throw new Error("this redis-server is not running");
      child.kill("SIGKILL");
      await exited;
      child = undefined;
    },
    async restartEmpty() {
      if (stopped) throw new Error("this redis-server was stopped");
      await halt();
      rmSync(join(dir, "appendonlydir"), { recursive: true, force: true });
      await start();
    },
    freeze() {
      if (!child) throw new Error("this redis-server is not running");
      child.kill("SIGSTOP");
    },
    thaw() {
      child?.kill("SIGCONT");
    },
    stop() {
      stopped ??= halt().finally(() => rmSync(dir, { recursive: true, force: true }));
      return stopped;
    },
  };
}

function findRedisServer(): string {
  for (const dir of (process.env.PATH ?? "").split(delimiter)) {
    if (!dir) continue;
    const file = join(dir, "redis-server");
    try {
      accessSync(file, constants.X_OK);
      return file;
    } catch {
      // not here
    }
  }
  throw new Error("redis-server is missing from PATH. .ci/run installs the Debian `redis-server` package (apt-get install redis-server).");
}

async function kill(proc: ChildProcess, exited: Promise<void>): Promise<void> {
  if (proc.exitCode === null && proc.signalCode === null) proc.kill("SIGTERM");
  const timer = setTimeout(() => proc.kill("SIGKILL"), 10_000);
  await exited;
  clearTimeout(timer);
}

/** One raw `PING` on a fresh connection; true when the answer is `+PONG`. */
function ping(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const socket = connect({ host: "127.0.0.1", port });
    let reply = "";
    const done = (ok: boolean) => {
      clearTimeout(timer);
      socket.destroy();
      resolve(ok);
    };
    const timer = setTimeout(() => done(false), 1_000);
    socket.once("connect", () => socket.write("PING\r\n"));
    socket.on("data", (d: Buffer) => {
      reply += d.toString();
      if (reply.includes("\r\n")) done(reply.startsWith("+PONG"));
    });
    socket.once("error", () => done(false));
    socket.once("close", () => done(false));
  });
}

