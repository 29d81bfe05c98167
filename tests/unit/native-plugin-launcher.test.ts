import { test } from "node:test";
import assert from "node:assert/strict";
import { spawnSync } from "node:child_process";
import { chmodSync, copyFileSync, mkdirSync, mkdtempSync, rmSync, symlinkSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { ROOT } from "../helpers/cli.ts";

/**
 * bin/pulumi-resource-toolgate, the plugin launcher Pulumi runs: it finds the package through npm's bin links and
 * refuses a Node.js older than 22 with a message, rather than failing inside the provider.
 */

function fakePackage(): { dir: string; run(launcher: string, nodeVersion: string): { status: number | null; stdout: string; stderr: string } } {
  const dir = mkdtempSync(join(tmpdir(), "toolgate-launcher-"));
  mkdirSync(join(dir, "pkg/bin"), { recursive: true });
  mkdirSync(join(dir, "pkg/dist/provider/native"), { recursive: true });
  mkdirSync(join(dir, "path"));
  copyFileSync(join(ROOT, "bin/pulumi-resource-toolgate"), join(dir, "pkg/bin/pulumi-resource-toolgate"));
  chmodSync(join(dir, "pkg/bin/pulumi-resource-toolgate"), 0o755);
  writeFileSync(join(dir, "pkg/dist/provider/native/main.js"), "");
  return {
    dir,
    run(launcher, nodeVersion) {
      // A `node` on PATH that reports `nodeVersion` and otherwise prints what it was asked to run.
      writeFileSync(join(dir, "path/node"), `#!/bin/sh\ncase "$1" in -p) echo ${nodeVersion.split(".")[0]} ;; --version) echo v${nodeVersion} ;; *) echo "ran $*" ;; esac\n`);
      chmodSync(join(dir, "path/node"), 0o755);
      const result = spawnSync(launcher, ["127.0.0.1:4242"], { env: { PATH: `${join(dir, "path")}:/usr/bin:/bin` }, encoding: "utf8" });
      return { status: result.status, stdout: result.stdout, stderr: result.stderr };
    },
  };
}

test("the launcher runs the provider with the engine's address, also through an npm bin link", () => {
  const pkg = fakePackage();
  try {
    mkdirSync(join(pkg.dir, ".bin"));
    symlinkSync(join(pkg.dir, "pkg/bin/pulumi-resource-toolgate"), join(pkg.dir, ".bin/pulumi-resource-toolgate"));
    const direct = pkg.run(join(pkg.dir, "pkg/bin/pulumi-resource-toolgate"), "24.1.0");
    assert.deepEqual([direct.status, direct.stdout.trim()], [0, `ran ${join(pkg.dir, "pkg/dist/provider/native/main.js")} 127.0.0.1:4242`]);
    const linked = pkg.run(join(pkg.dir, ".bin/pulumi-resource-toolgate"), "22.18.0");
    assert.deepEqual([linked.status, linked.stdout.trim()], [0, `ran ${join(pkg.dir, "pkg/dist/provider/native/main.js")} 127.0.0.1:4242`]);
  } finally {
    rmSync(pkg.dir, { recursive: true, force: true });
  }
});

test("the launcher refuses a Node.js older than 22, saying which one it found", () => {
  const pkg = fakePackage();
  try {
    const old = pkg.run(join(pkg.dir, "pkg/bin/pulumi-resource-toolgate"), "20.19.0");
    assert.equal(old.status, 1);
    assert.equal(old.stdout, "");
    assert.match(old.stderr, /^pulumi-resource-toolgate: Node\.js 22 or newer is needed, but .*\/path\/node is v20\.19\.0; /);
  } finally {
    rmSync(pkg.dir, { recursive: true, force: true });
  }
});
