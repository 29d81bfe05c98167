// Issue 13 §1, "One parse, one message": the gateway decides on one parse of the request and forwards exactly that
// message, so no upstream can read a request differently from the policy. Each attack goes in raw bytes to a real
// `toolgate serve` in front of a Node (official TypeScript SDK), Go (encoding/json structs, over HTTP and stdio) and
// Python (official SDK) server, and each upstream's own record says what it ran.
import { after, before, describe, test } from "node:test";
import assert from "node:assert/strict";
import { startGateway, type TestGateway } from "../helpers/gateway.ts";
import { eventually, RawAgent, resultText, startUpstream, UPSTREAM_KINDS, type Answer, type Execution, type TestUpstream, type UpstreamKind } from "../helpers/upstreams.ts";

const GATE = {
  version: "1",
  default: "deny",
  tools: { read: {}, slow: {}, transfer: { deny_if: [{ path: "args.amount", op: "gt", value: 100 }] } },
};
const APPROVE = { version: "1", default: "deny", tools: { transfer: { approval: {} } } };

let gw: TestGateway;
const upstreams = new Map<UpstreamKind, TestUpstream>();
const gateAgents = new Map<UpstreamKind, Promise<RawAgent>>();
let grants = 0;

before(async () => {
  for (const kind of UPSTREAM_KINDS) upstreams.set(kind, await startUpstream(kind));
  gw = await startGateway();
  await gw.admin.put("policies", "gate", { document: GATE });
  await gw.admin.put("policies", "approve", { document: APPROVE });
  for (const u of upstreams.values()) await gw.admin.put("servers", u.name, { transport: u.transport });
});

after(async () => {
  const code = await gw?.stop();
  await Promise.all([...upstreams.values()].map((u) => u.close()));
  assert.equal(code, 0, "the gateway survived every attack and stopped cleanly");
});

/** A session on `kind`'s server for a new grant with `policy`. */
async function newAgent(kind: UpstreamKind, policy: string): Promise<RawAgent> {
  const grant = await gw.admin.put<{ token: string }>("grants", `${kind}-${policy}-${++grants}`, { server: kind, policy });
  return RawAgent.connect(gw.proxyUrl, kind, grant.value.token);
}

function gateAgent(kind: UpstreamKind): Promise<RawAgent> {
  let agent = gateAgents.get(kind);
  if (!agent) gateAgents.set(kind, (agent = newAgent(kind, "gate")));
  return agent;
}

/** Sends `body` and returns the answer and every tool the upstream ran meanwhile (as the upstream understood it). */
async function attack(kind: UpstreamKind, body: string, agent?: RawAgent): Promise<{ answer: Answer; ran: Pick<Execution, "tool" | "args">[] }> {
  const upstream = upstreams.get(kind)!;
  const a = agent ?? (await gateAgent(kind));
  const seen = (await upstream.records()).length;
  const answer = await a.send(body);
  await a.settle();
  const ran = (await upstream.records()).slice(seen).flatMap((r) => (r.kind === "call" ? [{ tool: r.tool, args: r.args }] : []));
  return { answer, ran };
}

/** 400 with a JSON-RPC error of `code` whose message matches `message`. */
function assertRefused(answer: Answer, message: RegExp, codes: number[] = [-32600]): void {
  assert.equal(answer.status, 400, `expected 400, got ${answer.status}: ${answer.body}`);
  assert.ok(codes.includes(answer.message?.error?.code ?? 0), `JSON-RPC error code ${answer.message?.error?.code} is not one of ${codes}: ${answer.body}`);
  assert.match(answer.message!.error!.message, message);
}

const call = (id: unknown, params: string) => `{"jsonrpc":"2.0","id":${JSON.stringify(id)},"method":"tools/call","params":${params}}`;

function approvalOf(answer: Answer): string {
  const approval = answer.message?.result?._meta?.["toolgate/approval"] as { approvalId?: string } | undefined;
  assert.ok(approval?.approvalId, `expected an [APPROVAL REQUIRED] result, got ${answer.body}`);
  return approval.approvalId;
}

