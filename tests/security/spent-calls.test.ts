// Issue 13 §5, "A call that reached the upstream is spent": once the gateway wrote a call upstream, its limit slot
// and its approval are used up, whatever the agent does next (abort) or the upstream does (time out); the upstream
// is told with notifications/cancelled. Each upstream's own record counts what really ran.
import { after, before, describe, test } from "node:test";
import assert from "node:assert/strict";
import { isDeepStrictEqual } from "node:util";
import { startGateway, type TestGateway } from "../helpers/gateway.ts";
import { eventually, RawAgent, resultText, startUpstream, UPSTREAM_KINDS, type Answer, type Execution, type ReceivedNotification, type TestUpstream, type UpstreamKind } from "../helpers/upstreams.ts";

const POLICIES = {
  open: { version: "1", default: "deny", tools: { slow: {} } },
  limited: { version: "1", default: "deny", tools: { slow: { limits: [{ counter: "slow_calls", window: "hour", max: 3 }] } } },
  approved: { version: "1", default: "deny", tools: { slow: { approval: {} } } },
  timed: { version: "1", default: "deny", tools: { slow: { limits: [{ counter: "slow_timeouts", window: "hour", max: 1 }] } } },
};

let gw: TestGateway;
const upstreams = new Map<UpstreamKind, TestUpstream>();
let grants = 0;

before(async () => {
  for (const kind of UPSTREAM_KINDS) upstreams.set(kind, await startUpstream(kind));
  gw = await startGateway();
  for (const [name, document] of Object.entries(POLICIES)) await gw.admin.put("policies", name, { document });
  for (const u of upstreams.values()) {
    await gw.admin.put("servers", u.name, { transport: u.transport });
    await gw.admin.put("servers", `${u.name}-timeout`, { transport: u.transport, timeoutMs: 1000 });
  }
});

after(async () => {
  const code = await gw?.stop();
  await Promise.all([...upstreams.values()].map((u) => u.close()));
  assert.equal(code, 0, "the gateway stopped cleanly");
});

/** A session on `server` for a new grant with `policy`. */
async function newAgent(server: string, policy: keyof typeof POLICIES): Promise<{ agent: RawAgent; grant: string }> {
  const grant = `${server}-${policy}-${++grants}`;
  const created = await gw.admin.put<{ token: string }>("grants", grant, { server, policy });
  return { agent: await RawAgent.connect(gw.proxyUrl, server, created.value.token), grant };
}

const slow = (id: number, ms: number, tag: string) => JSON.stringify({ jsonrpc: "2.0", id, method: "tools/call", params: { name: "slow", arguments: { ms, tag } } });

const runsOf = async (upstream: TestUpstream, tag: string) => (await upstream.records()).filter((r): r is Execution => r.kind === "call" && r.args.tag === tag);

/**
 * Sends a slow call and aborts it as soon as the upstream has started it: "aborted", or the gateway's answer when
 * it answered first (a denial never reaches the upstream).
 */
async function abortOnceStarted(upstream: TestUpstream, agent: RawAgent, body: string, tag: string): Promise<Answer | "aborted"> {
  const before = (await runsOf(upstream, tag)).length;
  const abort = new AbortController();
  const answer = agent.send(body, abort.signal).catch((error: unknown) => {
    if (abort.signal.aborted) return "aborted" as const;
    throw error;
  });
  let answered: Answer | "aborted" | undefined;
  void answer.then((a) => (answered = a));
  await eventually(
    async () => answered !== undefined || (await runsOf(upstream, tag)).length > before,
    (done) => done,
    15_000,
  );
  abort.abort();
  return answer;
}

/** Waits (without asserting) until the gateway has audited `rows` calls of `grant`, so it is done with the last one. */
async function settled(grant: string, rows: number): Promise<void> {
  await eventually(() => gw.admin.getJson<{ items: unknown[] }>("/v1/audit", { grant, limit: 500 }), (audit) => audit.items.length >= rows);
}

/** The notifications/cancelled the upstream received for the given request ids, once they all came (or 5 s). */
async function cancellationsFor(upstream: TestUpstream, ids: unknown[]): Promise<unknown[]> {
  const received = await eventually(
    async () => (await upstream.records()).filter((r): r is ReceivedNotification => r.kind === "notification" && r.method === "notifications/cancelled"),
    (notes) => ids.every((id) => notes.some((n) => isDeepStrictEqual((n.params as { requestId?: unknown }).requestId, id))),
  );
  return received.map((n) => (n.params as { requestId?: unknown }).requestId).filter((id) => ids.some((x) => isDeepStrictEqual(x, id)));
}

