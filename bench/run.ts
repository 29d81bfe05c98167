// `npm run bench`: every scenario, direct and through the gateway in the same run, with ratios. Writes
// bench/results/<date>.json and bench/results/latest.md (the table docs/benchmarks.md shows).
// Tuning: DURATION_MS (per repetition, default 3000), WARMUP_MS (1000), REPS (3), SKIP_PULUMI=1, INTERCEPT_BIN,
// SKIP_CONTEXTFORGE=1, CONTEXTFORGE_VENV, SKIP_SCALE=1 (the replicas section), SKIP_LARGE=1 (large results).
import { execFileSync } from "node:child_process";
import { existsSync, mkdirSync, mkdtempSync, readFileSync, writeFileSync } from "node:fs";
import os from "node:os";
import { join } from "node:path";
import { performance } from "node:perf_hooks";
import { stringify as toYaml } from "yaml";
import { ROOT } from "../tests/helpers/cli.ts";
import { startGateway, type TestGateway } from "../tests/helpers/gateway.ts";
import { formatDecideTable, largePolicy, runDecideBench, type DecideResult } from "./decide.ts";
import { openSessions, type Target } from "./lib/load.ts";
import { startProcess, startUpstream } from "./lib/processes.ts";
import { DURATION_MS, ECHO_ARGS, fmt, loadTable, measure, REPS, WARMUP_MS, type Row } from "./lib/measure.ts";
import { pulumiScaleTable, runPulumiScale, type PulumiScaleResult } from "./pulumi-scale.ts";
import { formatScaleOut, runScaleOutBench, type ScaleOutResult } from "./scale-out.ts";
import { formatLargeResults, runLargeResultsBench, type LargeResults } from "./large-results.ts";
import { installContextForge, startContextForge } from "./lib/contextforge.ts";

const CONCURRENCY = [1, 16, 64];
const RATES = [200, 1000];

interface Peer {
  name: string;
  target?: Target;
  /** The echo tool's name behind this peer (ContextForge prefixes it). */
  tool?: string;
  stop?: () => void;
  unavailable?: string;
}

/** PolicyLayer's Intercept: INTERCEPT_BIN, an `intercept` on PATH, or `go install github.com/policylayer/intercept@latest`. */
function findIntercept(): { bin?: string; why?: string } {
  if (process.env.INTERCEPT_BIN) return { bin: process.env.INTERCEPT_BIN };
  try {
    return { bin: execFileSync("bash", ["-c", "command -v intercept"], { encoding: "utf8" }).trim() };
  } catch {
    // not on PATH
  }
  const gobin = join(os.homedir(), ".cache", "toolgate", "bench", "bin");
  if (existsSync(join(gobin, "intercept"))) return { bin: join(gobin, "intercept") };
  try {
    execFileSync("go", ["install", "github.com/policylayer/intercept@latest"], { env: { ...process.env, GOBIN: gobin }, stdio: "pipe", timeout: 300_000 });
    return { bin: join(gobin, "intercept") };
  } catch (error) {
    const stderr = String((error as { stderr?: Buffer }).stderr ?? (error as Error).message).trim().split("\n").slice(-2).join(" ");
    return { why: `go install github.com/policylayer/intercept@latest failed: ${stderr} (set INTERCEPT_BIN to a binary built from a checkout)` };
  }
}

async function startIntercept(bin: string, policy: unknown, upstreamUrl: string, dir: string, name: string): Promise<Peer> {
  const file = join(dir, `${name}.yaml`);
  writeFileSync(file, toYaml(policy));
  const { child, match } = await startProcess(bin, ["-c", file, "--transport", "http", "--upstream", upstreamUrl, "--port", "0", "--state-dir", join(dir, `${name}-state`), "--log-level", "warn"], /Intercept listening on (http:\/\/\S+)/);
  return { name, target: { url: match[1]! }, stop: () => child.kill() };
}

function rssMb(pid: number): number {
  const status = readFileSync(`/proc/${pid}/status`, "utf8");
  return Number(/^VmRSS:\s+(\d+) kB/m.exec(status)![1]) / 1024;
}

