import { randomBytes } from "node:crypto";
import { mkdirSync, readFileSync, rmSync, writeFileSync, chmodSync } from "node:fs";
import { join } from "node:path";
import { ToolgateError } from "../sdk/index.ts";

/**
 * The gateway's data directory: the SQLite database, the lock that keeps a second gateway out, and
 * generated secrets (admin token, encryption key) in files of mode 0600.
 */
export function prepareDataDir(dir: string): void {
  mkdirSync(dir, { recursive: true, mode: 0o700 });
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
    return { value: readFileSync(path, "utf8").trim(), created: false };
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code !== "ENOENT") throw error;
  }
  const value = generate();
  writeFileSync(path, value + "\n", { mode: 0o600, flag: "wx" });
  chmodSync(path, 0o600);
  return { value, created: true };
}

export const generateAdminToken = () => "tga_" + randomBytes(32).toString("base64url");
export const generateSecretKey = () => randomBytes(32).toString("base64");
