// `pulumi up` of 300 resources (100 servers, 100 policies, 100 grants) against the embedded gateway, then a
// no-op `pulumi preview` and a no-op `pulumi preview --refresh` of the same stack, with the real Pulumi CLI.
// `npm run bench:pulumi` (COUNT=<objects per kind>). Targets on a 2-core machine: up <= 60 s, no-op preview <= 15 s.
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { performance } from "node:perf_hooks";
import { startGateway } from "../tests/helpers/gateway.ts";
import { projectAt } from "../tests/helpers/pulumi.ts";
import { ROOT } from "../tests/helpers/cli.ts";

export interface PulumiScaleResult {
  count: number;
  results: { label: string; seconds: number; summary: string }[];
}

const program = (count: number) => `import { Grant, McpServer, Policy } from "toolgate";
const count = ${count};
for (let i = 0; i < count; i++) {
  const server = new McpServer(\`server-\${i}\`, { transport: { type: "streamable-http", url: \`https://mcp-\${i}.example.com/mcp\`, headers: { Authorization: \`Bearer key-\${i}\` } } });
  const policy = new Policy(\`policy-\${i}\`, { document: { version: "1", default: "deny", tools: { search: {}, fetch: { deny_if: [{ path: "args.url", op: "regex", value: "^http://" }] } }, all_tools: { limits: [{ counter: "calls", window: "minute", max: 60 + i }] } } });
  new Grant(\`grant-\${i}\`, { server, policy });
}
`;

/** Creates, previews, refreshes and destroys `count` servers, policies and grants with the real Pulumi CLI. */
export async function runPulumiScale(count: number): Promise<PulumiScaleResult> {
  const scratch = join(ROOT, ".toolgate", "bench");
  mkdirSync(scratch, { recursive: true });
  const root = mkdtempSync(join(scratch, "pulumi-scale-"));
  const dir = join(root, "program");
  mkdirSync(dir);
  mkdirSync(join(root, "state"));
  writeFileSync(join(dir, "Pulumi.yaml"), "name: toolgate-scale\nmain: index.ts\nruntime:\n  name: nodejs\n  options:\n    typescript: false\n");
  writeFileSync(join(dir, "index.ts"), program(count));
  const gw = await startGateway();
  const project = projectAt(dir, join(root, "state"), () => rmSync(root, { recursive: true, force: true }));
  const env = { TOOLGATE_ENDPOINT: gw.adminUrl, TOOLGATE_TOKEN: gw.adminToken };
  try {
    await project.ok(["stack", "init", "bench"], { env });
    const timed = async (label: string, args: string[]) => {
      const start = performance.now();
      const out = await project.ok(args, { env });
      const seconds = (performance.now() - start) / 1000;
      const summary = /Resources:\n([\s\S]*?)\n\n/.exec(out)?.[1]?.replace(/\s+/g, " ").trim() ?? "";
      return { label, seconds, summary };
    };
    const results = [
      await timed(`pulumi up (${count * 3} resources, create)`, ["up", "--yes", "--skip-preview", "--stack", "bench"]),
      await timed("pulumi preview (no changes)", ["preview", "--stack", "bench"]),
      await timed("pulumi preview --refresh (no changes)", ["preview", "--refresh", "--stack", "bench"]),
      await timed("pulumi up (no changes)", ["up", "--yes", "--skip-preview", "--stack", "bench"]),
      await timed(`pulumi destroy (${count * 3} resources)`, ["destroy", "--yes", "--skip-preview", "--stack", "bench"]),
    ];
    return { count, results };
  } finally {
    await gw.stop();
    project.remove();
  }
}

if (import.meta.main) {
  const { results } = await runPulumiScale(Number(process.env.COUNT ?? 100));
  process.stdout.write("| operation | seconds | resources |\n|---|---|---|\n");
  for (const r of results) process.stdout.write(`| ${r.label} | ${r.seconds.toFixed(1)} | ${r.summary} |\n`);
}
