// `npm run bench:era`: MCP 2026-07-28 beside 2025 (issue 17). The same `echo` of the dual-era fixture
// (tests/fixtures/mcp2026/http-server.ts, in its own process) in a closed loop at c=1 and c=16, in both eras, directly
// and through the gateway: 2025 as sessions (initialize, Mcp-Session-Id), 2026 as stateless POSTs with the `_meta`
// envelope and the MCP-Protocol-Version, Mcp-Method, Mcp-Name and Mcp-Param-Region headers (which the gateway checks
// against the body and recomputes). Prints the markdown table of bench/lib/measure.ts.
// Tuning: DURATION_MS (per repetition, default 3000), WARMUP_MS (1000), REPS (3).
import { join } from "node:path";
import { ROOT } from "../tests/helpers/cli.ts";
import { startGateway } from "../tests/helpers/gateway.ts";
import { ModernClient, openSessions, runLoad, type LoadResult, type LoadSession, type Target } from "./lib/load.ts";
import { DURATION_MS, loadTable, REPS, WARMUP_MS, type Row } from "./lib/measure.ts";
import { startProcess } from "./lib/processes.ts";

const CONCURRENCY = [1, 16];
/** `region` is the fixture's `x-mcp-header: Region` argument, so 2026 calls carry Mcp-Param-Region. */
const ARGS = { text: "hello from the benchmark", region: "eu" };
const ERAS = { "2025": "echo, 2025-06-18 sessions", "2026": "echo, 2026-07-28 stateless" } as const;
type Era = keyof typeof ERAS;

async function clients(era: Era, target: Target, count: number): Promise<LoadSession[]> {
  if (era === "2025") return openSessions(target, count);
  return Array.from({ length: count }, () => new ModernClient(target, { region: "Region" }));
}

/** One load point: REPS closed-loop runs on the same clients; each figure is the median over runs. */
async function point(era: Era, path: string, target: Target, concurrency: number): Promise<Row> {
  const sessions = await clients(era, target, concurrency);
  const runs: LoadResult[] = [];
  try {
    for (let i = 0; i < REPS; i++) runs.push(await runLoad({ sessions, tool: "echo", args: ARGS, warmupMs: WARMUP_MS, durationMs: DURATION_MS }));
  } finally {
    await Promise.all(sessions.map((s) => s.close()));
  }
  const median = (f: (r: LoadResult) => number) => runs.map(f).sort((a, b) => a - b)[Math.floor(runs.length / 2)]!;
  const range = (f: (r: LoadResult) => number): [number, number] => [Math.min(...runs.map(f)), Math.max(...runs.map(f))];
  const firstError = runs.find((r) => r.firstError)?.firstError;
  const result: LoadResult = {
    calls: median((r) => r.calls),
    errors: runs.reduce((n, r) => n + r.errors, 0),
    seconds: DURATION_MS / 1000,
    callsPerSec: median((r) => r.callsPerSec),
    p50Ms: median((r) => r.p50Ms),
    p99Ms: median((r) => r.p99Ms),
    p999Ms: median((r) => r.p999Ms),
    ...(firstError ? { firstError } : {}),
  };
  process.stderr.write(`  ${ERAS[era]} | ${path} | c=${concurrency} | p50 ${result.p50Ms.toFixed(3)} ms | p99 ${result.p99Ms.toFixed(3)} ms | ${result.callsPerSec.toFixed(0)}/s | errors ${result.errors}\n`);
  return { scenario: ERAS[era], target: path, concurrency, rate: null, result, spread: { p50Ms: range((r) => r.p50Ms), callsPerSec: range((r) => r.callsPerSec) } };
}

const fixture = await startProcess(process.execPath, [join(ROOT, "tests", "fixtures", "mcp2026", "http-server.ts"), "--listen", "127.0.0.1:0"], /listening (\S+)\n/);
const gw = await startGateway();
try {
  const url = fixture.match[1]!;
  await gw.admin.put("servers", "fixture", { transport: { type: "streamable-http", url } });
  await gw.admin.put("policies", "allow-all", { document: { version: "1", default: "allow" } });
  const token = (await gw.admin.put<{ token: string }>("grants", "bench", { server: "fixture", policy: "allow-all" })).value.token;
  const paths: [string, Target][] = [
    ["direct", { url }],
    ["toolgate allow-all", { url: `${gw.proxyUrl}/mcp/fixture`, token }],
  ];
  const rows: Row[] = [];
  for (const era of Object.keys(ERAS) as Era[]) {
    for (const concurrency of CONCURRENCY) for (const [path, target] of paths) rows.push(await point(era, path, target, concurrency));
  }
  process.stdout.write(`${loadTable(rows)}\n`);
} finally {
  await gw.stop();
  fixture.child.kill();
}
