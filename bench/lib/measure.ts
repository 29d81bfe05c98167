// Measuring one load point: sessions, repetitions, medians; and the markdown table of load points.
import { openSessions, runLoad, type LoadResult, type McpSession, type Target } from "./load.ts";

export const DURATION_MS = Number(process.env.DURATION_MS ?? 3000);
export const WARMUP_MS = Number(process.env.WARMUP_MS ?? 1000);
export const REPS = Number(process.env.REPS ?? 3);
export const ECHO_ARGS = { message: "hello from the benchmark" };

export interface Row {
  scenario: string;
  target: string;
  concurrency: number | null;
  rate: number | null;
  /** Median over repetitions of each figure; `spread` is the min–max of p50 and of calls/s over repetitions. */
  result: LoadResult;
  spread: { p50Ms: [number, number]; callsPerSec: [number, number] };
}

export async function measure(scenario: string, target: string, to: Target | Target[], options: { concurrency?: number; rate?: number; tool?: string; args?: Record<string, unknown> }): Promise<Row> {
  const targets = Array.isArray(to) ? to : [to];
  const count = options.concurrency ?? 16;
  // Sessions spread over the targets in turn (several replicas: what a round-robin balancer would do, at no cost).
  const sessions: McpSession[] = (await Promise.all(targets.map((t, i) => openSessions(t, Math.floor(count / targets.length) + (i < count % targets.length ? 1 : 0))))).flat();
  const runs: LoadResult[] = [];
  try {
    for (let i = 0; i < REPS; i++) {
      runs.push(await runLoad({ sessions, tool: options.tool ?? "echo", args: options.args ?? ECHO_ARGS, warmupMs: WARMUP_MS, durationMs: DURATION_MS, rate: options.rate }));
    }
  } finally {
    await Promise.all(sessions.map((s) => s.close()));
  }
  const median = (f: (r: LoadResult) => number) => [...runs].map(f).sort((a, b) => a - b)[Math.floor(runs.length / 2)]!;
  const range = (f: (r: LoadResult) => number): [number, number] => [Math.min(...runs.map(f)), Math.max(...runs.map(f))];
  const result: LoadResult = {
    calls: median((r) => r.calls),
    errors: runs.reduce((n, r) => n + r.errors, 0),
    seconds: runs[0]!.seconds,
    callsPerSec: median((r) => r.callsPerSec),
    p50Ms: median((r) => r.p50Ms),
    p99Ms: median((r) => r.p99Ms),
    p999Ms: median((r) => r.p999Ms),
    ...(runs.find((r) => r.firstError) ? { firstError: runs.find((r) => r.firstError)!.firstError } : {}),
  };
  const row: Row = { scenario, target, concurrency: options.rate ? null : (options.concurrency ?? 16), rate: options.rate ?? null, result, spread: { p50Ms: range((r) => r.p50Ms), callsPerSec: range((r) => r.callsPerSec) } };
  process.stderr.write(`  ${scenario} | ${target} | ${row.concurrency ?? `${row.rate}/s`} | p50 ${result.p50Ms.toFixed(3)} ms | p99 ${result.p99Ms.toFixed(3)} ms | ${result.callsPerSec.toFixed(0)}/s | errors ${result.errors}\n`);
  return row;
}

export function fmt(n: number, digits = 3): string {
  return Number.isFinite(n) ? n.toFixed(digits) : "–";
}

export function loadTable(rows: Row[]): string {
  const direct = (r: Row) => rows.find((d) => d.scenario === r.scenario && d.target === "direct" && d.concurrency === r.concurrency && d.rate === r.rate);
  const lines = ["| scenario | path | load | p50 ms | p99 ms | p99.9 ms | calls/s | added p50 ms | added p99 ms | throughput vs direct | errors |", "|---|---|---|---|---|---|---|---|---|---|---|"];
  for (const r of rows) {
    const d = direct(r);
    const isDirect = r.target === "direct";
    lines.push(
      `| ${r.scenario} | ${r.target} | ${r.concurrency !== null ? `c=${r.concurrency}` : `${r.rate}/s offered`} | ${fmt(r.result.p50Ms)} | ${fmt(r.result.p99Ms)} | ${fmt(r.result.p999Ms)} | ${fmt(r.result.callsPerSec, 0)} | ${!isDirect && d ? fmt(r.result.p50Ms - d.result.p50Ms) : ""} | ${!isDirect && d ? fmt(r.result.p99Ms - d.result.p99Ms) : ""} | ${!isDirect && d && r.concurrency !== null ? `${((100 * r.result.callsPerSec) / d.result.callsPerSec).toFixed(0)}%` : ""} | ${r.result.errors}${r.result.firstError ? ` (${r.result.firstError.slice(0, 60)})` : ""} |`,
    );
  }
  return lines.join("\n");
}

