import { execFileSync, spawn, type ChildProcessWithoutNullStreams } from "node:child_process";
import { chownSync, mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join, relative, resolve, isAbsolute } from "node:path";
import type { UpstreamTransport } from "../contracts.ts";

/** A stdio server's process group: the child and everything it starts. */
export interface StdioProcess {
  child: ChildProcessWithoutNullStreams;
  onExit(listener: (why: string) => void): void;
  /** Stops the whole group (SIGTERM, then SIGKILL after a grace period) and resolves once the child is gone. */
  stop(): Promise<void>;
}

const GRACE_MS = 2000;

/**
 * Starts a stdio server in a process group of its own, so that stopping it (session end, idle, revocation,
 * shutdown) and its crash take every grandchild with it. It never starts inside the gateway's data dir: without
 * a `cwd` it gets a fresh empty directory, removed when it ends.
 */
export function spawnServer(transport: UpstreamTransport & { type: "stdio" }, dataDir: string | undefined): StdioProcess {
  if (transport.cwd && dataDir && isInside(resolve(transport.cwd), resolve(dataDir))) {
    throw new Error(`its cwd "${transport.cwd}" is inside the gateway's data dir, which holds the secret key; choose another directory`);
  }
  const identity = runAs(transport);
  const scratch = transport.cwd ? undefined : mkdtempSync(join(tmpdir(), "toolgate-stdio-"));
  // A child that runs as another user owns its scratch directory, which is also its HOME (the gateway's is not its to read).
  if (scratch && identity.uid !== undefined) chownSync(scratch, identity.uid, identity.gid ?? identity.uid);
  const home = identity.uid !== undefined ? (scratch ?? transport.cwd!) : (process.env.HOME ?? "/");
  const child = spawn(transport.command, transport.args, {
    cwd: transport.cwd ?? scratch,
    env: { PATH: process.env.PATH ?? "/usr/bin:/bin", HOME: home, ...transport.env },
    stdio: ["pipe", "pipe", "pipe"],
    detached: true,
    ...identity,
  });
  child.stdin.on("error", () => {});
  let exited: string | undefined;
  const listeners: ((why: string) => void)[] = [];
  const gone = new Promise<void>((done) => {
    const finish = (why: string) => {
      if (exited !== undefined) return;
      exited = why;
      // The leader is gone; whatever it started goes with it.
      signalGroup(child.pid, "SIGKILL");
      if (scratch) rmSync(scratch, { recursive: true, force: true });
      for (const l of listeners) l(why);
      done();
    };
    child.on("error", (error) => finish(`could not start "${transport.command}": ${(error as NodeJS.ErrnoException).code ?? error.message}`));
    child.on("exit", (code, signal) => finish(`exited with ${signal ?? `code ${code}`}`));
  });
  return {
    child,
    onExit: (listener) => (exited !== undefined ? listener(exited) : listeners.push(listener)),
    stop() {
      if (exited === undefined) {
        signalGroup(child.pid, "SIGTERM");
        const kill = setTimeout(() => signalGroup(child.pid, "SIGKILL"), GRACE_MS);
        kill.unref();
        void gone.then(() => clearTimeout(kill));
      }
      return gone;
    },
  };
}

function signalGroup(pid: number | undefined, signal: NodeJS.Signals): void {
  if (pid === undefined) return;
  try {
    process.kill(-pid, signal);
  } catch {
    // Already gone.
  }
}

function isInside(path: string, dir: string): boolean {
  const rel = relative(dir, path);
  return rel === "" || (!rel.startsWith("..") && !isAbsolute(rel));
}

/** The uid/gid to run the child as: only when the gateway is root, which is the only case in which it can switch. */
function runAs(transport: UpstreamTransport & { type: "stdio" }): { uid?: number; gid?: number } {
  if (transport.user === undefined && transport.group === undefined) return {};
  if (process.getuid?.() !== 0) throw new Error("user/group is set, but the gateway does not run as root and cannot switch users");
  const uid = transport.user === undefined ? undefined : numericId(transport.user, "-u");
  const gid = transport.group !== undefined ? numericGroup(transport.group) : transport.user !== undefined ? numericId(transport.user, "-g") : undefined;
  return { ...(uid !== undefined ? { uid } : {}), ...(gid !== undefined ? { gid } : {}) };
}

function numericId(user: string | number, flag: "-u" | "-g"): number {
  if (typeof user === "number") return user;
  try {
    return Number(execFileSync("id", [flag, "--", user], { encoding: "utf8" }).trim());
  } catch {
    throw new Error(`user "${user}" does not exist on this host`);
  }
}

function numericGroup(group: string | number): number {
  if (typeof group === "number") return group;
  try {
    return Number(execFileSync("getent", ["group", group], { encoding: "utf8" }).split(":")[2]);
  } catch {
    throw new Error(`group "${group}" does not exist on this host`);
  }
}