for (const kind of UPSTREAM_KINDS) {
  describe(`one parse, one message: ${kind} upstream`, () => {
    test("control: allowed calls run as sent, a denied tool is refused by policy", async () => {
      const read = await attack(kind, call(1, `{"name":"read","arguments":{"path":"notes.txt"}}`));
      assert.deepEqual([read.answer.status, resultText(read.answer), read.ran], [200, "read notes.txt", [{ tool: "read", args: { path: "notes.txt" } }]]);
      const transfer = await attack(kind, call(2, `{"name":"transfer","arguments":{"amount":50}}`));
      assert.deepEqual([transfer.answer.status, transfer.ran], [200, [{ tool: "transfer", args: { amount: 50 } }]]);
      const denied = await attack(kind, call(3, `{"name":"delete_all","arguments":{}}`));
      assert.deepEqual([denied.answer.status, resultText(denied.answer), denied.ran], [200, '[POLICY DENIED] Tool "delete_all" is not permitted by policy', []]);
    });

    describe("duplicate and case-variant keys are refused with 400 and never reach the upstream", () => {
      test('"name":"read" + "name":"delete_all"', async () => {
        const { answer, ran } = await attack(kind, call(10, `{"name":"read","name":"delete_all","arguments":{}}`));
        assertRefused(answer, /^Invalid request: duplicate key "name" in \/params$/);
        assert.deepEqual(ran, []);
      });

      test('"name":"read" + "Name":"delete_all" (Go reads Name)', async () => {
        const { answer, ran } = await attack(kind, call(11, `{"name":"read","Name":"delete_all","arguments":{}}`));
        assertRefused(answer, /^Invalid request: (?=.*"Name")(?=.* in \/params\b).*only in letter case/);
        assert.deepEqual(ran, []);
      });

      test('"method":"ping" + "METHOD":"tools/call" (Go runs the tools/call)', async () => {
        const { answer, ran } = await attack(kind, `{"jsonrpc":"2.0","id":12,"method":"ping","METHOD":"tools/call","params":{"name":"delete_all","arguments":{}}}`);
        assertRefused(answer, /^Invalid request: .*"METHOD"/);
        assert.deepEqual(ran, []);
      });

      test('"Method":"tools/call" alone (no "method" for the policy to see)', async () => {
        const { answer, ran } = await attack(kind, `{"jsonrpc":"2.0","id":13,"Method":"tools/call","params":{"name":"delete_all","arguments":{}}}`);
        assertRefused(answer, /^Invalid request: .*"Method"/);
        assert.deepEqual(ran, []);
      });

      test('"params" + "paramſ" (U+017F folds to s in Go)', async () => {
        const { answer, ran } = await attack(kind, `{"jsonrpc":"2.0","id":14,"method":"tools/call","params":{"name":"read","arguments":{}},"paramſ":{"name":"delete_all","arguments":{}}}`);
        assertRefused(answer, /^Invalid request: .*"paramſ"/);
        assert.deepEqual(ran, []);
      });

      test('"name":"delete_all" + escaped "n\\u0061me":"read" (a first-key-wins upstream runs delete_all)', async () => {
        const { answer, ran } = await attack(kind, call(15, `{"name":"delete_all","n\\u0061me":"read","arguments":{}}`));
        assertRefused(answer, /^Invalid request: duplicate key "name" in \/params$/);
        assert.deepEqual(ran, []);
      });

      test('arguments "amount":1 + "Amount":1000 (Go decodes 1000 into Amount)', async () => {
        const { answer, ran } = await attack(kind, call(16, `{"name":"transfer","arguments":{"amount":1,"Amount":1000}}`));
        assertRefused(answer, /^Invalid request: (?=.*"Amount")(?=.* in \/params\/arguments\b).*only in letter case/);
        assert.deepEqual(ran, []);
      });

      test('arguments "AMOUNT":1000 alone is a policy match for args.amount gt 100: denied, not run', async () => {
        const { answer, ran } = await attack(kind, call(17, `{"name":"transfer","arguments":{"AMOUNT":1000}}`));
        assert.deepEqual([answer.status, answer.message?.result?.isError], [200, true], answer.body);
        assert.match(resultText(answer) ?? "", /^\[POLICY DENIED\] /);
        assert.deepEqual(ran, []);
      });
    });

    describe("a tools/call is gated whatever its id, and never relayed ungated", () => {
      for (const [label, id] of [
        ["null", "null"],
        ["1.5", "1.5"],
        ["true", "true"],
        ["{}", "{}"],
        ["[]", "[]"],
      ] as const) {
        test(`id ${label} → 400, not executed`, async () => {
          const { answer, ran } = await attack(kind, `{"jsonrpc":"2.0","id":${id},"method":"tools/call","params":{"name":"read","arguments":{"path":"id-${label}"}}}`);
          assertRefused(answer, /^Invalid request: .*\bid\b/);
          assert.deepEqual(ran, []);
        });
      }

      test("no id (notification form) → 400, not executed", async () => {
        const { answer, ran } = await attack(kind, `{"jsonrpc":"2.0","method":"tools/call","params":{"name":"read","arguments":{"path":"no-id"}}}`);
        assertRefused(answer, /^Invalid request: .*\bid\b/);
        assert.deepEqual(ran, []);
      });

      test('"jsonrpc" missing → 400, not executed', async () => {
        const { answer, ran } = await attack(kind, `{"id":20,"method":"tools/call","params":{"name":"delete_all","arguments":{}}}`);
        assertRefused(answer, /^Invalid request: .*jsonrpc/);
        assert.deepEqual(ran, []);
      });

      test('"jsonrpc":"2.0 " → 400, not executed', async () => {
        const { answer, ran } = await attack(kind, `{"jsonrpc":"2.0 ","id":21,"method":"tools/call","params":{"name":"delete_all","arguments":{}}}`);
        assertRefused(answer, /^Invalid request: .*jsonrpc/);
        assert.deepEqual(ran, []);
      });

      test("inside a batch → 400, not executed", async () => {
        const { answer, ran } = await attack(kind, `[${call(22, `{"name":"delete_all","arguments":{}}`)},${call(23, `{"name":"read","arguments":{}}`)}]`);
        assertRefused(answer, /^Invalid request: .*batch/i);
        assert.deepEqual(ran, []);
      });
    });

    describe("an approval is bound to exactly the numbers that are forwarded", () => {
      test("approved {amount: 2^53} does not let 2^53+1 or 1e999 through; the approved call runs once", async () => {
        const agent = await newAgent(kind, "approve");
        const asked = await attack(kind, call(30, `{"name":"transfer","arguments":{"amount":9007199254740992}}`), agent);
        await gw.admin.postJson(`/v1/approvals/${approvalOf(asked.answer)}/approve`, { by: "security@example.com" });

        const above = await attack(kind, call(31, `{"name":"transfer","arguments":{"amount":9007199254740993}}`), agent);
        assertRefused(above.answer, /^(Invalid request|Parse error): .*amount/, [-32600, -32700]);
        assert.deepEqual(above.ran, []);
        const overflow = await attack(kind, call(32, `{"name":"transfer","arguments":{"amount":1e999}}`), agent);
        assertRefused(overflow.answer, /^(Invalid request|Parse error): .*amount/, [-32600, -32700]);
        assert.deepEqual(overflow.ran, []);

        const approved = await attack(kind, call(33, `{"name":"transfer","arguments":{"amount":9007199254740992}}`), agent);
        assert.deepEqual([approved.answer.status, approved.answer.message?.result?.isError ?? false, approved.ran], [200, false, [{ tool: "transfer", args: { amount: 9007199254740992 } }]], approved.answer.body);
      });

      test("approved {amount: null} does not let 1e999 through, and 0 needs its own approval", async () => {
        const agent = await newAgent(kind, "approve");
        const asked = await attack(kind, call(40, `{"name":"transfer","arguments":{"amount":null}}`), agent);
        await gw.admin.postJson(`/v1/approvals/${approvalOf(asked.answer)}/approve`, { by: "security@example.com" });

        const overflow = await attack(kind, call(41, `{"name":"transfer","arguments":{"amount":1e999}}`), agent);
        assertRefused(overflow.answer, /^(Invalid request|Parse error): .*amount/, [-32600, -32700]);
        assert.deepEqual(overflow.ran, []);
        const zero = await attack(kind, call(42, `{"name":"transfer","arguments":{"amount":0}}`), agent);
        assert.match(resultText(zero.answer) ?? "", /^\[APPROVAL REQUIRED\] /, zero.answer.body);
        assert.deepEqual(zero.ran, []);

        const approved = await attack(kind, call(43, `{"name":"transfer","arguments":{"amount":null}}`), agent);
        assert.deepEqual([approved.answer.status, approved.answer.message?.result?.isError ?? false, approved.ran], [200, false, [{ tool: "transfer", args: { amount: null } }]], approved.answer.body);
      });
    });

    // The Python SDK itself keys in-flight requests by str(id) (mcp/server/streamable_http.py), so it loses one of them.
    const pythonLosesIds = kind === "python" ? { skip: 'the Python SDK confuses ids 1 and "1" itself' } : {};
    test('answers are matched by id type: in-flight calls with ids 1 and "1" each get their own answer', pythonLosesIds, async () => {
      const agent = await gateAgent(kind);
      const upstream = upstreams.get(kind)!;
      const slow = agent.send(call(1, `{"name":"slow","arguments":{"ms":800,"tag":"id-number"}}`));
      // The string id goes out while the number id is running upstream, and is answered first.
      await eventually(upstream.records, (records) => records.some((r) => r.kind === "call" && r.args.tag === "id-number"));
      const fast = await agent.send(call("1", `{"name":"read","arguments":{"path":"id-string"}}`));
      const slowAnswer = await slow;
      assert.deepEqual([fast.message?.id, resultText(fast)], ["1", "read id-string"], fast.body);
      assert.deepEqual([slowAnswer.message?.id, resultText(slowAnswer)], [1, "slept 800"], slowAnswer.body);
    });
  });
}
