// Regenerates sdk/schema/policy.schema.json from the zod schema (`npm run schema`).
import { writeFileSync } from "node:fs";
import { policyJsonSchemaText } from "../sdk/policy/json-schema.ts";

const target = new URL("../sdk/schema/policy.schema.json", import.meta.url);
writeFileSync(target, policyJsonSchemaText());
process.stdout.write(`wrote ${target.pathname.split("/").slice(-3).join("/")}\n`);
