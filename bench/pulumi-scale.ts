// `pulumi up` of 300 resources (100 servers, 100 policies, 100 grants) against the embedded gateway, then a
// no-op `pulumi preview` and a no-op `pulumi preview --refresh` of the same stack, with the real Pulumi CLI: once
// with the dynamic resources (`toolgate`) and once with the native provider (`toolgate/native`, the
// pulumi-resource-toolgate plugin), one after the other on the same gateway. `npm run bench:pulumi`
// (COUNT=<objects per kind>, PROVIDERS=dynamic,native). Targets on a 2-core machine: up <= 60 s, no-op preview <= 15 s.
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { performance } from "node:perf_hooks";
import { startGateway, type TestGateway } from "../tests/helpers/gateway.ts";
import { projectAt } from "../tests/helpers/pulumi.ts";
import { ROOT } from "../tests/helpers/cli.ts";
import { PLUGIN_DIR } from "../tests/helpers/pulumi-native.ts";

export type PulumiProviderKind = "dynamic" | "native";

export interface PulumiScaleResult {
  count: number;
  results: { provider: PulumiProviderKind; label: string; seconds: number; summary: string }[];
}

// The same program either way; only the module differs.
const program = (count: number, provider: PulumiProviderKind) => `import { Grant, McpServer, Policy } from "${provider === "native" ? "toolgate/native" : "toolgate"}";
const count = ${count};
for (let i = 0; i < count; i++) {
  const server = new McpServer(\`server-\${i}\`, { transport: { type: "streamable-http", url: \`https://mcp-\${i}.example.com/mcp\`, headers: { Authorization: \`Bearer key-\${i}\` } } });
  const policy = new Policy(\`policy-\${i}\`, { document: { version: "1", default: "deny", tools: { search: {}, fetch: { deny_if: [{ path: "args.url", op: "regex", value: "^http://" }] } }, all_tools: { limits: [{ counter: "calls", window: "minute", max: 60 + i }] } } });
  new Grant(\`grant-\${i}\`, { server, policy });
}
`;

const projectFile = (provider: PulumiProviderKind) =>
  `name: toolgate-scale-${provider}\nmain: index.ts\nruntime:\n  name: nodejs\n  options:\n    typescript: false\n` +
  (provider === "native" ? `plugins:\n  providers:\n    - name: toolgate\n      path: ${PLUGIN_DIR}\n` : "");

/**
 * Creates, previews, refreshes and destroys `count` servers, policies and grants with the real Pulumi CLI, for
 * each provider in turn (each stack ends destroyed, so the next starts from an empty gateway).
 */
export async function runPulumiScale(count: number, providers: readonly PulumiProviderKind[] = ["dynamic", "native"]): Promise<PulumiScaleResult> {
  const gw = await startGateway();
  try {
    const results: PulumiScaleResult["results"] = [];
    for (const provider of providers) results.push(...(await runOne(count, provider, gw)));
    return { count, results };
  } finally {
    await gw.stop();
  }
}

async function runOne(count: number, provider: PulumiProviderKind, gw: TestGateway): Promise<PulumiScaleResult["results"]> {
  const scratch = join(ROOT, ".toolgate", "bench");
  mkdirSync(scratch, { recursive: true });
  const root = mkdtempSync(join(scratch, `pulumi-scale-${provider}-`));
  const dir = join(root, "program");
  mkdirSync(dir);
  mkdirSync(join(root, "state"));
  writeFileSync(join(dir, "Pulumi.yaml"), projectFile(provider));
  writeFileSync(join(dir, "index.ts"), program(count, provider));
  const project = projectAt(dir, join(root, "state"), () => rmSync(root, { recursive: true, force: true }));
  // The default provider of either kind reads these when the stack config has no endpoint or token.
  const env = { TOOLGATE_ENDPOINT: gw.adminUrl, TOOLGATE_TOKEN: gw.adminToken };
  try {
    await project.ok(["stack", "init", "bench"], { env });
    const timed = async (label: string, args: string[]) => {
      const start = performance.now();
      const out = await project.ok(args, { env });
      const seconds = (performance.now() - start) / 1000;
      const summary = /Resources:\n([\s\S]*?)\n\n/.exec(out)?.[1]?.replace(/\s+/g, " ").trim() ?? "";
      return { provider, label, seconds, summary };
    };
    return [
      await timed(`pulumi up (${count * 3} resources, create)`, ["up", "--yes", "--skip-preview", "--stack", "bench"]),
      await timed("pulumi preview (no changes)", ["preview", "--stack", "bench"]),
      await timed("pulumi preview --refresh (no changes)", ["preview", "--refresh", "--stack", "bench"]),
      await timed("pulumi up (no changes)", ["up", "--yes", "--skip-preview", "--stack", "bench"]),
      await timed(`pulumi destroy (${count * 3} resources)`, ["destroy", "--yes", "--skip-preview", "--stack", "bench"]),
    ];
  } finally {
    project.remove();
  }
}

if (import.meta.main) {
  const providers = (process.env.PROVIDERS ?? "dynamic,native").split(",") as PulumiProviderKind[];
  const { results } = await runPulumiScale(Number(process.env.COUNT ?? 100), providers);
  process.stdout.write(pulumiScaleTable(results) + "\n");
}

/** The results as a Markdown table, the providers side by side, with native/dynamic ratios when both ran. */
export function pulumiScaleTable(results: PulumiScaleResult["results"]): string {
  const labels = [...new Set(results.map((r) => r.label))];
  const providers = [...new Set(results.map((r) => r.provider))];
  const both = providers.includes("dynamic") && providers.includes("native");
  const header = ["operation", ...providers.flatMap((p) => [`${p} s`, `${p} resources`]), ...(both ? ["native / dynamic"] : [])];
  const rows = labels.map((label) => {
    const of = (p: PulumiProviderKind) => results.find((r) => r.label === label && r.provider === p);
    const cells = providers.flatMap((p) => [of(p)?.seconds.toFixed(1) ?? "", of(p)?.summary ?? ""]);
    const ratio = both && of("dynamic") && of("native") ? `${(of("native")!.seconds / of("dynamic")!.seconds).toFixed(2)}x` : "";
    return [label, ...cells, ...(both ? [ratio] : [])];
  });
  return [header, header.map(() => "---"), ...rows].map((cells) => `| ${cells.join(" | ")} |`).join("\n");
}
