import { execFile } from "node:child_process";
import { randomBytes } from "node:crypto";
import { accessSync, chownSync, constants, existsSync, mkdtempSync, readdirSync, readFileSync, realpathSync, rmSync } from "node:fs";
import { delimiter, join } from "node:path";
import { tmpdir } from "node:os";
import pg from "pg";
import { freePort } from "./free-port.ts";

export interface TestPostgres {
  port: number;
  /** postgres://postgres@127.0.0.1:PORT/postgres, the maintenance database (trust auth, no password). */
  url: string;
  dataDir: string;
  /** A new empty database; returns its postgres:// URL. Names must match [a-z_][a-z0-9_]*; default tg_<random hex>. */
  createDatabase(name?: string): Promise<string>;
  /** The server log so far. */
  logs(): string;
  /** `pg_ctl stop -m fast`, keeping the data dir and port for resume(). */
  pause(): Promise<void>;
  /** Starts the paused server again on the same port and data dir. */
  resume(): Promise<void>;
  /** SIGSTOP to the server and every backend: connections stay open but nothing answers (a hung host). */
  freeze(): void;
  /** SIGCONT after freeze(): everything runs again. */
  thaw(): void;
  /** Stops the server and removes the data dir. Safe to call more than once. */
  stop(): Promise<void>;
}

const BINARIES = ["initdb", "pg_ctl", "postgres"] as const;

/**
 * Starts a throwaway PostgreSQL cluster (trust auth, fsync off) on a free loopback port with a temporary data dir.
 * When running as root the cluster belongs to the `postgres` OS user, because PostgreSQL refuses to run as root.
 * Callers stop it themselves, e.g. `after(() => pg.stop())`.
 */
export async function startPostgres(): Promise<TestPostgres> {
  const bin = findBinDir();
  const asRoot = process.getuid?.() === 0;
  const owner = asRoot ? await postgresUser() : undefined;
  const dataDir = mkdtempSync(join(tmpdir(), "toolgate-pg-"));
  const logFile = join(dataDir, "log");
  const port = await freePort();
  const url = `postgres://postgres@127.0.0.1:${port}/postgres`;
  const logs = () => (existsSync(logFile) ? readFileSync(logFile, "utf8") : "");

  const run = async (cmd: string, args: string[]): Promise<void> => {
    const [file, argv] = owner ? ["runuser", ["-u", "postgres", "--", join(bin, cmd), ...args]] : [join(bin, cmd), args];
    // cwd is the data dir: the postgres user may not be able to read the caller's cwd, and initdb needs it.
    const result = await execFileResult(file, argv, dataDir);
    if (result.error) {
      throw new Error(`${cmd} ${args.join(" ")} failed: ${result.error.message}\n${result.output}\n--- server log (tail) ---\n${tail(logs())}`);
    }
  };
  const options = [
    "-c listen_addresses=127.0.0.1",
    `-p ${port}`,
    `-k ${dataDir}`,
    "-c fsync=off",
    "-c synchronous_commit=off",
    "-c full_page_writes=off",
    "-c max_connections=300",
  ].join(" ");
  const start = () => run("pg_ctl", ["start", "-w", "-t", "60", "-D", dataDir, "-l", logFile, "-o", options]);

  let running = false;
  try {
    if (owner) chownSync(dataDir, owner.uid, owner.gid);
    await run("initdb", ["-D", dataDir, "-A", "trust", "-U", "postgres", "--no-sync", "-E", "UTF8"]);
    await start();
    running = true;
  } catch (err) {
    rmSync(dataDir, { recursive: true, force: true });
    throw err;
  }

  let stopped: Promise<void> | undefined;
  return {
    port,
    url,
    dataDir,
    logs,
    async createDatabase(name?: string) {
      if (stopped) throw new Error("this PostgreSQL was stopped");
      const db = name ?? "tg_" + randomBytes(8).toString("hex");
      if (!/^[a-z_][a-z0-9_]{0,62}$/.test(db)) throw new Error(`unsafe database name ${JSON.stringify(db)}`);
      const client = new pg.Client({ connectionString: url });
      try {
        await client.connect();
        await client.query(`CREATE DATABASE "${db}"`);
      } catch (err) {
        throw new Error(`CREATE DATABASE ${db} failed: ${(err as Error).message}\n--- server log (tail) ---\n${tail(logs())}`, { cause: err });
      } finally {
        await client.end().catch(() => {});
      }
      return `postgres://postgres@127.0.0.1:${port}/${db}`;
    },
    async pause() {
      if (stopped) throw new Error("this PostgreSQL was stopped");
      if (!running) return;
      for (const pid of serverProcesses(dataDir)) signal(pid, "SIGCONT");
      await run("pg_ctl", ["stop", "-w", "-m", "fast", "-D", dataDir]);
      running = false;
    },
    async resume() {
      if (stopped) throw new Error("this PostgreSQL was stopped");
      if (running) return;
      await start();
      running = true;
    },
    freeze() {
      for (const pid of serverProcesses(dataDir)) signal(pid, "SIGSTOP");
    },
    thaw() {
      for (const pid of serverProcesses(dataDir)) signal(pid, "SIGCONT");
    },
    stop() {
      stopped ??= (async () => {
        try {
          for (const pid of serverProcesses(dataDir)) signal(pid, "SIGCONT");
          if (running) await run("pg_ctl", ["stop", "-w", "-m", "fast", "-D", dataDir]);
          running = false;
        } finally {
          rmSync(dataDir, { recursive: true, force: true });
        }
      })();
      return stopped;
    },
  };
}