const LIMIT_DENIAL = /^\[POLICY DENIED\] Rate limit reached: at most 3 calls per hour \(counter "slow_calls", grant scope\)/;

for (const kind of UPSTREAM_KINDS) {
  describe(`a call that reached the upstream is spent: ${kind} upstream`, () => {
    test("10 calls aborted once they reached the upstream, against max: 3: the upstream runs 3, the rest are denied by the limit", async () => {
      const upstream = upstreams.get(kind)!;
      const { agent, grant } = await newAgent(kind, "limited");
      const answers: (Answer | "aborted")[] = [];
      for (let i = 0; i < 10; i++) {
        answers.push(await abortOnceStarted(upstream, agent, slow(100 + i, 3000, `limit-${i}`), `limit-${i}`));
        await settled(grant, i + 1);
      }
      const ran = (await upstream.records()).filter((r): r is Execution => r.kind === "call" && String(r.args.tag).startsWith("limit-"));
      assert.deepEqual(
        ran.map((r) => r.args.tag),
        ["limit-0", "limit-1", "limit-2"],
      );
      assert.deepEqual(answers.slice(0, 3), ["aborted", "aborted", "aborted"]);
      for (const a of answers.slice(3)) assert.match(a === "aborted" ? "aborted after it reached the upstream" : (resultText(a) ?? a.body), LIMIT_DENIAL);
    });

    test("an agent that aborts a call makes the gateway send notifications/cancelled upstream", async () => {
      const upstream = upstreams.get(kind)!;
      const { agent } = await newAgent(kind, "open");
      assert.equal(await abortOnceStarted(upstream, agent, slow(150, 3000, "cancel-me"), "cancel-me"), "aborted");
      const [run] = await runsOf(upstream, "cancel-me");
      assert.deepEqual(await cancellationsFor(upstream, [run!.id]), [run!.id]);
    });

    test("one approval, then the approved call aborted 5 times: the upstream runs it once", async () => {
      const upstream = upstreams.get(kind)!;
      const { agent, grant } = await newAgent(kind, "approved");
      const asked = await agent.send(slow(200, 3000, "approved"));
      const approval = asked.message?.result?._meta?.["toolgate/approval"] as { approvalId?: string } | undefined;
      assert.ok(approval?.approvalId, `expected [APPROVAL REQUIRED], got ${asked.body}`);
      await gw.admin.postJson(`/v1/approvals/${approval.approvalId}/approve`, { by: "security@example.com" });
      await settled(grant, 1);
      const answers: (Answer | "aborted")[] = [];
      for (let i = 0; i < 5; i++) {
        answers.push(await abortOnceStarted(upstream, agent, slow(201 + i, 3000, "approved"), "approved"));
        await settled(grant, 2 + i);
      }
      assert.equal((await runsOf(upstream, "approved")).length, 1, "the approved call ran once upstream");
      assert.equal(answers[0], "aborted");
      for (const a of answers.slice(1)) assert.match(a === "aborted" ? "aborted after it reached the upstream" : (resultText(a) ?? a.body), /^\[APPROVAL REQUIRED\] /);
    });

    test("a call that timed out is spent and cancelled upstream", async () => {
      const upstream = upstreams.get(kind)!;
      const { agent } = await newAgent(`${kind}-timeout`, "timed");
      const first = await agent.send(slow(300, 4000, "timed-out"));
      assert.deepEqual([first.status, first.message?.id, first.message?.error?.code], [200, 300, -32002], first.body);
      const [run] = await runsOf(upstream, "timed-out");
      assert.ok(run, "the call reached the upstream");

      const second = await agent.send(slow(301, 10, "after-timeout"));
      assert.match(resultText(second) ?? second.body, /^\[POLICY DENIED\] Rate limit reached: at most 1 calls? per hour/);
      assert.deepEqual(await runsOf(upstream, "after-timeout"), []);
      assert.deepEqual(await cancellationsFor(upstream, [run.id]), [run.id]);
      assert.match(first.message!.error!.message, /^Upstream server "[^"]+" sent nothing for 1000 ms \(timeoutMs\)/);
    });
  });
}
