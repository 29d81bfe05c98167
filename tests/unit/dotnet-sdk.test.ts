/**
 * sdks/dotnet is generated outside `npm run sdks` (its generator lives in the .NET language host, see
 * docs/development.md), so it cannot be regenerated and compared like sdks/python and sdks/go. It records the
 * SHA-256 of the schema.json it was generated from; these tests fail when the schema moved on without it, and when
 * that record was bumped by hand without regenerating (a resource or type of the schema missing from the C#).
 */
import { test } from "node:test";
import assert from "node:assert/strict";
import { createHash } from "node:crypto";
import { existsSync, readFileSync } from "node:fs";

const ROOT = new URL("../../", import.meta.url);
const read = (path: string) => readFileSync(new URL(path, ROOT), "utf8");
const REGENERATE =
  "regenerate it with `pulumi package gen-sdk provider/native/schema.json --language dotnet` (docs/development.md, " +
  "'The native provider's schema and SDKs'), copy the output's dotnet/ into sdks/dotnet and write the schema's sha256sum into sdks/dotnet/.schema-sha256";

const schemaText = read("provider/native/schema.json");
const schema = JSON.parse(schemaText) as { version: string; resources: Record<string, unknown>; types: Record<string, unknown> };

test("sdks/dotnet was generated from the current provider/native/schema.json", () => {
  const current = createHash("sha256").update(schemaText).digest("hex");
  const recorded = read("sdks/dotnet/.schema-sha256").trim();
  assert.equal(recorded, current, `provider/native/schema.json changed since sdks/dotnet was generated: ${REGENERATE}`);
});

test("sdks/dotnet has a class for every resource and output type of the schema, at the schema's version", () => {
  for (const token of Object.keys(schema.resources)) {
    const name = token.split(":").pop()!;
    const file = `sdks/dotnet/${name}.cs`;
    assert.ok(existsSync(new URL(file, ROOT)), `${file} is missing for ${token}: ${REGENERATE}`);
    assert.match(read(file), new RegExp(`\\[ToolgateResourceType\\("${token}"\\)\\]`), `${file} does not declare ${token}: ${REGENERATE}`);
  }
  for (const token of Object.keys(schema.types)) {
    const file = `sdks/dotnet/Outputs/${token.split(":").pop()!}.cs`;
    assert.ok(existsSync(new URL(file, ROOT)), `${file} is missing for ${token}: ${REGENERATE}`);
  }
  assert.equal(read("sdks/dotnet/version.txt").trim(), schema.version, `sdks/dotnet/version.txt is not the schema's version: ${REGENERATE}`);
  assert.match(read("sdks/dotnet/pulumi-plugin.json"), new RegExp(`"version": "${schema.version.replaceAll(".", "\\.")}"`));
});
