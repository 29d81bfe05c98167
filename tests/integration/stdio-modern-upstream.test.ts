// The 2026-07-28 stdio upstream (gateway/proxy/stdio-modern-upstream.ts) driven directly: a tiny node:http server
// hands each POST to its post(), as the relay does, in front of the real dual-era stdio fixture
// (tests/fixtures/mcp2026/stdio-server.ts) and server-everything's stdio (2025 only). Every server is started through
// `sh`, which logs the pid of each process the upstream starts, so tests can see which processes exist and crash one.
import { after, before, describe, test } from "node:test";
import assert from "node:assert/strict";
import { existsSync, mkdtempSync, readFileSync, rmSync } from "node:fs";
import { createServer, type Server } from "node:http";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { pino } from "pino";
import type { ServerTarget } from "../../gateway/contracts.ts";
import type { GrantBound } from "../../gateway/proxy/grant-watch.ts";
import type { JsonRpcMessage } from "../../gateway/proxy/jsonrpc.ts";
import { createModernStdioUpstream, type ModernStdioUpstream } from "../../gateway/proxy/stdio-modern-upstream.ts";
import type { StdioLimits } from "../../gateway/proxy/stdio-upstream.ts";
import type { PostOutcome, UpstreamFailure } from "../../gateway/proxy/upstream.ts";
import type { FixtureRecord } from "../fixtures/mcp2026/server-tools.ts";
import { ROOT } from "../helpers/cli.ts";
import { freePort } from "../helpers/free-port.ts";
import { eventually } from "../helpers/upstreams.ts";

type StdioTarget = ServerTarget & { transport: { type: "stdio" } };
type Id = string | number;

const SERVER_INFO = { "io.modelcontextprotocol/serverInfo": { name: "mcp2026-fixture", version: "1.0.0" } };
const BOTH = "application/json, text/event-stream";

/** A stdio target whose every process appends its pid to `<dir>/pids` (then execs `command args`). */
function target(name: string, dir: string, command: string, args: string[], more: Partial<Omit<ServerTarget, "transport">> = {}): StdioTarget {
  return {
    name,
    version: 1,
    transport: { type: "stdio", command: "sh", args: ["-c", 'echo $$ >> "$PID_LOG"; exec "$@"', "sh", command, ...args], env: { PID_LOG: join(dir, "pids"), RECORD_LOG: join(dir, "records") }, cwd: ROOT },
    timeoutMs: 10_000,
    totalTimeoutMs: null,
    maxInFlight: 100,
    roots: null,
    ...more,
  };
}

const fixture = (dir: string, more: Partial<Omit<ServerTarget, "transport">> = {}) => target("fixture", dir, process.execPath, ["tests/fixtures/mcp2026/stdio-server.ts"], more);

/** The fixture marked as keeping state between one client's requests (its tools added by add_tool live in its process). */
function statefulFixture(dir: string): StdioTarget {
  const t = fixture(dir);
  return { ...t, transport: { ...t.transport, stateful: true } };
}

interface Harness {
  url: string;
  upstream: ModernStdioUpstream;
  limits: StdioLimits;
  dir: string;
  outcomes: Map<string, PostOutcome>;
  errors: UpstreamFailure[];
  toolsChanged: number;
  /** What the upstream holds open per grant (GrantWatch.hold), still held. */
  held: Set<GrantBound>;
  /** As the gateway does once a grant is revoked: closes what it holds. */
  revoke(grant: string): void;
  pids(): number[];
  records(): FixtureRecord[];
  close(): Promise<void>;
}

