import { test, before, after } from "node:test";
import assert from "node:assert/strict";
import { createServer, type IncomingHttpHeaders, type Server } from "node:http";
import type { AddressInfo } from "node:net";
import pino from "pino";
import { createMemoryDeliveryStore, verifyWebhook } from "../../sdk/index.ts";
import type { ApprovalRecord } from "../../gateway/approvals/approval-store.ts";
import type { WebhookRecord } from "../../gateway/store/config-store.ts";
import { createWebhookNotifier } from "../../gateway/webhooks/notifier.ts";
import { createWebhookTargets, type HostLookup } from "../../gateway/webhooks/webhook-targets.ts";

const SECRET = "whsec_delivery_0123456789";
let receiver: Server;
let port: number;
let failNext = 0;
const received: { headers: IncomingHttpHeaders; body: string }[] = [];

before(async () => {
  receiver = createServer((req, res) => {
    let body = "";
    req.on("data", (d: Buffer) => (body += d.toString()));
    req.on("end", () => {
      received.push({ headers: req.headers, body });
      res.writeHead(failNext-- > 0 ? 503 : 204).end();
    });
  });
  await new Promise<void>((r) => receiver.listen(0, "127.0.0.1", r));
  port = (receiver.address() as AddressInfo).port;
});
after(() => receiver.close());

const approval: ApprovalRecord = {
  id: "apr_unit", digest: "d", grant: "g", server: "bank", tool: "wire_transfer", arguments: { amount: 1 }, reason: "every call", policy: "p", policyVersion: 1, status: "pending",
  createdAt: "2026-01-01T00:00:00.000Z", expiresAt: "2026-01-01T00:30:00.000Z", decidedAt: null, decidedBy: null, decisionReason: null, consumedAt: null,
};

function notifier(url: string, allow: string[], lookup: HostLookup) {
  const lines: string[] = [];
  const log = pino({ level: "info" }, { write: (line: string) => void lines.push(line) });
  const hook: WebhookRecord = { name: "approvers", url, events: ["approval.requested"], secret: SECRET, secretDigest: "x", description: null, owner: null, version: 1, createdAt: "", updatedAt: "" };
  const n = createWebhookNotifier({ store: { listWebhooks: async () => [hook] }, log, adminUrl: () => "http://admin.test", targets: createWebhookTargets(allow, lookup), baseDelayMs: 1 });
  return { n, lines };
}

/** A resolver that answers each name with the next list of addresses in turn. */
function answers(name: string, ...turns: string[][]): HostLookup & { calls: number } {
  const lookup = Object.assign(async (host: string) => {
    if (host !== name) throw Object.assign(new Error(`getaddrinfo ENOTFOUND ${host}`), { code: "ENOTFOUND" });
    const list = turns[Math.min(lookup.calls++, turns.length - 1)]!;
    return list.map((address) => ({ address, family: 4 as const }));
  }, { calls: 0 });
  return lookup;
}

test("a delivery to a name that resolves to loopback is refused at delivery time, and not retried", async () => {
  received.length = 0;
  const lookup = answers("hooks.test", ["127.0.0.1"]);
  const { n, lines } = notifier(`http://hooks.test:${port}/hook`, [], lookup);
  n.notify("approval.requested", approval);
  await n.idle();
  assert.equal(received.length, 0);
  assert.equal(lookup.calls, 1);
  const refused = lines.map((l) => JSON.parse(l) as { msg: string; reason?: string }).find((l) => l.msg === "webhook target is not allowed; not delivering");
  assert.equal(refused?.reason, 'host "hooks.test" resolves to 127.0.0.1, a loopback address (127.0.0.0/8); webhooks reach only public addresses unless the operator allows the target with --webhook-allow (TOOLGATE_WEBHOOK_ALLOW)');
});

test("DNS rebinding: a name that was public when configured and private at delivery is refused", async () => {
  received.length = 0;
  const lookup = answers("rebind.test", ["93.184.215.14"], ["127.0.0.1"]);
  const targets = createWebhookTargets([], lookup);
  assert.equal(await targets.problem(`http://rebind.test:${port}/`), undefined, "the configuration-time answer is public");
  const { n, lines } = notifier(`http://rebind.test:${port}/hook`, [], lookup);
  n.notify("approval.requested", approval);
  await n.idle();
  assert.equal(received.length, 0);
  assert.ok(lines.some((l) => l.includes("webhook target is not allowed")));
});

test("an allowed target is reached at the address that was checked (one lookup per connection), with the Host it was given", async () => {
  received.length = 0;
  const lookup = answers("hooks.test", ["127.0.0.1"]);
  const { n } = notifier(`http://hooks.test:${port}/hook`, ["127.0.0.1/32"], lookup);
  n.notify("approval.requested", approval);
  await n.idle();
  assert.equal(received.length, 1);
  assert.equal(received[0]!.headers.host, `hooks.test:${port}`);
  assert.equal(lookup.calls, 1, "the operating system never resolved hooks.test: the connection went to the checked address");
});

test("every attempt is a new signed delivery id; replaying the first one is refused", async () => {
  received.length = 0;
  failNext = 1;
  const { n } = notifier(`http://127.0.0.1:${port}/hook`, ["127.0.0.1"], answers("none"));
  n.notify("approval.requested", approval);
  await n.idle();
  assert.equal(received.length, 2);
  const [first, retry] = received.map((r) => ({ timestamp: r.headers["toolgate-timestamp"] as string, signature: r.headers["toolgate-signature"] as string, delivery: r.headers["toolgate-delivery"] as string, body: r.body }));
  assert.match(first!.delivery, /^dlv_[A-Za-z0-9_-]{16}$/);
  assert.notEqual(first!.delivery, retry!.delivery);
  assert.equal(JSON.parse(first!.body).id, JSON.parse(retry!.body).id, "the event id stays the same across attempts");
  const seen = createMemoryDeliveryStore();
  assert.equal(verifyWebhook(SECRET, first!, first!.body, { seen }), true);
  assert.equal(verifyWebhook(SECRET, retry!, retry!.body, { seen }), true);
  assert.equal(verifyWebhook(SECRET, first!, first!.body, { seen }), false, "a replay");
});
