// Regenerates provider/native/schema.json, the native provider's Pulumi package schema, from the zod schemas (`npm run schema`).
import { mkdirSync, writeFileSync } from "node:fs";
import { providerSchemaText } from "./provider-schema/package.ts";

const target = new URL("../provider/native/schema.json", import.meta.url);
mkdirSync(new URL(".", target), { recursive: true });
writeFileSync(target, providerSchemaText());
process.stdout.write(`wrote ${target.pathname.split("/").slice(-3).join("/")}\n`);