/** The upstream behind a loopback HTTP server; the grant is the `x-grant` header, the outcome of each POST is kept by `x-tag`. */
async function harness(make: (dir: string) => StdioTarget, o: { limits?: Partial<StdioLimits>; idleMs?: number; maxPerProcess?: number } = {}): Promise<Harness> {
  const dir = mkdtempSync(join(tmpdir(), "tg-modern-stdio-"));
  const limits: StdioLimits = { active: 0, max: 64, perGrant: new Map(), maxPerGrant: 8, ...o.limits };
  const outcomes = new Map<string, PostOutcome>();
  const h: Harness = {
    url: "",
    upstream: undefined as unknown as ModernStdioUpstream,
    limits,
    dir,
    outcomes,
    errors: [],
    toolsChanged: 0,
    held: new Set(),
    revoke: (grant) => {
      for (const b of [...h.held].filter((b) => b.grant === grant)) {
        h.held.delete(b);
        b.close(`grant "${grant}" was revoked, rotated or expired`);
      }
    },
    pids: () => (existsSync(join(dir, "pids")) ? readFileSync(join(dir, "pids"), "utf8").trim().split("\n").map(Number) : []),
    records: () => (existsSync(join(dir, "records")) ? readFileSync(join(dir, "records"), "utf8").trim().split("\n").map((l) => JSON.parse(l) as FixtureRecord) : []),
    close: async () => {},
  };
  h.upstream = createModernStdioUpstream(
    make(dir),
    { limits, idleMs: o.idleMs ?? 60_000, dataDir: undefined, log: pino({ level: "silent" }), ...(o.maxPerProcess ? { maxPerProcess: o.maxPerProcess } : {}) },
    {
      onError: (kind) => h.errors.push(kind),
      onToolsChanged: () => h.toolsChanged++,
      filterList: () => undefined,
      roots: () => ({ kind: "none" }),
      watch: {
        hold: (bound) => {
          h.held.add(bound);
          return () => h.held.delete(bound);
        },
        stop: () => {},
      },
    },
  );
  const server: Server = createServer(async (req, res) => {
    const chunks: Buffer[] = [];
    for await (const chunk of req) chunks.push(chunk as Buffer);
    const body = Buffer.concat(chunks);
    const message = JSON.parse(body.toString()) as JsonRpcMessage;
    const kind = message.id === undefined ? "notification" : "request";
    const outcome = await h.upstream.post({ message, body, kind, era: "2026", ...(message.id != null ? { id: message.id } : {}), req, res, grant: String(req.headers["x-grant"]), tokenHash: `hash of ${String(req.headers["x-grant"])}'s token` });
    outcomes.set(String(req.headers["x-tag"]), outcome);
  });
  const port = await freePort();
  await new Promise<void>((resolve) => server.listen(port, "127.0.0.1", resolve));
  h.url = `http://127.0.0.1:${port}/`;
  h.close = async () => {
    await h.upstream.close();
    server.closeAllConnections();
    await new Promise((resolve) => server.close(resolve));
    rmSync(dir, { recursive: true, force: true });
  };
  return h;
}

/** A 2026-07-28 request with the per-request envelope (and a progress token when given). */
function modern(id: Id, method: string, params: Record<string, unknown> = {}, progressToken?: Id): JsonRpcMessage {
  const meta = { "io.modelcontextprotocol/protocolVersion": "2026-07-28", "io.modelcontextprotocol/clientCapabilities": {}, ...(progressToken !== undefined ? { progressToken } : {}) };
  return { jsonrpc: "2.0", id, method, params: { ...params, _meta: meta } };
}

const call = (id: Id, name: string, args: Record<string, unknown>, progressToken?: Id) => modern(id, "tools/call", { name, arguments: args }, progressToken);

function post(h: Harness, grant: string, message: JsonRpcMessage, o: { accept?: string; tag?: string; signal?: AbortSignal } = {}): Promise<Response> {
  return fetch(h.url, {
    method: "POST",
    headers: { "content-type": "application/json", accept: o.accept ?? "application/json", "x-grant": grant, "x-tag": o.tag ?? grant },
    body: JSON.stringify(message),
    ...(o.signal ? { signal: o.signal } : {}),
  });
}

/** The messages of an event-stream answer, one at a time as they arrive. */
async function* events(res: Response): AsyncGenerator<JsonRpcMessage> {
  assert.equal(res.headers.get("content-type"), "text/event-stream");
  const decoder = new TextDecoder();
  let buffer = "";
  for await (const chunk of res.body!) {
    buffer += decoder.decode(chunk, { stream: true });
    for (let end = buffer.indexOf("\n\n"); end !== -1; end = buffer.indexOf("\n\n")) {
      const data = buffer.slice(0, end).split("\n").filter((l) => l.startsWith("data: ")).map((l) => l.slice(6)).join("\n");
      buffer = buffer.slice(end + 2);
      if (data) yield JSON.parse(data) as JsonRpcMessage;
    }
  }
}