// ---- scenarios

/** The 500-tool policy of the decide() benchmark, plus rules and two limits on the called tool. */
function largeEchoPolicy() {
  const doc = largePolicy(500);
  doc.all_tools = { limits: [{ counter: "calls", window: "minute", max: 1_000_000_000 }] };
  doc.tools!.echo = {
    require: [{ path: "args.message", op: "exists" }],
    deny_if: [{ path: "args.message", op: "regex", value: "^DROP " }],
    limits: [{ counter: "echo_rate", window: "minute", max: 100_000_000, scope: "grant" }],
  };
  return doc;
}

/** The same rules in Intercept's YAML (rules with conditions; `rate_limit` shorthand for the limits). */
function largeEchoPolicyForIntercept() {
  const tools: Record<string, unknown> = {};
  for (let i = 0; i < 500; i++) {
    tools[`tool_${i}`] = { rules: [{ name: "reason", conditions: [{ path: "args.reason", op: "exists", value: true }] }, { name: "rate", rate_limit: "30/minute" }] };
  }
  tools.echo = { rules: [{ name: "message present", conditions: [{ path: "args.message", op: "exists", value: true }] }, { name: "echo rate", rate_limit: "100000000/minute" }] };
  tools["*"] = { rules: [{ name: "all calls", rate_limit: "1000000000/minute" }] };
  return { version: "1", default: "deny", hide: ["drop_database"], tools };
}

async function adminWriteThroughput(gw: TestGateway): Promise<{ writesPerSec: number; p50Ms: number; p99Ms: number }> {
  const latencies: number[] = [];
  const end = performance.now() + DURATION_MS;
  let n = 0;
  await Promise.all(
    Array.from({ length: 16 }, async (_, worker) => {
      while (performance.now() < end) {
        const t0 = performance.now();
        await gw.admin.put("policies", `bench-write-${worker}`, { document: { version: "1", default: "deny", tools: { [`tool_${n++}`]: {} } } });
        latencies.push(performance.now() - t0);
      }
    }),
  );
  latencies.sort((a, b) => a - b);
  return { writesPerSec: latencies.length / (DURATION_MS / 1000), p50Ms: latencies[Math.floor(latencies.length / 2)]!, p99Ms: latencies[Math.floor(latencies.length * 0.99)]! };
}

/** A fresh gateway (so earlier load does not count): RSS at start and with `count` open MCP sessions, one call each. */
async function rssAtSessions(upstreamUrl: string, count: number, nodeOptions: string): Promise<{ nodeOptions: string; sessions: number; startRssMb: number; rssMb: number }> {
  const gw = await startGateway({ env: nodeOptions ? { NODE_OPTIONS: nodeOptions } : {} });
  try {
    const startRssMb = rssMb(gw.child.pid!);
    await gw.admin.put("servers", "echo", { transport: { type: "streamable-http", url: upstreamUrl } });
    await gw.admin.put("policies", "allow-all", { document: { version: "1", default: "allow" } });
    const token = (await gw.admin.put<{ token: string }>("grants", "rss", { server: "echo", policy: "allow-all" })).value.token;
    const sessions = await openSessions({ url: `${gw.proxyUrl}/mcp/echo`, token }, count, 50);
    // In waves below the upstream's maxInFlight: this measures memory per open session, not a burst of calls.
    for (let i = 0; i < sessions.length; i += 200) await Promise.all(sessions.slice(i, i + 200).map((s) => s.callTool("echo", ECHO_ARGS)));
    const rss = rssMb(gw.child.pid!);
    await Promise.all(sessions.map((s) => s.close()));
    return { nodeOptions, sessions: count, startRssMb, rssMb: rss };
  } finally {
    await gw.stop();
  }
}

/** Node's default heap sizing, and a memory-capped profile for small deployments (docs/benchmarks.md). */
const MEMORY_PROFILES = ["", "--max-semi-space-size=2 --max-old-space-size=128"];

