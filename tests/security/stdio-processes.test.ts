// Issue 13 §7: a stdio server's whole process tree ends with its session, and one grant cannot take every stdio slot.
import { after, describe, test } from "node:test";
import assert from "node:assert/strict";
import { existsSync, mkdtempSync, readFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { startGateway, type TestGateway } from "../helpers/gateway.ts";
import { ROOT } from "../helpers/cli.ts";
import { answerTo, eventually, mcpHeaders, openSession, post, processAlive } from "../fixtures/raw-mcp.ts";

const SPAWNER = join(ROOT, "tests/fixtures/spawner-server.ts");
const EDGE = join(ROOT, "tests/fixtures/edge-server.ts");
const pidFile = join(mkdtempSync(join(tmpdir(), "toolgate-pids-")), "pids.jsonl");
/** How long the relay may take to stop a tree: generous, this is not a timing test. */
const STOPPED_WITHIN_MS = 5000;

interface Tree {
  sessionId: string;
  server: number;
  grandchild: number;
}

function trees(): { server: number; grandchild: number }[] {
  if (!existsSync(pidFile)) return [];
  return readFileSync(pidFile, "utf8").trim().split("\n").filter(Boolean).map((l) => JSON.parse(l) as { server: number; grandchild: number });
}

after(() => {
  // Whatever a failing run left behind must not outlive the test.
  for (const t of trees()) for (const pid of [t.grandchild, t.server]) if (processAlive(pid)) process.kill(pid, "SIGKILL");
});

/** A gateway with the spawner server and a grant for it. */
async function gatewayWithSpawner(args: string[] = []): Promise<{ gw: TestGateway; url: string; token: string }> {
  const gw = await startGateway({ args });
  await gw.admin.put("servers", "spawner", { transport: { type: "stdio", command: process.execPath, args: [SPAWNER, pidFile] } });
  await gw.admin.put("policies", "open", { document: { version: "1", default: "allow" } });
  const token = (await gw.admin.put<{ token: string }>("grants", "worker", { server: "spawner", policy: "open" })).value.token;
  return { gw, url: `${gw.proxyUrl}/mcp/spawner`, token };
}

/** Opens a session and asks its server for its pid and its grandchild's. */
async function openTree(url: string, token: string): Promise<Tree> {
  const sessionId = await openSession(url, token);
  const answer = await answerTo(await post(url, token, sessionId, { jsonrpc: "2.0", id: 1, method: "tools/call", params: { name: "tree", arguments: {} } }), 1);
  const tree = JSON.parse((answer.result?.content as { text: string }[])[0]!.text) as { server: number; grandchild: number };
  assert.ok(processAlive(tree.server) && processAlive(tree.grandchild), "server and grandchild run while the session is open");
  return { sessionId, ...tree };
}

const treeGone = (t: Tree) => eventually(() => !processAlive(t.server) && !processAlive(t.grandchild), STOPPED_WITHIN_MS);

describe("no grandchild of a stdio server survives its session", () => {
  let gw: TestGateway;
  let url: string;
  let token: string;

  after(async () => {
    await gw?.stop();
  });

  test("after the agent ends the session (DELETE)", async () => {
    ({ gw, url, token } = await gatewayWithSpawner());
    const tree = await openTree(url, token);
    const res = await fetch(url, { method: "DELETE", headers: mcpHeaders(token, tree.sessionId) });
    await res.arrayBuffer();
    assert.equal(res.status, 200);
    assert.ok(await treeGone(tree), `server ${tree.server} and grandchild ${tree.grandchild} are stopped`);
  });

  test("after the server process crashes", async () => {
    const tree = await openTree(url, token);
    const answer = await answerTo(await post(url, token, tree.sessionId, { jsonrpc: "2.0", id: 2, method: "tools/call", params: { name: "crash", arguments: {} } }), 2);
    assert.equal(answer.error?.code, -32002, "the agent is told the upstream failed");
    assert.ok(await treeGone(tree), `grandchild ${tree.grandchild} of the crashed server is stopped`);
  });

  test("after the gateway gets SIGTERM", async () => {
    const trees = [await openTree(url, token), await openTree(url, token)];
    assert.equal(await gw.stop(), 0);
    for (const tree of trees) assert.ok(await treeGone(tree), `server ${tree.server} and grandchild ${tree.grandchild} are stopped`);
  });
});

describe("no grandchild of a stdio server survives an idle timeout", () => {
  let gw: TestGateway | undefined;
  after(async () => {
    await gw?.stop();
  });

  test("a session nobody uses for --stdio-idle ends with its whole tree", async () => {
    let url: string;
    let token: string;
    ({ gw, url, token } = await gatewayWithSpawner(["--stdio-idle", "1s"]));
    const tree = await openTree(url, token);
    assert.ok(await eventually(() => !processAlive(tree.server) && !processAlive(tree.grandchild), 1000 + STOPPED_WITHIN_MS), `server ${tree.server} and grandchild ${tree.grandchild} are stopped`);
    const res = await post(url, token, tree.sessionId, { jsonrpc: "2.0", id: 3, method: "ping" });
    await res.arrayBuffer();
    assert.equal(res.status, 404, "the idle session is gone");
  });
});

describe("one grant cannot take every stdio slot (--max-stdio-per-grant)", () => {
  let gw: TestGateway;
  after(async () => {
    await gw?.stop();
  });

  test("a grant's third session gets 503 naming the limit; another grant still gets a session; an ended session frees a slot", async () => {
    gw = await startGateway({ args: ["--max-stdio-per-grant", "2"] });
    await gw.admin.put("servers", "edge", { transport: { type: "stdio", command: process.execPath, args: [EDGE] } });
    await gw.admin.put("policies", "open", { document: { version: "1", default: "allow" } });
    const greedy = (await gw.admin.put<{ token: string }>("grants", "greedy", { server: "edge", policy: "open" })).value.token;
    const other = (await gw.admin.put<{ token: string }>("grants", "other", { server: "edge", policy: "open" })).value.token;
    const url = `${gw.proxyUrl}/mcp/edge`;

    const held = [await openSession(url, greedy), await openSession(url, greedy)];
    const third = await post(url, greedy, undefined, { jsonrpc: "2.0", id: 1, method: "initialize", params: { protocolVersion: "2025-06-18", capabilities: {}, clientInfo: { name: "greedy", version: "1" } } });
    assert.equal(third.status, 503);
    const refusal = (await third.json()) as { id: unknown; error?: { code: number; message: string } };
    assert.equal(refusal.id, 1);
    assert.equal(typeof refusal.error?.code, "number");
    assert.match(refusal.error!.message, /grant/i);
    assert.match(refusal.error!.message, /\b2\b/, "the message names the limit");

    const theirs = await openSession(url, other);
    const ok = await answerTo(await post(url, other, theirs, { jsonrpc: "2.0", id: 2, method: "tools/call", params: { name: "ok", arguments: { n: 1 } } }), 2);
    assert.deepEqual(ok.result?.content, [{ type: "text", text: "ok 1" }]);

    const ended = await fetch(url, { method: "DELETE", headers: mcpHeaders(greedy, held[0]) });
    await ended.arrayBuffer();
    assert.equal(ended.status, 200);
    assert.ok(await eventually(async () => (await openSession(url, greedy).then(() => true, () => false)), STOPPED_WITHIN_MS), "the grant may open a session again once one ended");
  });
});
