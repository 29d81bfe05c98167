// Issue 13 §6: decisions hold at execution time. A held call re-checks its grant and the policy when the approval
// arrives; revoking, rotating or expiring a grant ends what it holds open; a session belongs to the grant that
// opened it; no stream (POST, GET, Last-Event-ID replay) shows a hidden tool.
import { after, before, describe, test } from "node:test";
import assert from "node:assert/strict";
import { mkdtempSync, readFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { McpServer } from "@modelcontextprotocol/sdk/server/mcp.js";
import { z } from "zod";
import type { ApprovalList } from "../../sdk/index.ts";
import { serveOverHttp, type EverythingHttp } from "../fixtures/everything-http.ts";
import { createEdgeServer } from "../fixtures/edge-server.ts";
import { startResumableHttp, type ResumableHttp } from "../fixtures/resumable-http.ts";
import { answerTo, closed, eventually, isEventStream, mcpHeaders, openSession, post, processAlive, settlesWithin, sseEvents, type JsonRpc } from "../fixtures/raw-mcp.ts";
import { ROOT } from "../helpers/cli.ts";
import { startGateway, type TestGateway } from "../helpers/gateway.ts";
import { connect, text } from "../helpers/mcp-client.ts";

/** Generous bounds for what the relay promises "within ~1 s"; these are not timing tests. */
const CLOSED_WITHIN_MS = 5000;

let gw: TestGateway;
let bank: EverythingHttp;
let edgeHttp: EverythingHttp;
let resumable: ResumableHttp;
/** Amounts of the `pay` calls the bank upstream executed. */
const paid: number[] = [];
const pidFile = join(mkdtempSync(join(tmpdir(), "toolgate-pids-")), "pids.jsonl");

before(async () => {
  bank = await serveOverHttp(() => {
    const server = new McpServer({ name: "bank", version: "1.0.0" });
    server.registerTool("pay", { inputSchema: { amount: z.number() } }, async ({ amount }) => {
      paid.push(amount);
      return { content: [{ type: "text", text: `paid ${amount}` }] };
    });
    server.registerTool("stall", { inputSchema: {} }, () => new Promise(() => {}));
    server.registerTool("probe", { inputSchema: {} }, async () => ({ content: [{ type: "text", text: "probe" }] }));
    return { server };
  });
  edgeHttp = await serveOverHttp(() => ({ server: createEdgeServer() }));
  resumable = await startResumableHttp();
  gw = await startGateway();
  await gw.admin.put("servers", "bank", { transport: { type: "streamable-http", url: bank.url } });
  await gw.admin.put("servers", "edge-http", { transport: { type: "streamable-http", url: edgeHttp.url } });
  await gw.admin.put("servers", "edge-stdio", { transport: { type: "stdio", command: process.execPath, args: [join(ROOT, "tests/fixtures/spawner-server.ts"), pidFile] } });
  await gw.admin.put("servers", "resumable", { transport: { type: "streamable-http", url: resumable.url } });
  await gw.admin.put("policies", "open", { document: { version: "1", default: "allow" } });
  await gw.admin.put("policies", "hides-secret", { document: { version: "1", default: "allow", hide: ["secret_tool"] } });
});

after(async () => {
  // A gateway that keeps a revoked grant's streams open may also never finish draining them: do not hang on it.
  if (gw && !(await settlesWithin(gw.stop(), 20_000))) gw.child.kill("SIGKILL");
  await Promise.all([bank?.close(), edgeHttp?.close(), resumable?.close()]);
  for (const line of readFileSync(pidFile, { encoding: "utf8", flag: "a+" }).split("\n").filter(Boolean)) {
    const { server, grandchild } = JSON.parse(line) as { server: number; grandchild: number };
    for (const pid of [grandchild, server]) if (processAlive(pid)) process.kill(pid, "SIGKILL");
  }
});

async function grant(name: string, server: string, policy: string, expiresAt?: string): Promise<string> {
  return (await gw.admin.put<{ token: string }>("grants", name, { server, policy, ...(expiresAt ? { expiresAt } : {}) })).value.token;
}

/** The pending approval the held call of `grantName` created. */
async function pendingApproval(grantName: string): Promise<string> {
  let id: string | undefined;
  await eventually(async () => {
    const list = await gw.admin.getJson<ApprovalList>("/v1/approvals", { status: "pending", tool: "pay" });
    id = list.items.find((a) => a.grant === grantName)?.id;
    return id !== undefined;
  }, 10_000);
  if (!id) throw new Error(`no pending approval for grant ${grantName}`);
  return id;
}

/** Approves; the gateway may already have refused the approval (409), which is as good. */
async function approve(id: string): Promise<void> {
  await gw.admin.postJson(`/v1/approvals/${id}/approve`, { by: "alice@example.com" }).catch(() => undefined);
}

/** What the agent got for a call: the result text, or the error it ended with. */
function outcome(call: Promise<unknown>): Promise<string> {
  return call.then(
    (r) => text(r),
    (e: unknown) => `error: ${(e as Error).message}`,
  );
}

describe("a held call re-checks its grant and the policy when the approval arrives", () => {
  const changes = {
    revoked: (name: string) => gw.admin.delete("grants", name),
    rotated: (name: string) => gw.admin.rotateGrant(name),
    // The grant was made to expire 3 s after it was created: wait for that.
    expired: () => eventually(() => false, 3500),
  };
  for (const [i, [how, change]] of Object.entries(changes).entries()) {
    test(`the grant was ${how} while the call was held: approving it does not run it`, async () => {
      await gw.admin.put("policies", "hold-pay", { document: { version: "1", default: "allow", tools: { pay: { approval: { mode: "hold" } } } } });
      const name = `held-then-${how}`;
      const token = await grant(name, "bank", "hold-pay", how === "expired" ? new Date(Date.now() + 3000).toISOString() : undefined);
      const agent = await connect(gw.proxyUrl, "bank", token);
      const amount = 101 + i;
      const answer = outcome(agent.callTool({ name: "pay", arguments: { amount } }));
      const id = await pendingApproval(name);
      await change(name);
      await approve(id);
      assert.match(await answer, /^(\[POLICY DENIED\] |error: )/);
      assert.deepEqual(paid.filter((a) => a === amount), [], "the upstream never ran the call");
      await agent.close().catch(() => undefined);
    });
  }

  test("the policy now denies the call: approving it does not run it, and the agent gets the policy's reason", async () => {
    await gw.admin.put("policies", "hold-then-deny", { document: { version: "1", default: "allow", tools: { pay: { approval: { mode: "hold" } } } } });
    const token = await grant("held-then-denied", "bank", "hold-then-deny");
    const agent = await connect(gw.proxyUrl, "bank", token);
    const watcher = await connect(gw.proxyUrl, "bank", token);
    try {
      const answer = outcome(agent.callTool({ name: "pay", arguments: { amount: 202 } }));
      const id = await pendingApproval("held-then-denied");
      await gw.admin.put("policies", "hold-then-deny", {
        document: { version: "1", default: "allow", hide: ["probe"], tools: { pay: { deny_if: [{ path: "args.amount", op: "gt", value: 100, on_deny: "Payments over 100 are frozen." }] } } },
      });
      const listed = async () => (await watcher.listTools()).tools.map((t) => t.name);
      assert.ok(await eventually(async () => !(await listed()).includes("probe"), 5000), "the gateway applies the edited policy");
      await approve(id);
      assert.equal(await answer, "[POLICY DENIED] Payments over 100 are frozen.");
      assert.deepEqual(paid.filter((a) => a === 202), [], "the upstream never ran the call");
    } finally {
      await agent.close();
      await watcher.close();
    }
  });
});

/** toolgate_inflight_calls from the admin /metrics. */
async function inFlight(): Promise<number> {
  const res = await fetch(`${gw.adminUrl}/metrics`, { headers: { authorization: `Bearer ${gw.adminToken}` } });
  return Number(/^toolgate_inflight_calls (\d+)/m.exec(await res.text())?.[1]);
}

interface OpenStreams {
  /** Each resolves when that stream has closed. */
  closed: Promise<void>[];
  stdioServer: number;
}

/** For one grant's token: a GET stream and an in-flight POST on an HTTP upstream and on a stdio upstream. */
async function openStreams(httpToken: string, stdioToken: string): Promise<OpenStreams> {
  const out: Promise<void>[] = [];
  const busy = await inFlight();
  let stdioServer = 0;
  for (const [server, token, tool] of [["bank", httpToken, "stall"], ["edge-stdio", stdioToken, "hang"]] as const) {
    const url = `${gw.proxyUrl}/mcp/${server}`;
    const sessionId = await openSession(url, token);
    if (server === "edge-stdio") {
      const tree = await answerTo(await post(url, token, sessionId, { jsonrpc: "2.0", id: 8, method: "tools/call", params: { name: "tree", arguments: {} } }), 8);
      stdioServer = (JSON.parse((tree.result?.content as { text: string }[])[0]!.text) as { server: number }).server;
    }
    const get = await fetch(url, { method: "GET", headers: { ...mcpHeaders(token, sessionId), accept: "text/event-stream" } });
    assert.equal(get.status, 200, `GET stream on ${server}`);
    out.push(closed(get));
    out.push(post(url, token, sessionId, { jsonrpc: "2.0", id: 9, method: "tools/call", params: { name: tool, arguments: {} } }).then(closed, () => undefined));
  }
  assert.ok(await eventually(async () => (await inFlight()) >= busy + 2, 10_000), "both calls are in flight");
  return { closed: out, stdioServer };
}

async function assertAllClosed(streams: OpenStreams, extraMs = 0): Promise<void> {
  const names = ["HTTP GET stream", "HTTP in-flight POST", "stdio GET stream", "stdio in-flight POST"];
  const results = await Promise.all(streams.closed.map((c) => settlesWithin(c, CLOSED_WITHIN_MS + extraMs)));
  assert.deepEqual(
    names.filter((_, i) => !results[i]),
    [],
    "every stream of the grant closed",
  );
  assert.ok(await eventually(() => !processAlive(streams.stdioServer), CLOSED_WITHIN_MS), `the stdio session's process ${streams.stdioServer} stopped`);
}

describe("revoking, rotating or expiring a grant ends its streams and stdio sessions", () => {
  test("revoked (DELETE /v1/grants/{name})", async () => {
    const streams = await openStreams(await grant("revoked-http", "bank", "open"), await grant("revoked-stdio", "edge-stdio", "open"));
    await gw.admin.delete("grants", "revoked-http");
    await gw.admin.delete("grants", "revoked-stdio");
    await assertAllClosed(streams);
  });

  test("rotated (POST /v1/grants/{name}/rotate)", async () => {
    const streams = await openStreams(await grant("rotated-http", "bank", "open"), await grant("rotated-stdio", "edge-stdio", "open"));
    await gw.admin.rotateGrant("rotated-http");
    await gw.admin.rotateGrant("rotated-stdio");
    await assertAllClosed(streams);
  });

  test("expired (expiresAt passed)", async () => {
    const expiresAt = new Date(Date.now() + 4000).toISOString();
    const streams = await openStreams(await grant("expiring-http", "bank", "open", expiresAt), await grant("expiring-stdio", "edge-stdio", "open", expiresAt));
    await assertAllClosed(streams, Math.max(0, Date.parse(expiresAt) - Date.now()));
  });
});

for (const [kind, server] of [["HTTP", "edge-http"], ["stdio", "edge-stdio"]] as const) {
  test(`another grant's token on an existing ${kind} session is refused like an unknown session (POST, GET, DELETE); the owner keeps it`, async () => {
    const owner = await grant(`owner-${kind.toLowerCase()}`, server, "open");
    const intruder = await grant(`intruder-${kind.toLowerCase()}`, server, "open");
    const url = `${gw.proxyUrl}/mcp/${server}`;
    const sessionId = await openSession(url, owner);
    const unknownId = sessionId.slice(0, -4) + (sessionId.endsWith("AAAA") ? "BBBB" : "AAAA");

    const answer = async (method: string, session: string) => {
      const abort = new AbortController();
      const res = await fetch(url, {
        method,
        headers: { ...mcpHeaders(intruder, session), ...(method === "GET" ? { accept: "text/event-stream" } : {}) },
        ...(method === "POST" ? { body: JSON.stringify({ jsonrpc: "2.0", id: 4, method: "ping" }) } : {}),
        signal: abort.signal,
      });
      if (method === "GET" && res.status === 200) {
        abort.abort(); // an open stream: the session was handed over
        return { status: res.status, message: undefined };
      }
      const body = await res.text();
      return { status: res.status, message: res.status === 404 ? (JSON.parse(body) as JsonRpc).error?.message : undefined };
    };
    for (const method of ["POST", "GET", "DELETE"]) {
      const stolen = await answer(method, sessionId);
      assert.equal(stolen.status, 404, `${method} with another grant's session`);
      assert.match(stolen.message ?? "", /^Session not found/, `${method} with another grant's session`);
      assert.deepEqual(stolen, await answer(method, unknownId), `${method}: the same answer as for a session that does not exist`);
    }

    const ok = await answerTo(await post(url, owner, sessionId, { jsonrpc: "2.0", id: 5, method: "tools/call", params: { name: "ok", arguments: { n: 7 } } }), 5);
    assert.deepEqual(ok.result?.content, [{ type: "text", text: "ok 7" }], "the session still works for its owner");
    const ended = await fetch(url, { method: "DELETE", headers: mcpHeaders(owner, sessionId) });
    assert.equal(ended.status, 200);
  });
}

describe("a hidden tool never appears in a stream (Last-Event-ID replay)", () => {
  const RESUMABLE = "2025-11-25";

  test("the upstream answers tools/list only on a replay; the replayed list is filtered", async () => {
    const token = await grant("replayer", "resumable", "hides-secret");
    const url = `${gw.proxyUrl}/mcp/resumable`;
    const sessionId = await openSession(url, token, RESUMABLE);
    const headers = mcpHeaders(token, sessionId, RESUMABLE);

    const listing = await fetch(url, { method: "POST", headers, body: JSON.stringify({ jsonrpc: "2.0", id: 5, method: "tools/list" }) });
    assert.equal(listing.status, 200);
    assert.ok(isEventStream(listing), "the upstream answers on an event stream");
    let lastEventId: string | undefined;
    for await (const event of sseEvents(listing)) if (event.id) lastEventId = event.id;
    assert.ok(lastEventId, "the stream carried an event id to resume from");

    const abort = new AbortController();
    const giveUp = setTimeout(() => abort.abort(), 10_000);
    const replay = await fetch(url, { method: "GET", headers: { ...headers, accept: "text/event-stream", "last-event-id": lastEventId }, signal: abort.signal });
    assert.equal(replay.status, 200);
    let listed: JsonRpc | undefined;
    try {
      for await (const event of sseEvents(replay)) {
        const message = JSON.parse(event.data || "null") as JsonRpc | null;
        if (message?.id === 5) {
          listed = message;
          break;
        }
      }
    } catch {
      // Given up: nothing answered request 5 on the replay.
    } finally {
      clearTimeout(giveUp);
      abort.abort();
    }
    assert.ok(resumable.lastEventIds.length > 0, "the upstream was asked to replay the stream");
    assert.deepEqual((listed?.result?.tools as { name: string }[] | undefined)?.map((t) => t.name), ["visible_tool"]);
  });

  test("an SDK client that resumes by itself gets the filtered list", async () => {
    const agent = await connect(gw.proxyUrl, "resumable", await grant("sdk-replayer", "resumable", "hides-secret"));
    try {
      const { tools } = await agent.listTools(undefined, { timeout: 15_000 });
      assert.deepEqual(
        tools.map((t) => t.name),
        ["visible_tool"],
      );
    } finally {
      await agent.close();
    }
  });
});