async function main(): Promise<void> {
  const machine = { cpu: os.cpus()[0]?.model ?? "unknown", cores: os.cpus().length, memoryGb: Math.round(os.totalmem() / 2 ** 30), node: process.version, os: `${os.type()} ${os.release()}`, commit: execFileSync("git", ["rev-parse", "--short", "HEAD"], { cwd: ROOT, encoding: "utf8" }).trim() };
  process.stderr.write(`toolgate benchmark on ${machine.cpu} (${machine.cores} cores), ${REPS} x ${DURATION_MS} ms per point after ${WARMUP_MS} ms warm-up\n`);

  process.stderr.write("decide() microbenchmark\n");
  const decide: DecideResult[] = runDecideBench();

  const scratch = mkdtempSync(join(os.tmpdir(), "toolgate-bench-"));
  const echo = await startUpstream("echo");
  const everything = await startUpstream("everything");
  const gw = await startGateway();
  const peers: Peer[] = [];
  const rows: Row[] = [];
  let admin: Awaited<ReturnType<typeof adminWriteThroughput>> | undefined;
  const rss: Awaited<ReturnType<typeof rssAtSessions>>[] = [];
  let loadedRssMb: number | undefined;
  let scale: ScaleOutResult | undefined;
  try {
    await gw.admin.put("servers", "echo", { transport: { type: "streamable-http", url: echo.url } });
    await gw.admin.put("servers", "everything", { transport: { type: "streamable-http", url: everything.url } });
    await gw.admin.put("policies", "allow-all", { document: { version: "1", default: "allow" } });
    await gw.admin.put("policies", "large", { document: largeEchoPolicy() });
    const grant = async (name: string, server: string, policy: string) => (await gw.admin.put<{ token: string }>("grants", name, { server, policy })).value.token;
    const viaGateway = (server: string, token: string): Target => ({ url: `${gw.proxyUrl}/mcp/${server}`, token });
    const allowAll = viaGateway("echo", await grant("bench-allow", "echo", "allow-all"));
    const large = viaGateway("echo", await grant("bench-large", "echo", "large"));
    const everythingGw = viaGateway("everything", await grant("bench-everything", "everything", "allow-all"));

    const intercept = findIntercept();
    if (intercept.bin) {
      peers.push(await startIntercept(intercept.bin, { version: "1", default: "allow", tools: {} }, echo.url, scratch, "intercept allow-all"));
      peers.push(await startIntercept(intercept.bin, largeEchoPolicyForIntercept(), echo.url, scratch, "intercept 500-tool policy"));
    } else peers.push({ name: "intercept", unavailable: intercept.why });
    const cf = process.env.SKIP_CONTEXTFORGE ? { ok: false as const, why: "SKIP_CONTEXTFORGE=1" } : installContextForge();
    if (cf.ok) {
      try {
        const forge = await startContextForge(echo.url);
        peers.push({ name: `ContextForge ${forge.version} allow-all`, target: forge.target, tool: forge.tool, stop: forge.stop });
      } catch (error) {
        peers.push({ name: "ContextForge", unavailable: (error as Error).message });
      }
    } else peers.push({ name: "ContextForge", unavailable: cf.why });

    process.stderr.write("closed loop (echo upstream)\n");
    for (const c of CONCURRENCY) {
      rows.push(await measure("echo, closed loop", "direct", { url: echo.url }, { concurrency: c }));
      rows.push(await measure("echo, closed loop", "toolgate allow-all", allowAll, { concurrency: c }));
      rows.push(await measure("echo, closed loop", "toolgate 500-tool policy", large, { concurrency: c }));
      for (const peer of peers) if (peer.target) rows.push(await measure("echo, closed loop", peer.name, peer.target, { concurrency: c, ...(peer.tool ? { tool: peer.tool } : {}) }));
    }
    process.stderr.write("fixed offered rate (echo upstream)\n");
    for (const rate of RATES) {
      rows.push(await measure("echo, open loop", "direct", { url: echo.url }, { rate }));
      rows.push(await measure("echo, open loop", "toolgate 500-tool policy", large, { rate }));
    }
    process.stderr.write("server-everything upstream\n");
    rows.push(await measure("server-everything echo", "direct", { url: everything.url }, { concurrency: 16 }));
    rows.push(await measure("server-everything echo", "toolgate allow-all", everythingGw, { concurrency: 16 }));

    process.stderr.write("admin API writes, RSS at 1,000 sessions\n");
    admin = await adminWriteThroughput(gw);
    loadedRssMb = rssMb(gw.child.pid!);
    for (const profile of MEMORY_PROFILES) rss.push(await rssAtSessions(echo.url, 1000, profile));
    if (!process.env.SKIP_SCALE) {
      process.stderr.write("replicas: PostgreSQL + Redis vs SQLite\n");
      scale = await runScaleOutBench(echo.url);
    }
  } finally {
    for (const peer of peers) peer.stop?.();
    await gw.stop();
    echo.child.kill();
    everything.child.kill();
  }

  let large: LargeResults | undefined;
  if (!process.env.SKIP_LARGE) {
    process.stderr.write("large results: 5 MB and 20 MB, direct and through the gateway\n");
    large = await runLargeResultsBench();
  }

  let pulumi: PulumiScaleResult | { skipped: string } = { skipped: "SKIP_PULUMI=1" };
  if (!process.env.SKIP_PULUMI) {
    process.stderr.write("pulumi up of 300 resources, dynamic and native providers\n");
    pulumi = await runPulumiScale(100);
  }

  const date = new Date().toISOString();
  const report = [
    `Run ${date} on ${machine.cpu}, ${machine.cores} cores, ${machine.memoryGb} GiB, ${machine.os}, Node ${machine.node}, commit ${machine.commit}.`,
    `Load generator, gateway and upstream share the machine (loopback). ${REPS} repetitions of ${DURATION_MS / 1000} s after ${WARMUP_MS / 1000} s warm-up; figures are medians of the repetitions.`,
    "",
    "### tools/call through the gateway",
    "",
    loadTable(rows),
    "",
    "Peers: " + peers.map((p) => (p.unavailable ? `${p.name}: not measured (${p.unavailable})` : `${p.name}: measured`)).join("; ") + ".",
    "",
    "### Gateway",
    "",
    "| figure | value |",
    "|---|---|",
    ...rss.flatMap((r) => [
      `| RSS at start${r.nodeOptions ? ` (NODE_OPTIONS="${r.nodeOptions}")` : " (Node defaults)"} | ${fmt(r.startRssMb, 0)} MB |`,
      `| RSS with ${r.sessions} open MCP sessions${r.nodeOptions ? ` (NODE_OPTIONS="${r.nodeOptions}")` : " (Node defaults)"} | ${fmt(r.rssMb, 0)} MB |`,
    ]),
    `| RSS after all load scenarios above (Node defaults) | ${loadedRssMb !== undefined ? fmt(loadedRssMb, 0) : "–"} MB |`,
    `| admin API writes (PUT policy, 16 concurrent) | ${admin ? `${fmt(admin.writesPerSec, 0)}/s, p50 ${fmt(admin.p50Ms, 2)} ms, p99 ${fmt(admin.p99Ms, 2)} ms` : "–"} |`,
    "",
    "### Replicas",
    "",
    scale ? formatScaleOut(scale) : "Not run (SKIP_SCALE=1).",
    "",
    "### Large results",
    "",
    large ? formatLargeResults(large) : "Not run (SKIP_LARGE=1).",
    "",
    "### decide()",
    "",
    formatDecideTable(decide),
    "",
    "### Pulumi",
    "",
    "skipped" in pulumi ? `Not run (${pulumi.skipped}).` : pulumiScaleTable(pulumi.results),
    "",
  ].join("\n");

  const dir = join(ROOT, "bench", "results");
  mkdirSync(dir, { recursive: true });
  writeFileSync(join(dir, `${date.slice(0, 10)}.json`), JSON.stringify({ date, machine, settings: { DURATION_MS, WARMUP_MS, REPS }, rows, peers: peers.map(({ name, unavailable }) => ({ name, unavailable })), admin, rss, scale, large, decide, pulumi }, null, 2) + "\n");
  writeFileSync(join(dir, "latest.md"), report);
  process.stdout.write(report);
}

await main();
