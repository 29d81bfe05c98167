import assert from "node:assert/strict";
import { randomBytes } from "node:crypto";
import { test } from "node:test";
import type { ApprovalList } from "../../sdk/index.ts";
import type { WhoamiReport } from "../../gateway/identity/whoami.ts";
import { freePort } from "../helpers/free-port.ts";
import { startGateway } from "../helpers/gateway.ts";
import { gatewayIdentityProvider, startIdp } from "../helpers/idp.ts";
import { startPostgres } from "../helpers/postgres.ts";
import { RawAgent, eventually, resultText, startNodeUpstream } from "../helpers/upstreams.ts";

const SERVER = "node";
/** Both replicas answer under one public URL (behind a balancer), so a token's audience is the same on each. */
const PUBLIC_URL = "https://mcp.example.test";
const RESOURCE = `${PUBLIC_URL}/mcp/${SERVER}`;
const call = (tool: string, args: Record<string, unknown> = {}) => JSON.stringify({ jsonrpc: "2.0", id: 1, method: "tools/call", params: { name: tool, arguments: args } });

/**
 * Identity on PostgreSQL with two replicas: what one replica is told (an identity provider with its sealed client
 * secret, grants by identity) the other applies through the configuration feed (NOTIFY), and the subject of calls
 * made on one is in the audit rows and approvals the other reads.
 */
test("identity on PostgreSQL: a replica applies identity providers and grants by identity made on another; subject in shared audit and approvals", async (t) => {
  const postgres = await startPostgres();
  t.after(() => postgres.stop());
  const idp = await startIdp({ opaqueResources: [] });
  t.after(() => idp.stop());
  const upstream = await startNodeUpstream();
  t.after(() => upstream.close());
  const env = { TOOLGATE_DATABASE_URL: await postgres.createDatabase(), TOOLGATE_SECRET_KEY: randomBytes(32).toString("base64") };
  // The proxy URL the helper reports is the public one: listen on known ports to reach each replica itself.
  const replica = async () => {
    const port = await freePort();
    const gw = await startGateway({ env, args: ["--public-url", PUBLIC_URL, "--listen", `127.0.0.1:${port}`] });
    t.after(() => gw.stop());
    return Object.assign(gw, { proxyUrl: `http://127.0.0.1:${port}` });
  };
  const a = await replica();
  const b = await replica();
  assert.match(a.logs(), /"config":"postgres"/);

  // Everything is configured on replica A only.
  await a.admin.put("servers", SERVER, { transport: upstream.transport });
  await a.admin.put("policies", "treasury", { document: { version: "1", default: "deny", tools: { read: {}, transfer: { approval: {} } } } });
  await a.admin.put("identity-providers", "corp", gatewayIdentityProvider(idp));
  await a.admin.put("grants", "payments-team", { server: SERVER, policy: "treasury", identity: { identityProvider: "corp", claims: [{ claim: "groups", contains: "payments" }] } });
  const alice = await idp.mintAccessToken({ user: "alice", resource: RESOURCE });

  await t.test("replica B sees the identity provider and the grant by identity, and lets alice's token in", async () => {
    const onA = await a.admin.getJson<{ clientSecretDigest: string; version: number }>("/v1/identity-providers/corp");
    const onB = await eventually(() => b.admin.getJson<{ clientSecretDigest: string; version: number }>("/v1/identity-providers/corp").catch(() => undefined), (r) => r !== undefined);
    assert.deepEqual(onB, onA);
    const answer = await eventually(
      async () => resultText(await (await RawAgent.connect(b.proxyUrl, SERVER, alice)).send(call("read", { path: "x" }))) ?? "",
      (text) => /read/.test(text) && !/POLICY DENIED/.test(text),
    );
    assert.match(answer, /read/);
  });

  await t.test("an opaque token is introspected on B with the client secret sealed by A", async () => {
    const opaque = await idp.mintAccessToken({ user: "alice", resource: RESOURCE, format: "opaque" });
    const r = await b.admin.postJson<WhoamiReport>("/v1/identity/whoami", { token: opaque, server: SERVER });
    assert.deepEqual(r.result, { ok: true, grant: "payments-team", policy: { name: "treasury", version: 1 }, noPolicy: false });
    assert.equal(r.token?.kind === "access-token" && r.token.via, "introspection");
  });

  await t.test("a call held for approval on B is pending on A under alice's subject; A's audit finds B's rows by subject", async () => {
    const held = resultText(await (await RawAgent.connect(b.proxyUrl, SERVER, alice)).send(call("transfer", { amount: 7 }))) ?? "";
    assert.match(held, /APPROVAL REQUIRED/);
    const id = /Approval (apr_[A-Za-z0-9_-]+) is pending/.exec(held)![1]!;
    const pending = await a.admin.getJson<ApprovalList>("/v1/approvals", { status: "pending" });
    const approval = pending.items.find((p) => p.id === id);
    assert.equal(approval?.subject, "alice");
    assert.equal(approval?.grant, "payments-team");
    const rows = await eventually(
      () => a.admin.getJson<{ items: { grant: string; subject: string | null; tool: string | null }[] }>("/v1/audit", { subject: "alice" }),
      (page) => page.items.some((r) => r.tool === "transfer"),
    );
    assert.ok(rows.items.length >= 2);
    assert.ok(rows.items.every((r) => r.subject === "alice" && r.grant === "payments-team"));
    assert.deepEqual((await a.admin.getJson<{ items: unknown[] }>("/v1/audit", { subject: "bob" })).items, []);
  });

  await t.test("deleting the grant on A refuses alice on B", async () => {
    await a.admin.delete("grants", "payments-team");
    const refused = await eventually(
      () => fetch(`${b.proxyUrl}/mcp/${SERVER}`, { method: "POST", headers: { authorization: `Bearer ${alice}`, "content-type": "application/json", accept: "application/json, text/event-stream" }, body: call("read") }),
      (res) => res.status === 403,
    );
    assert.match(await refused.text(), /No grant for alice on server node/);
  });
});
