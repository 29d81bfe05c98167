#!/usr/bin/env node
// The `toolgate` command. Runs the compiled CLI (built into dist/ by `npm install` / `npm run build`).
import { existsSync } from "node:fs";
import { fileURLToPath } from "node:url";

const main = new URL("../dist/gateway/cli/main.js", import.meta.url);
if (!existsSync(fileURLToPath(main))) {
  process.stderr.write("toolgate: the CLI is not built yet; run `npm run build` (or `npm install`) first\n");
  process.exit(1);
}
const { run } = await import(main.href);
process.exitCode = await run(process.argv.slice(2));