async function allEvents(res: Response): Promise<JsonRpcMessage[]> {
  const all: JsonRpcMessage[] = [];
  for await (const m of events(res)) all.push(m);
  return all;
}

function alive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
}

const text = (id: Id, t: string) => ({ jsonrpc: "2.0", id, result: { content: [{ type: "text", text: t }], resultType: "complete", _meta: SERVER_INFO } });

describe("era probe", () => {
  test("a 2026-07-28 server is modern, probed once on a process of its own that is then stopped", async () => {
    const h = await harness((dir) => fixture(dir));
    try {
      assert.equal(await h.upstream.era(), "2026");
      assert.equal(await h.upstream.era(), "2026");
      assert.equal(h.pids().length, 1);
      assert.deepEqual(await eventually(async () => [alive(h.pids()[0]!), h.limits.active], ([a, n]) => !a && n === 0), [false, 0]);
    } finally {
      await h.close();
    }
  });

  test("server-everything (2025 only) is legacy, and a 2026 request for it is refused with -32022 and never written", async () => {
    const h = await harness((dir) => target("everything", dir, process.execPath, ["node_modules/@modelcontextprotocol/server-everything/dist/index.js", "stdio"]));
    try {
      assert.equal(await h.upstream.era(), "2025");
      const res = await post(h, "a", call(1, "echo", { message: "pre-init" }));
      assert.equal(res.status, 400);
      assert.deepEqual(await res.json(), {
        jsonrpc: "2.0",
        id: 1,
        error: {
          code: -32022,
          message: 'Unsupported protocol version: upstream server "everything" speaks only 2025-11-25, 2025-06-18, 2025-03-26',
          data: { supported: ["2025-11-25", "2025-06-18", "2025-03-26"], requested: "2026-07-28" },
        },
      });
      assert.deepEqual(h.outcomes.get("a"), { status: null, written: false });
      // The probe's process is the only one ever started.
      assert.equal(h.pids().length, 1);
    } finally {
      await h.close();
    }
  });

  test("a server that exits before answering is legacy", async () => {
    const h = await harness((dir) => target("quits", dir, process.execPath, ["-e", ""]));
    try {
      assert.equal(await h.upstream.era(), "2025");
    } finally {
      await h.close();
    }
  });
});

