// Microbenchmark of decide() on large policies: median nanoseconds per call over repeated batches.
// `npm run bench:decide` (SAMPLES=<batches> CALLS=<calls per batch> to tune).
import { compilePolicy, parsePolicy, type PolicyDocumentInput } from "../sdk/index.ts";

export interface DecideResult {
  scenario: string;
  tools: number;
  medianNs: number;
  p10Ns: number;
  p90Ns: number;
  bytesPerCall: number;
}

/** A policy with `tools` tools, each with predicates and a limit, plus an all_tools limit. */
export function largePolicy(tools: number): PolicyDocumentInput {
  const doc: PolicyDocumentInput = { version: "1", default: "deny", hide: ["drop_database"], all_tools: { limits: [{ counter: "calls", window: "minute", max: 1000 }] }, tools: {} };
  for (let i = 0; i < tools; i++) {
    doc.tools![`tool_${i}`] = {
      require: [{ path: "args.reason", op: "exists" }, { path: "args.region", op: "in", value: ["eu", "us", "ap"] }],
      deny_if: [
        { path: "args.amount", op: "gt", value: 10_000 + i, on_deny: `Amount too large for tool_${i}` },
        { path: "args.path", op: "regex", value: "^/etc/" },
        { conditions: [{ path: "args.currency", op: "eq", value: "btc" }, { path: "args.amount", op: "gte", value: 1 }] },
      ],
      limits: [{ counter: `tool_${i}_rate`, window: "15m", max: 30, scope: "grant" }],
    };
  }
  return doc;
}

function measure(scenario: string, tools: number, tool: string, args: unknown, samples: number, calls: number): DecideResult {
  const policy = compilePolicy(parsePolicy(largePolicy(tools)), { name: "bench" });
  const input = { tool, args, grant: "alice", server: "payments", now: Date.now() };
  for (let i = 0; i < calls * 5; i++) policy.decide(input); // warm-up: let the JIT optimise
  const perCall: number[] = [];
  globalThis.gc?.();
  const heapBefore = process.memoryUsage().heapUsed;
  let allocated = 0;
  for (let s = 0; s < samples; s++) {
    const before = process.memoryUsage().heapUsed;
    const start = process.hrtime.bigint();
    for (let i = 0; i < calls; i++) policy.decide(input);
    const ns = Number(process.hrtime.bigint() - start);
    const after = process.memoryUsage().heapUsed;
    if (after >= before) allocated += after - before;
    perCall.push(ns / calls);
  }
  void heapBefore;
  perCall.sort((a, b) => a - b);
  const q = (f: number) => perCall[Math.min(perCall.length - 1, Math.floor(f * perCall.length))]!;
  return { scenario, tools, medianNs: q(0.5), p10Ns: q(0.1), p90Ns: q(0.9), bytesPerCall: allocated / (samples * calls) };
}

export function runDecideBench(samples = Number(process.env.SAMPLES ?? 40), calls = Number(process.env.CALLS ?? 20_000)): DecideResult[] {
  const allowed = { reason: "invoice", region: "eu", amount: 500, currency: "usd", path: "/srv/data" };
  return [
    measure("allowed call, predicates + 2 limits", 500, "tool_250", allowed, samples, calls),
    measure("allowed call, predicates + 2 limits", 50, "tool_25", allowed, samples, calls),
    measure("denied by deny_if", 500, "tool_250", { ...allowed, amount: 1e9 }, samples, calls),
    measure("allowed call, amount as a numeric string", 500, "tool_250", { ...allowed, amount: "500" }, samples, calls),
    measure("denied: case-variant argument key", 500, "tool_250", { reason: "invoice", region: "eu", AMOUNT: 500, currency: "usd", path: "/srv/data" }, samples, calls),
    measure("denied by require", 500, "tool_250", { region: "eu" }, samples, calls),
    measure("default deny (unlisted tool)", 500, "not_a_tool", {}, samples, calls),
    measure("hidden tool", 500, "drop_database", {}, samples, calls),
  ];
}

export function formatDecideTable(results: DecideResult[]): string {
  const rows = results.map((r) => `| ${r.scenario} | ${r.tools} | ${(r.medianNs / 1000).toFixed(3)} | ${(r.p10Ns / 1000).toFixed(3)}–${(r.p90Ns / 1000).toFixed(3)} | ${Math.round(r.bytesPerCall)} |`);
  return ["| decide() scenario | tools in policy | median µs/call | p10–p90 µs | ~bytes allocated/call |", "|---|---|---|---|---|", ...rows].join("\n");
}

if (import.meta.main) {
  const results = runDecideBench();
  process.stdout.write(formatDecideTable(results) + "\n");
}