/** Signals a server process; one that exited since it was listed (a backend ending) is not an error. */
function signal(pid: number, name: NodeJS.Signals): void {
  try {
    process.kill(pid, name);
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code !== "ESRCH") throw error;
  }
}

/** The postmaster (from postmaster.pid) and its children (from /proc): every process of the running server. */
function serverProcesses(dataDir: string): number[] {
  const pidFile = join(dataDir, "postmaster.pid");
  if (!existsSync(pidFile)) return [];
  const postmaster = Number(readFileSync(pidFile, "utf8").split("\n")[0]);
  const children = readdirSync("/proc")
    .filter((entry) => /^\d+$/.test(entry))
    .filter((pid) => {
      try {
        // /proc/<pid>/stat: "pid (comm) state ppid ..."; comm may hold spaces, so read after the last ")".
        const stat = readFileSync(`/proc/${pid}/stat`, "utf8");
        return Number(stat.slice(stat.lastIndexOf(")") + 2).split(" ")[1]) === postmaster;
      } catch {
        return false; // exited meanwhile
      }
    })
    .map(Number);
  return [postmaster, ...children];
}

/** The first directory holding initdb, pg_ctl and postgres: on PATH, else the newest /usr/lib/postgresql/<version>/bin. */
function findBinDir(): string {
  const isExecutable = (file: string) => {
    try {
      accessSync(file, constants.X_OK);
      return true;
    } catch {
      return false;
    }
  };
  const hasAll = (dir: string) => BINARIES.every((b) => isExecutable(join(dir, b)));
  for (const dir of (process.env.PATH ?? "").split(delimiter)) {
    if (!dir || !isExecutable(join(dir, "initdb"))) continue;
    // PATH often holds symlinks (e.g. /usr/local/bin/initdb); use the real directory so all three come from one install.
    const real = join(realpathSync(join(dir, "initdb")), "..");
    if (hasAll(real)) return real;
    if (hasAll(dir)) return dir;
  }
  const root = "/usr/lib/postgresql";
  const versions = existsSync(root) ? readdirSync(root).filter((v) => /^\d+(\.\d+)?$/.test(v)) : [];
  versions.sort((a, b) => Number(b) - Number(a));
  for (const version of versions) {
    const dir = join(root, version, "bin");
    if (hasAll(dir)) return dir;
  }
  throw new Error(
    "PostgreSQL server binaries are missing: initdb, pg_ctl and postgres were found neither on PATH nor in /usr/lib/postgresql/*/bin. " +
      ".ci/run installs the Debian `postgresql` package (apt-get install postgresql).",
  );
}

async function postgresUser(): Promise<{ uid: number; gid: number }> {
  const id = async (flag: string) => {
    const result = await execFileResult("id", [flag, "postgres"]);
    const value = Number(result.output.trim());
    if (result.error || !Number.isInteger(value)) {
      throw new Error(`running as root, but there is no \`postgres\` OS user to run PostgreSQL as (id ${flag} postgres: ${result.output.trim()})`);
    }
    return value;
  };
  return { uid: await id("-u"), gid: await id("-g") };
}

function execFileResult(file: string, args: string[], cwd?: string): Promise<{ error: Error | null; output: string }> {
  return new Promise((resolve) => {
    execFile(file, args, { cwd, timeout: 120_000 }, (error, stdout, stderr) => resolve({ error, output: `${stdout}${stderr}` }));
  });
}

function tail(text: string, lines = 30): string {
  return text.trimEnd().split("\n").slice(-lines).join("\n");
}
