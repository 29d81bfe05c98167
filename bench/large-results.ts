// `npm run bench:large` (and a section of `npm run bench`): large tool results (5 MB and 20 MB of multi-byte text)
// direct and through the gateway, over Streamable HTTP (SSE and JSON answers) and stdio; and the p50 of `ping`
// through the gateway while a 20 MB result is being relayed on another session (issue 15: relay cost must be
// linear and must not stall other calls). LARGE_REPS=<calls per point> (default 5).
import { join } from "node:path";
import { performance } from "node:perf_hooks";
import { ROOT } from "../tests/helpers/cli.ts";
import { startGateway } from "../tests/helpers/gateway.ts";
import { mcpHeaders, openSession } from "../tests/fixtures/raw-mcp.ts";
import { startProcess } from "./lib/processes.ts";

const FIXTURE = join(ROOT, "tests", "fixtures", "large-server.ts");
const SIZES = [5_000_000, 20_000_000];
const REPS = Number(process.env.LARGE_REPS ?? 5);

export interface LargeRow {
  upstream: string;
  path: "direct" | "toolgate";
  bytes: number;
  medianMs: number;
  /** Every answer had the full text with no U+FFFD. */
  intact: boolean;
}

export interface LargeResults {
  rows: LargeRow[];
  ping: { idleP50Ms: number; duringTransferP50Ms: number; pings: number };
}

interface Target {
  url: string;
  token: string;
  session?: string;
}

async function session(target: Target): Promise<Target> {
  return { ...target, session: await openSession(target.url, target.token) };
}

/** One tools/call of `text`; the time until the whole answer arrived, and whether the text came through intact. */
async function fetchText(target: Target, bytes: number): Promise<{ ms: number; intact: boolean }> {
  const start = performance.now();
  const res = await fetch(target.url, { method: "POST", headers: mcpHeaders(target.token, target.session), body: JSON.stringify({ jsonrpc: "2.0", id: 1, method: "tools/call", params: { name: "text", arguments: { bytes } } }) });
  const body = await res.text();
  const ms = performance.now() - start;
  return { ms, intact: res.status === 200 && !body.includes("\uFFFD") && Buffer.byteLength(body) > bytes };
}

async function ping(target: Target): Promise<number> {
  const start = performance.now();
  const res = await fetch(target.url, { method: "POST", headers: mcpHeaders(target.token, target.session), body: JSON.stringify({ jsonrpc: "2.0", id: 2, method: "ping" }) });
  await res.arrayBuffer();
  return performance.now() - start;
}

const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)] ?? NaN;

async function point(upstream: string, path: LargeRow["path"], target: Target, bytes: number): Promise<LargeRow> {
  await fetchText(target, 100_000); // warm-up
  const runs: { ms: number; intact: boolean }[] = [];
  for (let i = 0; i < REPS; i++) runs.push(await fetchText(target, bytes));
  return { upstream, path, bytes, medianMs: median(runs.map((r) => r.ms)), intact: runs.every((r) => r.intact) };
}

export async function runLargeResultsBench(): Promise<LargeResults> {
  const sse = await startProcess(process.execPath, [FIXTURE, "http"], /\{"url":"([^"]+)"\}/);
  const json = await startProcess(process.execPath, [FIXTURE, "http", "--json"], /\{"url":"([^"]+)"\}/);
  const gw = await startGateway();
  try {
    await gw.admin.put("policies", "allow-all", { document: { version: "1", default: "allow" } });
    const upstreams = [
      { name: "HTTP, SSE answers", server: "large-sse", transport: { type: "streamable-http", url: sse.match[1]! }, direct: sse.match[1]! },
      { name: "HTTP, JSON answers", server: "large-json", transport: { type: "streamable-http", url: json.match[1]! }, direct: json.match[1]! },
      { name: "stdio", server: "large-stdio", transport: { type: "stdio", command: process.execPath, args: [FIXTURE, "stdio"] }, direct: undefined },
    ];
    const rows: LargeRow[] = [];
    const gateways = new Map<string, Target>();
    for (const u of upstreams) {
      await gw.admin.put("servers", u.server, { transport: u.transport, timeoutMs: 120_000 });
      const token = (await gw.admin.put<{ token: string }>("grants", u.server, { server: u.server, policy: "allow-all" })).value.token;
      const viaGateway = await session({ url: `${gw.proxyUrl}/mcp/${u.server}`, token });
      gateways.set(u.server, viaGateway);
      const direct = u.direct ? await session({ url: u.direct, token: "direct" }) : undefined;
      for (const bytes of SIZES) {
        process.stderr.write(`  ${u.name}, ${bytes / 1e6} MB\n`);
        if (direct) rows.push(await point(u.name, "direct", direct, bytes));
        rows.push(await point(u.name, "toolgate", viaGateway, bytes));
      }
    }

    process.stderr.write("  ping p50, idle and during a 20 MB transfer\n");
    const pinger = await session(gateways.get("large-sse")!);
    const idle: number[] = [];
    for (let i = 0; i < 100; i++) idle.push(await ping(pinger));
    const during: number[] = [];
    let transferring = true;
    const transfer = (async () => {
      for (let i = 0; i < 3; i++) await fetchText(gateways.get("large-sse")!, 20_000_000);
      transferring = false;
    })();
    while (transferring) during.push(await ping(pinger));
    await transfer;
    return { rows, ping: { idleP50Ms: median(idle), duringTransferP50Ms: median(during), pings: during.length } };
  } finally {
    await gw.stop();
    sse.child.kill();
    json.child.kill();
  }
}

export function formatLargeResults(r: LargeResults): string {
  const f = (n: number, d = 0) => n.toLocaleString("en", { minimumFractionDigits: d, maximumFractionDigits: d });
  const direct = (row: LargeRow) => r.rows.find((d) => d.path === "direct" && d.upstream === row.upstream && d.bytes === row.bytes);
  return [
    "| upstream | result | path | median ms | MB/s | vs direct | intact |",
    "|---|---:|---|---:|---:|---:|---|",
    ...r.rows.map((row) => {
      const base = row.path === "toolgate" ? direct(row) : undefined;
      return `| ${row.upstream} | ${f(row.bytes / 1e6)} MB | ${row.path} | ${f(row.medianMs)} | ${f(row.bytes / 1e6 / (row.medianMs / 1000), 1)} | ${base ? `${f(row.medianMs / base.medianMs, 2)}x` : "–"} | ${row.intact ? "yes" : "NO"} |`;
    }),
    "",
    `ping through the gateway: p50 ${f(r.ping.idleP50Ms, 2)} ms idle, ${f(r.ping.duringTransferP50Ms, 2)} ms while 20 MB results are relayed on another session (${r.ping.pings} pings).`,
  ].join("\n");
}

if (import.meta.main) {
  process.stdout.write(formatLargeResults(await runLargeResultsBench()) + "\n");
}
