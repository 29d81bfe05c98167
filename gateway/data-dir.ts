import { randomBytes } from "node:crypto";
import { chmodSync, lstatSync, mkdirSync, readdirSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import type { Logger } from "pino";
import { ToolgateError } from "../sdk/index.ts";

/**
 * The gateway's data directory: the SQLite database, the lock that keeps a second gateway out, and
 * generated secrets (admin token, encryption key). Created with mode 0700, or made private if it existed.
 */
export function prepareDataDir(dir: string, log: Pick<Logger, "warn">): void {
  mkdirSync(dir, { recursive: true, mode: 0o700 });
  secureDataDir(dir, log);
}

/**
 * Makes the data directory 0700 and every file in it 0600, however they were created (an older version, a copied
 * backup, a umask of 022). What cannot be changed (e.g. files of another user) is logged as a warning, not fatal.
 * Symbolic links and subdirectories are left alone: chmod would follow a link out of the directory.
 */
export function secureDataDir(dir: string, log: Pick<Logger, "warn">): void {
  const failed: string[] = [];
  const tighten = (path: string, mode: number) => {
    try {
      if ((lstatSync(path).mode & 0o777) !== mode) chmodSync(path, mode);
    } catch (error) {
      failed.push(`${path} (${(error as NodeJS.ErrnoException).code ?? (error as Error).message})`);
    }
  };
  tighten(dir, 0o700);
  for (const entry of readdirSync(dir, { withFileTypes: true })) if (entry.isFile()) tighten(join(dir, entry.name), 0o600);
  if (failed.length) log.warn({ paths: failed }, "could not make the data directory private (0700, files 0600): other users of this machine may read it");
}

/** Takes the data-dir lock, or fails naming the process that holds it. A lock left by a dead process is taken over. */
export function lockDataDir(dir: string): () => void {
  const path = join(dir, "gateway.lock");
  for (let attempt = 0; attempt < 2; attempt++) {
    try {
      writeFileSync(path, String(process.pid), { flag: "wx", mode: 0o600 });
      return () => rmSync(path, { force: true });
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code !== "EEXIST") throw error;
      const pid = Number(readFileSync(path, "utf8").trim());
      // Our own pid in the file is a lock left by an earlier life of this container or host (pids are reused).
      if (Number.isInteger(pid) && pid > 0 && pid !== process.pid && isAlive(pid)) {
        throw new ToolgateError("config", `the data directory ${dir} is in use by another gateway (pid ${pid}); stop it or use another --data-dir`);
      }
      rmSync(path, { force: true });
    }
  }
  throw new ToolgateError("config", `could not lock the data directory ${dir}`);
}

function isAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (error) {
    return (error as NodeJS.ErrnoException).code === "EPERM";
  }
}

/** Reads a secret file, or creates it with `generate()` (mode 0600). `created` says whether it is new. */
export function secretFile(dir: string, name: string, generate: () => string): { value: string; created: boolean } {
  const path = join(dir, name);
  try {
    const value = readFileSync(path, "utf8").trim();
    if (value === "") throw new ToolgateError("config", `${path} is empty: restore it from a backup, or delete it to have a new one generated`);
    return { value, created: false };
  } catch (error) {
    if (error instanceof ToolgateError) throw error;
    if ((error as NodeJS.ErrnoException).code !== "ENOENT") throw error;
  }
  const value = generate();
  writeFileSync(path, value + "\n", { mode: 0o600, flag: "wx" });
  chmodSync(path, 0o600);
  return { value, created: true };
}

export const generateAdminToken = () => "tga_" + randomBytes(32).toString("base64url");
export const generateSecretKey = () => randomBytes(32).toString("base64");