describe("a pool shared by grants", () => {
  let h: Harness;
  before(async () => {
    h = await harness((dir) => fixture(dir));
  });
  after(async () => {
    await h.close();
  });

  test("colliding ids from two grants (1 and 1, 1 and \"1\") on one process each get their own answer", async () => {
    const answers = await Promise.all([
      post(h, "a", call(1, "slow", { steps: 1, ms: 200 }), { tag: "a1" }),
      post(h, "b", call(1, "slow", { steps: 2, ms: 100 }), { tag: "b1" }),
      post(h, "b", call("1", "slow", { steps: 4, ms: 50 }), { tag: "b'1'" }),
    ]);
    assert.deepEqual(
      await Promise.all(answers.map((r) => r.json())),
      [text(1, "slept 1 x 200 ms"), text(1, "slept 2 x 100 ms"), text("1", "slept 4 x 50 ms")],
    );
    assert.deepEqual(answers.map((r) => r.headers.get("content-type")), ["application/json", "application/json", "application/json"]);
    assert.equal(h.outcomes.get("a1")?.written, true);
    // The probe's process, then one process for all three.
    assert.equal(h.pids().length, 2);
  });

  test("progress goes back to the call that asked, under its own token, when two grants use the same token", async () => {
    const [a, b] = await Promise.all([
      post(h, "a", call(5, "slow", { steps: 3, ms: 30 }, "tok"), { accept: BOTH }).then(allEvents),
      post(h, "b", call(5, "slow", { steps: 2, ms: 30 }, "tok"), { accept: BOTH }).then(allEvents),
    ]);
    assert.deepEqual(a[0], { jsonrpc: "2.0", method: "notifications/progress", params: { progressToken: "tok", progress: 1, total: 3, message: "step 1 of 3" } });
    assert.deepEqual(b[0], { jsonrpc: "2.0", method: "notifications/progress", params: { progressToken: "tok", progress: 1, total: 2, message: "step 1 of 2" } });
    assert.deepEqual(a.filter((m) => m.method === "notifications/progress").map((m) => m.params?.total), [3, 3, 3]);
    assert.deepEqual(b.filter((m) => m.method === "notifications/progress").map((m) => m.params?.total), [2, 2]);
    assert.deepEqual(a.at(-1), text(5, "slept 3 x 30 ms"));
    assert.deepEqual(b.at(-1), text(5, "slept 2 x 30 ms"));
  });

  test("an agent closing its response cancels the call on the process", async () => {
    const cancelled = h.records().filter((r) => r.kind === "cancelled").length;
    const abort = new AbortController();
    const res = await post(h, "a", call(9, "slow", { steps: 50, ms: 100 }, "c"), { accept: BOTH, signal: abort.signal, tag: "closed" });
    const first = await events(res).next();
    assert.equal(first.value?.method, "notifications/progress");
    abort.abort();
    const records = await eventually(async () => h.records().filter((r) => r.kind === "cancelled"), (r) => r.length > cancelled);
    assert.deepEqual(records.at(-1), { kind: "cancelled", era: "modern", tool: "slow" });
    assert.deepEqual(h.outcomes.get("closed"), { status: 200, failure: "closed", written: true });
  });

  test("an agent's notifications/cancelled reaches the process under the gateway's id for that request", async () => {
    const cancelled = h.records().filter((r) => r.kind === "cancelled").length;
    const abort = new AbortController();
    const res = await post(h, "b", call(3, "slow", { steps: 50, ms: 100 }, "c"), { accept: BOTH, signal: abort.signal });
    await events(res).next();
    const notice = await post(h, "b", { jsonrpc: "2.0", method: "notifications/cancelled", params: { requestId: 3, reason: "no longer needed" } }, { tag: "notice" });
    assert.equal(notice.status, 202);
    assert.deepEqual(h.outcomes.get("notice"), { status: 202, written: true });
    const records = await eventually(async () => h.records().filter((r) => r.kind === "cancelled"), (r) => r.length > cancelled);
    assert.deepEqual(records.at(-1), { kind: "cancelled", era: "modern", tool: "slow" });
    abort.abort();
  });

  test("subscriptions/listen: each grant's stream is tagged with its own listen id", async () => {
    const aborts = [new AbortController(), new AbortController()];
    const filter = { notifications: { toolsListChanged: true } };
    const [a, b] = await Promise.all([
      post(h, "a", modern(7, "subscriptions/listen", filter), { accept: BOTH, signal: aborts[0]!.signal }).then(events),
      post(h, "b", modern("7", "subscriptions/listen", filter), { accept: BOTH, signal: aborts[1]!.signal }).then(events),
    ]);
    const ack = (id: Id) => ({ jsonrpc: "2.0", method: "notifications/subscriptions/acknowledged", params: { notifications: { toolsListChanged: true }, _meta: { "io.modelcontextprotocol/subscriptionId": id } } });
    assert.deepEqual((await a.next()).value, ack(7));
    assert.deepEqual((await b.next()).value, ack("7"));
    assert.deepEqual(await (await post(h, "c", call(2, "add_tool", { name: "extra" }))).json(), text(2, "added extra"));
    const changed = (id: Id) => ({ jsonrpc: "2.0", method: "notifications/tools/list_changed", params: { _meta: { "io.modelcontextprotocol/subscriptionId": id } } });
    assert.deepEqual((await a.next()).value, changed(7));
    assert.deepEqual((await b.next()).value, changed("7"));
    assert.ok(h.toolsChanged > 0);
    for (const abort of aborts) abort.abort();
  });

  test("a crash fails the calls in flight on that process, and the next call starts another", async () => {
    const res = await post(h, "a", call(4, "slow", { steps: 100, ms: 100 }, "k"), { accept: BOTH, tag: "crashed" });
    const stream = events(res);
    assert.equal((await stream.next()).value?.method, "notifications/progress");
    process.kill(h.pids().at(-1)!, "SIGKILL");
    let last: JsonRpcMessage | undefined;
    for await (const m of stream) last = m;
    assert.deepEqual(last, {
      jsonrpc: "2.0",
      id: 4,
      error: { code: -32603, message: 'Upstream server "fixture" process exited with SIGKILL', data: { toolgate: "upstream", failure: "crash" } },
    });
    assert.deepEqual(h.outcomes.get("crashed"), { status: 200, failure: "crash", written: true });
    assert.deepEqual(h.errors, ["crash"]);
    const started = h.pids().length;
    assert.deepEqual(await (await post(h, "a", call(6, "echo", { text: "again" }))).json(), text(6, "echo: again"));
    assert.equal(h.pids().length, started + 1);
  });
});

