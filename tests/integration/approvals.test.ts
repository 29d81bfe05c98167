import { test, before, after } from "node:test";
import assert from "node:assert/strict";
import { McpServer } from "@modelcontextprotocol/sdk/server/mcp.js";
import { McpError } from "@modelcontextprotocol/sdk/types.js";
import { z } from "zod";
import { createServer, type Server } from "node:http";
import type { AddressInfo } from "node:net";
import { verifyWebhook, type ApprovalList, type ApprovalObject } from "../../sdk/index.ts";
import { serveOverHttp, type EverythingHttp } from "../fixtures/everything-http.ts";
import { toolgate } from "../helpers/cli.ts";
import { startGateway, type TestGateway } from "../helpers/gateway.ts";
import { connect, text } from "../helpers/mcp-client.ts";

let gw: TestGateway;
let bank: EverythingHttp;
let token: string;
/** Calls that reached the upstream, by tool. */
const sent: Record<string, number> = {};
let flakyFailures = 1;
/** The webhook receivers of these tests listen on loopback, which the gateway refuses unless allowed. */
const ALLOW_LOOPBACK_WEBHOOKS = ["--webhook-allow", "127.0.0.1"];

before(async () => {
  bank = await serveOverHttp(() => {
    const server = new McpServer({ name: "bank", version: "1.0.0" });
    const count = (tool: string) => (sent[tool] = (sent[tool] ?? 0) + 1);
    server.registerTool("wire_transfer", { inputSchema: { amount: z.number(), to: z.string() } }, async ({ amount, to }) => {
      count("wire_transfer");
      await new Promise((r) => setTimeout(r, 50));
      return { content: [{ type: "text", text: `sent ${amount} to ${to}` }] };
    });
    server.registerTool("flaky_payout", { inputSchema: { amount: z.number() } }, async ({ amount }) => {
      count("flaky_payout");
      if (flakyFailures-- > 0) return { content: [{ type: "text", text: "bank is down" }], isError: true };
      return { content: [{ type: "text", text: `paid ${amount}` }] };
    });
    server.registerTool("quick_refund", { inputSchema: { amount: z.number() } }, async ({ amount }) => {
      count("quick_refund");
      return { content: [{ type: "text", text: `refunded ${amount}` }] };
    });
    server.registerTool("held_payment", { inputSchema: { amount: z.number() } }, async ({ amount }) => {
      count("held_payment");
      return { content: [{ type: "text", text: `held payment of ${amount} made` }] };
    });
    server.registerTool("held_briefly", { inputSchema: {} }, async () => {
      count("held_briefly");
      return { content: [{ type: "text", text: "done" }] };
    });
    server.registerTool("close_account", { inputSchema: { id: z.string() } }, async ({ id }) => {
      count("close_account");
      return { content: [{ type: "text", text: `closed ${id}` }] };
    });
    return { server };
  });
  gw = await startGateway({ args: ALLOW_LOOPBACK_WEBHOOKS });
  await gw.admin.put("servers", "bank", { transport: { type: "streamable-http", url: bank.url } });
  await gw.admin.put("policies", "treasury", {
    document: {
      version: "1",
      default: "allow",
      tools: {
        wire_transfer: { approval: { when: [{ path: "args.amount", op: "gt", value: 1000 }], timeout: "30m" } },
        flaky_payout: { approval: {} },
        quick_refund: { approval: { timeout: "2s" } },
        close_account: { approval: { error: "jsonrpc" } },
        held_payment: { approval: { mode: "hold", when: [{ path: "args.amount", op: "gte", value: 100 }] } },
        held_briefly: { approval: { mode: "hold", timeout: "2s" } },
      },
    },
  });
  token = (await gw.admin.put<{ token: string }>("grants", "treasurer", { server: "bank", policy: "treasury" })).value.token;
});

after(async () => {
  assert.equal(await gw.stop(), 0);
  await bank.close();
});

