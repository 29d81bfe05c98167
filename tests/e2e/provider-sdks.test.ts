/**
 * The plugin serves provider/native/schema.json to the real CLI (`pulumi package get-schema`, after `npm run build`).
 * The checked-in SDKs (sdks/python, sdks/go) are what `npm run sdks` generates from that file, and the Go SDK
 * compiles against the Pulumi Go SDK at the CLI's pin. Those two need Go (the generator is built from the Pulumi
 * CLI's Go module, scripts/gen-sdks.sh) and are skipped, saying so, on a machine without it.
 */
import { test } from "node:test";
import assert from "node:assert/strict";
import { execFile, execFileSync } from "node:child_process";
import { mkdtempSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { promisify } from "node:util";
import { pulumiBinDir } from "../helpers/pulumi.ts";

const run = promisify(execFile);
const ROOT = new URL("../..", import.meta.url).pathname;

function goMissing(): string | false {
  try {
    execFileSync("go", ["version"], { stdio: "ignore" });
    return false;
  } catch {
    return "needs Go >= 1.25 on PATH (scripts/gen-sdks.sh builds the SDK generator from the Pulumi CLI's Go module)";
  }
}

test("the plugin gives the CLI the checked-in schema (pulumi package get-schema)", async (t) => {
  const home = mkdtempSync(join(tmpdir(), "toolgate-pulumi-home-"));
  t.after(() => rmSync(home, { recursive: true, force: true }));
  const env = { ...process.env, PATH: `${pulumiBinDir()}:${process.env.PATH ?? ""}`, PULUMI_HOME: home, PULUMI_SKIP_UPDATE_CHECK: "1" };
  const { stdout } = await run("pulumi", ["package", "get-schema", join(ROOT, "bin/pulumi-resource-toolgate")], { cwd: ROOT, env, maxBuffer: 16 * 1024 * 1024 });
  assert.deepEqual(JSON.parse(stdout), JSON.parse(readFileSync(join(ROOT, "provider/native/schema.json"), "utf8")));
});

test("sdks/ is current (regenerate with `npm run sdks`)", { skip: goMissing() }, async () => {
  try {
    await run("bash", [join(ROOT, "scripts/gen-sdks.sh"), "--check"], { maxBuffer: 64 * 1024 * 1024 });
  } catch (error) {
    const e = error as Error & { stderr?: string };
    assert.fail(`the checked-in SDKs differ from the generated ones: run \`npm run sdks\` and commit sdks/\n${(e.stderr ?? e.message).slice(-4000)}`);
  }
});

test("`pulumi package gen-sdk --language python` writes the checked-in sdks/python", { skip: goMissing() }, async (t) => {
  const scratch = mkdtempSync(join(tmpdir(), "toolgate-gen-sdk-"));
  t.after(() => rmSync(scratch, { recursive: true, force: true }));
  const env = { ...process.env, PATH: `${pulumiBinDir()}:${process.env.PATH ?? ""}`, PULUMI_HOME: join(scratch, "home"), PULUMI_SKIP_UPDATE_CHECK: "1" };
  await run("pulumi", ["package", "gen-sdk", join(ROOT, "provider/native/schema.json"), "--language", "python", "--out", join(scratch, "out")], { cwd: ROOT, env, maxBuffer: 16 * 1024 * 1024 });
  const local = ["-x", "*.egg-info", "-x", "__pycache__", "-x", "build", "-x", "dist"];
  await run("diff", ["-r", ...local, join(scratch, "out/python"), join(ROOT, "sdks/python")]).catch((error: Error & { stdout?: string }) => assert.fail(`gen-sdk wrote something else:\n${error.stdout ?? error.message}`));
});

test("the generated Go SDK builds and vets", { skip: goMissing() }, async () => {
  const env = { ...process.env, GOFLAGS: "-mod=mod", GOTOOLCHAIN: process.env.GOTOOLCHAIN ?? "local" };
  const cwd = join(ROOT, "sdks/go/toolgate");
  await run("go", ["build", "./..."], { cwd, env, maxBuffer: 16 * 1024 * 1024 });
  await run("go", ["vet", "./..."], { cwd, env, maxBuffer: 16 * 1024 * 1024 });
  const { stdout } = await run("go", ["list", "./..."], { cwd, env });
  assert.deepEqual(stdout.trim().split("\n").sort(), [
    "github.com/toolgate/toolgate/sdks/go/toolgate",
    "github.com/toolgate/toolgate/sdks/go/toolgate/config",
    "github.com/toolgate/toolgate/sdks/go/toolgate/internal",
  ]);
});