describe("limits and lifetimes", () => {
  test("a process idle for idleMs stops, and the next request starts another", async () => {
    const h = await harness((dir) => fixture(dir), { idleMs: 200 });
    try {
      assert.deepEqual(await (await post(h, "a", call(1, "echo", { text: "one" }))).json(), text(1, "echo: one"));
      const pool = h.pids()[1]!;
      assert.deepEqual(await eventually(async () => [alive(pool), h.limits.active], ([a, n]) => !a && n === 0), [false, 0]);
      assert.deepEqual(h.errors, []);
      assert.deepEqual(await (await post(h, "a", call(2, "echo", { text: "two" }))).json(), text(2, "echo: two"));
      assert.equal(h.pids().length, 3);
    } finally {
      await h.close();
    }
    assert.equal(h.limits.active, 0);
  });

  test("a full process makes another, up to the global limit; a grant gets maxPerGrant x maxPerProcess requests", async () => {
    const h = await harness((dir) => fixture(dir), { maxPerProcess: 1, limits: { max: 3, maxPerGrant: 1 } });
    const abort = new AbortController();
    try {
      assert.equal(await h.upstream.era(), "2026");
      await eventually(async () => h.limits.active, (n) => n === 0);
      const open = async (grant: string, id: number) => {
        const stream = events(await post(h, grant, call(id, "slow", { steps: 100, ms: 100 }, "t"), { accept: BOTH, signal: abort.signal }));
        assert.equal((await stream.next()).value?.method, "notifications/progress");
      };
      await open("a", 1);
      await open("b", 1);
      const grantFull = await post(h, "a", call(2, "echo", { text: "x" }));
      assert.equal(grantFull.status, 503);
      assert.deepEqual(await grantFull.json(), {
        jsonrpc: "2.0",
        id: 2,
        error: { code: -32603, message: 'Too many requests in flight for grant "a" on server "fixture" (limit 1: --max-stdio-per-grant x 1 per process); try again shortly', data: { toolgate: "upstream", failure: "busy" } },
      });
      await open("c", 1);
      assert.equal(h.limits.active, 3);
      const gatewayFull = await post(h, "d", call(1, "echo", { text: "x" }), { tag: "d" });
      assert.equal(gatewayFull.status, 503);
      assert.deepEqual(await gatewayFull.json(), {
        jsonrpc: "2.0",
        id: 1,
        error: { code: -32603, message: "Too many stdio processes on this gateway (limit 3, --max-stdio-processes); try again shortly or raise the limit", data: { toolgate: "upstream", failure: "busy" } },
      });
      assert.deepEqual(h.outcomes.get("d"), { status: null, failure: "busy", written: false });
      // The probe's process and three pool processes.
      assert.equal(h.pids().length, 4);
    } finally {
      abort.abort();
      await h.close();
    }
    assert.equal(h.limits.active, 0);
  });

  test("a call that goes quiet past timeoutMs fails with the 2026 upstream error and is cancelled on the process", async () => {
    const h = await harness((dir) => fixture(dir, { timeoutMs: 300 }));
    try {
      const res = await post(h, "a", call(1, "slow", { steps: 1, ms: 5000 }), { tag: "quiet" });
      assert.deepEqual(await res.json(), {
        jsonrpc: "2.0",
        id: 1,
        error: { code: -32603, message: 'Upstream server "fixture" sent nothing for 300 ms (timeoutMs)', data: { toolgate: "upstream", failure: "timeout" } },
      });
      assert.deepEqual(h.outcomes.get("quiet"), { status: 200, failure: "timeout", written: true });
      const records = await eventually(async () => h.records().filter((r) => r.kind === "cancelled"), (r) => r.length > 0);
      assert.deepEqual(records, [{ kind: "cancelled", era: "modern", tool: "slow" }]);
    } finally {
      await h.close();
    }
  });
});

