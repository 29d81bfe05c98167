// Microbenchmark of parseMessage(): median nanoseconds per call over repeated batches, against a bare
// JSON.parse of the same bytes (the floor). `node bench/parse-message.ts` (SAMPLES=<batches> to tune).
import { parseMessage } from "../gateway/proxy/parse-message.ts";

function toolsCall(args: unknown): Buffer {
  return Buffer.from(JSON.stringify({ jsonrpc: "2.0", id: 42, method: "tools/call", params: { name: "create_charge", arguments: args, _meta: { progressToken: "p-42" } } }));
}

const small = toolsCall({ amount: 1250, currency: "usd", customer: "cus_9s6XKzkNRiz8i3", reason: "invoice 2024-118", tags: ["é", "日本"] });
const rows = Array.from({ length: 12_000 }, (_, i) => ({ id: i, name: `item ${i} 🙂`, price: i * 1.25, note: "Grüße aus 日本", ok: i % 2 === 0 }));
const large = toolsCall({ rows });

function median(body: Buffer, run: (b: Buffer) => unknown, calls: number, samples: number): number {
  for (let i = 0; i < calls * 3; i++) run(body);
  const perCall: number[] = [];
  for (let s = 0; s < samples; s++) {
    const start = process.hrtime.bigint();
    for (let i = 0; i < calls; i++) run(body);
    perCall.push(Number(process.hrtime.bigint() - start) / calls);
  }
  perCall.sort((a, b) => a - b);
  return perCall[Math.floor(perCall.length / 2)] as number;
}

const samples = Number(process.env.SAMPLES ?? 30);
const check = parseMessage(large);
if (!check.ok) throw new Error(`the large message was refused: ${check.error}`);
console.log("| message | bytes | parseMessage | JSON.parse only | ratio |");
console.log("|---|---:|---:|---:|---:|");
for (const [name, body, calls] of [["tools/call, small", small, 20_000], ["tools/call, 12,000 rows", large, 20]] as const) {
  const ours = median(body, (b) => parseMessage(b), calls, samples);
  const floor = median(body, (b) => JSON.parse(b.toString("utf8")), calls, samples);
  const fmt = (ns: number) => (ns >= 1e6 ? `${(ns / 1e6).toFixed(2)} ms` : `${(ns / 1e3).toFixed(2)} µs`);
  console.log(`| ${name} | ${body.length.toLocaleString("en")} | ${fmt(ours)} | ${fmt(floor)} | ${(ours / floor).toFixed(2)} |`);
}
