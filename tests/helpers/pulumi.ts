import { execFileSync, spawn } from "node:child_process";
import { cpSync, mkdirSync, mkdtempSync, rmSync } from "node:fs";
import { join } from "node:path";
import { ROOT } from "./cli.ts";

/**
 * The real Pulumi CLI, from scripts/install-pulumi.sh (a pulumi on PATH, or the cached build from Go modules),
 * with a local file backend and a passphrase: never a network backend.
 */
let binDir: string | undefined;
export function pulumiBinDir(): string {
  binDir ??= execFileSync("bash", [join(ROOT, "scripts", "install-pulumi.sh")], { encoding: "utf8", stdio: ["ignore", "pipe", "inherit"] }).trim().split("\n").at(-1)!;
  return binDir;
}

export interface PulumiResult {
  code: number;
  stdout: string;
  stderr: string;
}

export interface PulumiProject {
  dir: string;
  env: NodeJS.ProcessEnv;
  run(args: string[], options?: { env?: NodeJS.ProcessEnv }): Promise<PulumiResult>;
  /** Runs and fails the test with Pulumi's own output when the exit code is not 0. */
  ok(args: string[], options?: { env?: NodeJS.ProcessEnv }): Promise<string>;
  remove(): void;
}

/**
 * A copy of an example project in a scratch directory inside the repository (under .toolgate/, ignored by git),
 * so that `import "toolgate"` resolves to this package as it would for a user who installed it.
 */
export function copyProject(example: string): PulumiProject {
  const scratch = join(ROOT, ".toolgate", "e2e");
  mkdirSync(scratch, { recursive: true });
  const root = mkdtempSync(join(scratch, `${example.replaceAll("/", "-")}-`));
  const dir = join(root, "program");
  cpSync(join(ROOT, "examples", example), dir, { recursive: true });
  const state = join(root, "state");
  mkdirSync(state);
  return projectAt(dir, state, () => rmSync(root, { recursive: true, force: true }));
}

export function projectAt(dir: string, stateDir: string, cleanup: () => void = () => {}): PulumiProject {
  const env: NodeJS.ProcessEnv = {
    ...process.env,
    PATH: `${pulumiBinDir()}:${process.env.PATH ?? ""}`,
    PULUMI_BACKEND_URL: `file://${stateDir}`,
    PULUMI_CONFIG_PASSPHRASE: "e2e-passphrase",
    PULUMI_SKIP_UPDATE_CHECK: "1",
    PULUMI_DIY_BACKEND_NO_LEGACY_WARNING: "true",
    PULUMI_HOME: join(stateDir, ".pulumi-home"),
    TOOLGATE_ENDPOINT: "",
    TOOLGATE_TOKEN: "",
  };
  const run = (args: string[], options: { env?: NodeJS.ProcessEnv } = {}) =>
    new Promise<PulumiResult>((resolve, reject) => {
      const child = spawn("pulumi", [...args, "--non-interactive"], { cwd: dir, env: { ...env, ...options.env }, stdio: ["ignore", "pipe", "pipe"] });
      let stdout = "";
      let stderr = "";
      child.stdout.on("data", (d: Buffer) => (stdout += d.toString()));
      child.stderr.on("data", (d: Buffer) => (stderr += d.toString()));
      child.once("error", reject);
      child.once("close", (code) => resolve({ code: code ?? 1, stdout, stderr }));
    });
  return {
    dir,
    env,
    run,
    async ok(args, options) {
      const r = await run(args, options);
      if (r.code !== 0) throw new Error(`pulumi ${args.join(" ")} exited ${r.code}\n${r.stdout}\n${r.stderr}`);
      return r.stdout;
    },
    remove: cleanup,
  };
}
