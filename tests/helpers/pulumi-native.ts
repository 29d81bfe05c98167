import { existsSync, readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { ROOT } from "./cli.ts";
import { copyProject, pulumiBinDir, type PulumiProject } from "./pulumi.ts";

/** The directory holding the native provider's plugin, `pulumi-resource-toolgate` (run `npm run build` first). */
export const PLUGIN_DIR = join(ROOT, "bin");

/**
 * Points a program's `plugins.providers` entry for toolgate at this repository's plugin. The examples name it
 * relative to their place in the repository (`../../bin`), which a copy in a scratch directory is not.
 */
export function usePluginFromRepository(projectDir: string): void {
  const file = join(projectDir, "Pulumi.yaml");
  const text = readFileSync(file, "utf8");
  const pointed = text.replace(/^(\s+-\s+name:\s+toolgate\n\s+path:\s+).*$/m, `$1${PLUGIN_DIR}`);
  if (pointed === text) throw new Error(`${file} has no plugins.providers entry for toolgate`);
  writeFileSync(file, pointed);
}

/** A copy of an example that uses the native provider, as copyProject makes it, with the plugin path fixed up. */
export function copyNativeProject(example: string): PulumiProject {
  const project = copyProject(example);
  usePluginFromRepository(project.dir);
  return project;
}

/** Fails with the reason when the YAML language host is missing (scripts/install-pulumi.sh builds it with Go). */
export function requireYamlLanguageHost(): void {
  if (!existsSync(join(pulumiBinDir(), "pulumi-language-yaml"))) {
    throw new Error("pulumi-language-yaml is not in the Pulumi bin directory: scripts/install-pulumi.sh builds it from Go modules (needs Go), see its warning");
  }
}
