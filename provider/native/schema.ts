import { existsSync, readFileSync } from "node:fs";
import { fileURLToPath } from "node:url";

/**
 * The Pulumi package schema the plugin serves from GetSchema: `provider/native/schema.json`, generated from the
 * zod schemas by `npm run schema`. Found beside this module when run from the sources, and in the package's
 * `provider/native/` when run from `dist/`.
 */
const CANDIDATES = [new URL("./schema.json", import.meta.url), new URL("../../../provider/native/schema.json", import.meta.url)];

let cached: string | undefined;

export function schemaText(): string {
  if (cached !== undefined) return cached;
  const found = CANDIDATES.map((u) => fileURLToPath(u)).find((path) => existsSync(path));
  if (!found) throw new Error("toolgate: the provider schema (provider/native/schema.json) is missing from the package; run `npm run schema`");
  return (cached = readFileSync(found, "utf8"));
}