describe("a stateful server (transport.stateful)", () => {
  test("a stateful server: each grant gets its own process; a grant's requests share one", async () => {
    const h = await harness(statefulFixture);
    try {
      assert.deepEqual(await (await post(h, "a", call(1, "add_tool", { name: "only_a" }))).json(), text(1, "added only_a"));
      // Two of a's requests at once: both on the process that holds a's tool.
      const [slow, added] = await Promise.all([post(h, "a", call(2, "slow", { steps: 2, ms: 100 })), post(h, "a", call(3, "only_a", {}))]);
      assert.deepEqual(await slow.json(), text(2, "slept 2 x 100 ms"));
      assert.deepEqual(await added.json(), text(3, "only_a ran"));
      // b gets a process of its own, where a's tool does not exist.
      assert.deepEqual(await (await post(h, "b", call(1, "only_a", {}))).json(), { jsonrpc: "2.0", id: 1, error: { code: -32602, message: "Tool only_a not found" } });
      // The probe's process, a's and b's.
      assert.equal(h.pids().length, 3);
    } finally {
      await h.close();
    }
    assert.equal(h.limits.active, 0);
  });

  test("the same caps: a grant's processes fill before another starts, a grant gets maxPerGrant x maxPerProcess, the gateway limits.max", async () => {
    const h = await harness(statefulFixture, { maxPerProcess: 2, limits: { max: 2, maxPerGrant: 1 } });
    const abort = new AbortController();
    try {
      assert.equal(await h.upstream.era(), "2026");
      await eventually(async () => h.limits.active, (n) => n === 0);
      const open = async (grant: string, id: number) => {
        const stream = events(await post(h, grant, call(id, "slow", { steps: 100, ms: 100 }, "t"), { accept: BOTH, signal: abort.signal }));
        assert.equal((await stream.next()).value?.method, "notifications/progress");
      };
      await open("a", 1);
      await open("a", 2);
      assert.equal(h.limits.active, 1);
      const grantFull = await post(h, "a", call(3, "echo", { text: "x" }));
      assert.equal(grantFull.status, 503);
      assert.deepEqual(await grantFull.json(), {
        jsonrpc: "2.0",
        id: 3,
        error: { code: -32603, message: 'Too many requests in flight for grant "a" on server "fixture" (limit 2: --max-stdio-per-grant x 2 per process); try again shortly', data: { toolgate: "upstream", failure: "busy" } },
      });
      await open("b", 1);
      assert.equal(h.limits.active, 2);
      // b's process has room, but it is b's: c needs a process of its own, and the gateway has none left.
      const gatewayFull = await post(h, "c", call(1, "echo", { text: "x" }), { tag: "c" });
      assert.equal(gatewayFull.status, 503);
      assert.deepEqual(await gatewayFull.json(), {
        jsonrpc: "2.0",
        id: 1,
        error: { code: -32603, message: "Too many stdio processes on this gateway (limit 2, --max-stdio-processes); try again shortly or raise the limit", data: { toolgate: "upstream", failure: "busy" } },
      });
      assert.deepEqual(h.outcomes.get("c"), { status: null, failure: "busy", written: false });
      // The probe's process, a's and b's.
      assert.equal(h.pids().length, 3);
    } finally {
      abort.abort();
      await h.close();
    }
    assert.equal(h.limits.active, 0);
  });

  test("a revoked grant's processes stop (other grants' keep running), and its next request starts afresh", async () => {
    const h = await harness(statefulFixture);
    try {
      assert.deepEqual(await (await post(h, "a", call(1, "add_tool", { name: "only_a" }))).json(), text(1, "added only_a"));
      assert.deepEqual(await (await post(h, "b", call(1, "echo", { text: "b" }))).json(), text(1, "echo: b"));
      const [ofA, ofB] = h.pids().slice(1);
      h.revoke("a");
      assert.deepEqual(await eventually(async () => [alive(ofA!), h.limits.active], ([a, n]) => !a && n === 1), [false, 1]);
      assert.equal(alive(ofB!), true);
      // Stopped on purpose: not an upstream crash.
      assert.deepEqual(h.errors, []);
      assert.deepEqual(await (await post(h, "a", call(2, "only_a", {}))).json(), { jsonrpc: "2.0", id: 2, error: { code: -32602, message: "Tool only_a not found" } });
      assert.equal(h.pids().length, 4);
    } finally {
      await h.close();
    }
    assert.equal(h.limits.active, 0);
  });
});
