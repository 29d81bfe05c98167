import { execFile } from "node:child_process";
import { resolve } from "node:path";

export const ROOT = resolve(import.meta.dirname, "../..");
export const BIN = resolve(ROOT, "bin/toolgate.js");

export interface CliResult {
  code: number;
  stdout: string;
  stderr: string;
}

/** Runs the built `toolgate` binary (run `npm run build` first; `npm test` does). */
export function toolgate(args: string[], options: { cwd?: string; env?: NodeJS.ProcessEnv } = {}): Promise<CliResult> {
  return new Promise((done) => {
    execFile(process.execPath, [BIN, ...args], { cwd: options.cwd ?? ROOT, env: { ...process.env, ...options.env } }, (error, stdout, stderr) => {
      const code = error ? (typeof error.code === "number" ? error.code : 1) : 0;
      done({ code, stdout, stderr });
    });
  });
}