const cli = (args: string[]) => toolgate([...args, "--endpoint", gw.adminUrl, "--token", gw.adminToken]);
async function call(tool: string, args: Record<string, unknown>): Promise<string> {
  const agent = await connect(gw.proxyUrl, "bank", token);
  try {
    return text(await agent.callTool({ name: tool, arguments: args }));
  } finally {
    await agent.close();
  }
}
const approvalId = (answer: string) => /Approval (apr_[A-Za-z0-9_-]+) is pending/.exec(answer)?.[1];
const approve = (id: string, by = "alice@example.com") => gw.admin.postJson<ApprovalObject>(`/v1/approvals/${id}/approve`, { by });

test("a guarded call is held for approval with an id; the same call again reuses it; small calls pass", async () => {
  assert.equal(await call("wire_transfer", { amount: 50, to: "ACME-1" }), "sent 50 to ACME-1");
  const first = await call("wire_transfer", { amount: 5000, to: "ACME-12345" });
  assert.match(first, /^\[APPROVAL REQUIRED\] Call to "wire_transfer" needs a person's approval \(args\.amount gt 1000\)\. Approval apr_\S+ is pending until \S+Z\. Ask an approver to approve it, then retry exactly the same call \(same tool and arguments\): it will pass once\.$/);
  const again = await call("wire_transfer", { amount: 5000, to: "ACME-12345" });
  assert.equal(approvalId(again), approvalId(first));
  assert.equal(sent.wire_transfer, 1, "the held call never reached the upstream");

  const pending = await gw.admin.getJson<ApprovalList>("/v1/approvals", { status: "pending" });
  const mine = pending.items.find((a) => a.id === approvalId(first))!;
  assert.deepEqual([mine.tool, mine.server, mine.grant, mine.arguments, mine.reason, mine.policy], ["wire_transfer", "bank", "treasurer", { amount: 5000, to: "ACME-12345" }, "args.amount gt 1000", "treasury"]);
  const listed = await cli(["approvals", "list"]);
  assert.match(listed.stdout, new RegExp(`^${mine.id} +pending +treasurer +bank +wire_transfer +\\S+ +args\\.amount gt 1000$`, "m"));
  const shown = await cli(["approvals", "show", mine.id]);
  assert.match(shown.stdout, /"to": "ACME-12345"/);

  const audit = JSON.stringify(await gw.admin.getJson("/v1/audit", { tool: "wire_transfer" }));
  assert.ok(audit.includes("approval/requested"), "the request is audited");
  assert.ok(!audit.includes("ACME-12345") && !audit.includes("5000"), "argument values never reach the audit log");
});

test("once approved (CLI), the identical call passes exactly once; other arguments do not ride on it", async () => {
  const answer = await call("wire_transfer", { amount: 7000, to: "ACME-7" });
  const id = approvalId(answer)!;
  const approved = await cli(["approvals", "approve", id, "--by", "alice@example.com"]);
  assert.equal(approved.code, 0, approved.stderr);
  assert.match(approved.stdout, new RegExp(`^approved ${id} \\(wire_transfer on bank for grant treasurer\\)`));
  const before = sent.wire_transfer ?? 0;
  assert.match(await call("wire_transfer", { amount: 7001, to: "ACME-7" }), /^\[APPROVAL REQUIRED\]/, "different arguments need their own approval");
  assert.equal(await call("wire_transfer", { amount: 7000, to: "ACME-7" }), "sent 7000 to ACME-7");
  const next = await call("wire_transfer", { amount: 7000, to: "ACME-7" });
  assert.match(next, /^\[APPROVAL REQUIRED\]/);
  assert.notEqual(approvalId(next), id, "a used approval is not used again");
  assert.equal(sent.wire_transfer, before + 1);
  const used = await gw.admin.getJson<ApprovalObject>(`/v1/approvals/${id}`);
  assert.equal(used.status, "consumed");
  assert.equal(used.decidedBy, "alice@example.com");
  const twice = await fetch(`${gw.adminUrl}/v1/approvals/${id}/approve`, { method: "POST", headers: { authorization: `Bearer ${gw.adminToken}`, "content-type": "application/json" }, body: JSON.stringify({ by: "mallory" }) });
  assert.deepEqual([twice.status, ((await twice.json()) as { detail: string }).detail], [409, `approval "${id}" is consumed (by alice@example.com); only a pending approval can be approved`]);
});

test("two identical retries at once after approval: exactly one reaches the upstream", async () => {
  const id = approvalId(await call("wire_transfer", { amount: 9000, to: "RACE" }))!;
  await approve(id);
  const before = sent.wire_transfer ?? 0;
  const answers = await Promise.all([call("wire_transfer", { amount: 9000, to: "RACE" }), call("wire_transfer", { amount: 9000, to: "RACE" })]);
  assert.deepEqual(answers.map((a) => (a.startsWith("sent") ? "sent" : a.startsWith("[APPROVAL REQUIRED]") ? "held" : a)).sort(), ["held", "sent"]);
  assert.equal(sent.wire_transfer, before + 1);
});

test("a denial reaches the agent with the approver's reason; a denial needs a reason", async () => {
  const id = approvalId(await call("wire_transfer", { amount: 20000, to: "OFFSHORE" }))!;
  const noReason = await cli(["approvals", "deny", id]);
  assert.deepEqual([noReason.code, noReason.stderr], [1, "toolgate approvals: deny needs --reason: the agent is told it\n"]);
  const denied = await cli(["approvals", "deny", id, "--by", "bob@example.com", "--reason", "not a known counterparty"]);
  assert.equal(denied.code, 0, denied.stderr);
  assert.equal(await call("wire_transfer", { amount: 20000, to: "OFFSHORE" }), `[POLICY DENIED] Approval ${id} was denied by bob@example.com: not a known counterparty`);
  const events = await gw.admin.getJson<{ items: { method: string; message: string }[] }>("/v1/audit", { tool: "wire_transfer", decision: "event" });
  assert.ok(events.items.some((e) => e.method === "approval/denied" && e.message === `${id} denied by bob@example.com: not a known counterparty`));
});

test("when the upstream fails, the approval is given back and the retry passes", async () => {
  const id = approvalId(await call("flaky_payout", { amount: 10 }))!;
  await approve(id);
  assert.equal(await call("flaky_payout", { amount: 10 }), "bank is down");
  assert.equal((await gw.admin.getJson<ApprovalObject>(`/v1/approvals/${id}`)).status, "approved");
  assert.equal(await call("flaky_payout", { amount: 10 }), "paid 10");
  assert.equal((await gw.admin.getJson<ApprovalObject>(`/v1/approvals/${id}`)).status, "consumed");
});

test("expiry: an unanswered request expires, cannot be approved, and is audited", async () => {
  const id = approvalId(await call("quick_refund", { amount: 5 }))!;
  await new Promise((r) => setTimeout(r, 2300));
  const late = await fetch(`${gw.adminUrl}/v1/approvals/${id}/approve`, { method: "POST", headers: { authorization: `Bearer ${gw.adminToken}`, "content-type": "application/json" }, body: JSON.stringify({ by: "alice" }) });
  assert.deepEqual([late.status, ((await late.json()) as { detail: string }).detail], [409, `approval "${id}" is expired; only a pending approval can be approved`]);
  const events = await gw.admin.getJson<{ items: { method: string; message: string }[] }>("/v1/audit", { tool: "quick_refund", decision: "event" });
  assert.ok(events.items.some((e) => e.method === "approval/expired" && e.message === `${id} expired (nobody answered)`));
  assert.notEqual(approvalId(await call("quick_refund", { amount: 5 })), id, "a new request replaces the expired one");
  assert.equal(sent.quick_refund, undefined);
});

test("the JSON-RPC -32003 shape, for clients built for Intercept", async () => {
  const agent = await connect(gw.proxyUrl, "bank", token);
  try {
    await assert.rejects(agent.callTool({ name: "close_account", arguments: { id: "A-1" } }), (error: unknown) => {
      assert.ok(error instanceof McpError);
      assert.equal(error.code, -32003);
      assert.match(error.message, /\[APPROVAL REQUIRED\] Call to "close_account" needs a person's approval \(every call\)/);
      assert.match(String((error.data as { approvalId: string }).approvalId), /^apr_/);
      return true;
    });
  } finally {
    await agent.close();
  }
});

/** The id of the pending approval for `tool`, once the held call has created it. */
async function pendingApproval(tool: string): Promise<string> {
  for (let i = 0; i < 100; i++) {
    const list = await gw.admin.getJson<ApprovalList>("/v1/approvals", { status: "pending", tool });
    if (list.items[0]) return list.items[0].id;
    await new Promise((r) => setTimeout(r, 50));
  }
  throw new Error(`no pending approval for ${tool}`);
}

test("hold mode: the call stays open with progress notifications, and completes by itself once approved, exactly once", async () => {
  const agent = await connect(gw.proxyUrl, "bank", token);
  try {
    const progress: string[] = [];
    const answer = agent.callTool({ name: "held_payment", arguments: { amount: 500 } }, undefined, { onprogress: (p) => void progress.push(p.message ?? ""), resetTimeoutOnProgress: true });
    const id = await pendingApproval("held_payment");
    assert.equal(sent.held_payment, undefined, "nothing reached the upstream while held");
    while (progress.length === 0) await new Promise((r) => setTimeout(r, 20));
    assert.match(progress[0]!, new RegExp(`^Waiting for a person to approve ${id} \\(until \\S+Z\\)$`));
    await approve(id);
    assert.equal(text(await answer), "held payment of 500 made");
    assert.equal(sent.held_payment, 1);
    assert.equal((await gw.admin.getJson<ApprovalObject>(`/v1/approvals/${id}`)).status, "consumed");
    assert.equal(text(await agent.callTool({ name: "held_payment", arguments: { amount: 5 } })), "held payment of 5 made", "calls below the condition pass at once");
  } finally {
    await agent.close();
  }
});

test("hold mode without a progress token: a denial while held answers the waiting call with the reason", async () => {
  const answer = call("held_payment", { amount: 900 });
  const id = await pendingApproval("held_payment");
  await gw.admin.postJson(`/v1/approvals/${id}/deny`, { by: "bob@example.com", reason: "over budget" });
  assert.equal(await answer, `[POLICY DENIED] Approval ${id} was denied by bob@example.com: over budget`);
  assert.equal(sent.held_payment, 2, "only the earlier calls reached the upstream");
});

test("hold mode: nobody decides before the timeout, so the held call is denied as expired", async () => {
  const answer = await call("held_briefly", {});
  assert.match(answer, /^\[POLICY DENIED\] Approval apr_\S+ expired at \S+Z: nobody decided in time$/);
  assert.equal(sent.held_briefly, undefined);
});

test("pending approvals survive a restart; approve afterwards and the call passes", async () => {
  const id = approvalId(await call("wire_transfer", { amount: 4444, to: "AFTER-RESTART" }))!;
  assert.equal(await gw.stop(), 0);
  gw = await startGateway({ dataDir: gw.dataDir, adminToken: gw.adminToken, args: ALLOW_LOOPBACK_WEBHOOKS });
  await approve(id, "carol@example.com");
  assert.equal(await call("wire_transfer", { amount: 4444, to: "AFTER-RESTART" }), "sent 4444 to AFTER-RESTART");
});

test("bad approver input is rejected with field paths", async () => {
  const r = await fetch(`${gw.adminUrl}/v1/approvals/apr_nope/deny`, { method: "POST", headers: { authorization: `Bearer ${gw.adminToken}`, "content-type": "application/json" }, body: JSON.stringify({ by: "" }) });
  const body = (await r.json()) as { issues: { path: string }[] };
  assert.deepEqual([r.status, body.issues.map((i) => i.path)], [400, ["/by", "/reason"]]);
  const missing = await fetch(`${gw.adminUrl}/v1/approvals/apr_nope`, { headers: { authorization: `Bearer ${gw.adminToken}` } });
  assert.equal(missing.status, 404);
  const badStatus = await fetch(`${gw.adminUrl}/v1/approvals?status=maybe`, { headers: { authorization: `Bearer ${gw.adminToken}` } });
  assert.equal(badStatus.status, 400);
});

test("webhooks: signed approval events, retried after a failure; the secret never comes back", async () => {
  const received: { event: string; signature: string; timestamp: string; delivery: string; body: string }[] = [];
  let failuresLeft = 1;
  const receiver: Server = createServer((req, res) => {
    let body = "";
    req.on("data", (d: Buffer) => (body += d.toString()));
    req.on("end", () => {
      if (failuresLeft-- > 0) return void res.writeHead(503).end();
      received.push({ event: String(req.headers["toolgate-event"]), signature: String(req.headers["toolgate-signature"]), timestamp: String(req.headers["toolgate-timestamp"]), delivery: String(req.headers["toolgate-delivery"]), body });
      res.writeHead(204).end();
    });
  });
  await new Promise<void>((r) => receiver.listen(0, "127.0.0.1", r));
  const secret = "whsec_e2e_0123456789abcdef";
  try {
    const url = `http://127.0.0.1:${(receiver.address() as AddressInfo).port}/hook`;
    const put = await gw.admin.put<Record<string, unknown>>("webhooks", "approvers", { url, secret, events: ["approval.requested", "approval.approved"] });
    assert.ok(!JSON.stringify(put.value).includes(secret));
    assert.match(String(put.value.secretDigest), /^hmac-sha256:[A-Za-z0-9_-]{43}$/);

    const id = approvalId(await call("wire_transfer", { amount: 3333, to: "HOOKED" }))!;
    await approve(id, "dave@example.com");
    const deadline = Date.now() + 15_000;
    while (received.length < 2 && Date.now() < deadline) await new Promise((r) => setTimeout(r, 100));
    assert.deepEqual(received.map((r) => r.event).sort(), ["approval.approved", "approval.requested"]);
    for (const r of received) {
      assert.equal(verifyWebhook("another-secret-value-xx", r, r.body), false);
      assert.equal(verifyWebhook(secret, r, r.body), true, "the signature verifies");
      assert.equal(verifyWebhook(secret, r, r.body), false, "a replayed delivery does not");
      const payload = JSON.parse(r.body) as { approval: { id: string; argumentKeys: string[] }; links: { approval: string } };
      assert.equal(payload.approval.id, id);
      assert.deepEqual(payload.approval.argumentKeys, ["amount", "to"]);
      assert.ok(!r.body.includes("HOOKED"), "argument values are not sent");
      assert.equal(payload.links.approval, `${gw.adminUrl}/ui/#${id}`);
    }
    const bad = await fetch(`${gw.adminUrl}/v1/webhooks/bad`, { method: "PUT", headers: { authorization: `Bearer ${gw.adminToken}`, "content-type": "application/json" }, body: JSON.stringify({ url: "ftp://x", secret: "short", events: ["approval.sent"] }) });
    const problem = (await bad.json()) as { issues: { path: string; message: string }[] };
    assert.deepEqual([bad.status, problem.issues.map((i) => i.path)], [400, ["/events/0", "/secret", "/url"]]);
    assert.ok(!JSON.stringify(problem).includes("short"), "the secret is not echoed");
  } finally {
    receiver.close();
  }
});
