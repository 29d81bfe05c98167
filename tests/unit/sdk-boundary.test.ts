import { test } from "node:test";
import assert from "node:assert/strict";
import { readdirSync, readFileSync } from "node:fs";
import { join, relative, resolve } from "node:path";

const ROOT = resolve(import.meta.dirname, "../..");

function sources(dir: string): string[] {
  return readdirSync(join(ROOT, dir), { recursive: true, encoding: "utf8" })
    .filter((f) => f.endsWith(".ts"))
    .map((f) => join(ROOT, dir, f));
}

function imports(file: string): string[] {
  const text = readFileSync(file, "utf8");
  return [...text.matchAll(/(?:from|import)\s*\(?\s*["']([^"']+)["']/g)].map((m) => m[1]!);
}

test("sdk/ imports nothing of ours outside sdk/ (DESIGN.md section 1)", () => {
  const files = sources("sdk");
  assert.ok(files.length > 5, "found the sdk sources");
  const offenders = files.flatMap((f) =>
    imports(f).filter((s) => s.startsWith(".") && !resolve(f, "..", s).startsWith(join(ROOT, "sdk"))).map((s) => `${relative(ROOT, f)} → ${s}`),
  );
  assert.deepEqual(offenders, []);
});

test("gateway/ never imports provider/ and provider/ never imports gateway/", () => {
  const crossing = (from: string, to: string) =>
    sources(from).flatMap((f) => imports(f).filter((s) => s.startsWith(".") && resolve(f, "..", s).startsWith(join(ROOT, to))).map((s) => `${relative(ROOT, f)} → ${s}`));
  assert.deepEqual(crossing("gateway", "provider"), []);
  assert.deepEqual(crossing("provider", "gateway"), []);
});
