import { test } from "node:test";
import assert from "node:assert/strict";
import type { ApprovalList } from "../../sdk/index.ts";
import { startGateway, type TestGateway } from "../helpers/gateway.ts";
import { gatewayIdentityProvider, startIdp } from "../helpers/idp.ts";
import { connect, rawPost, text } from "../helpers/mcp-client.ts";
import { startTokenCheckingUpstream } from "../helpers/token-checking-upstream.ts";

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

async function pendingApproval(gw: TestGateway, tool: string): Promise<string> {
  for (let i = 0; i < 200; i++) {
    const list = await gw.admin.getJson<ApprovalList>("/v1/approvals", { status: "pending", tool });
    if (list.items[0]) return list.items[0].id;
    await sleep(25);
  }
  throw new Error(`no pending approval for ${tool}`);
}

/** Waits until a JWT issued now with this lifetime (whole seconds) has expired. */
const outlive = (ttlSeconds: number) => sleep((ttlSeconds + 1) * 1000 + 100);

test("held calls and token lifetimes: the exchange happens when the call is forwarded, and an expired caller is not served", async (t) => {
  const exchangedTtl = 2;
  const idp = await startIdp({ exchangeAudiences: ["ledger-api"], exchangedTokenTtlSeconds: exchangedTtl });
  t.after(() => idp.stop());
  const ledger = await startTokenCheckingUpstream({ check: { issuer: idp.issuer, jwksUri: idp.jwksUri, audience: "ledger-api" } });
  t.after(() => ledger.close());
  const gw = await startGateway();
  t.after(() => gw.stop());
  await gw.admin.put("identity-providers", "corp", gatewayIdentityProvider(idp));
  await gw.admin.put("policies", "held", { document: { version: "1", default: "deny", tools: { whoami: {}, transfer: { approval: { mode: "hold" } } } } });
  await gw.admin.put("servers", "ledger", { transport: { type: "streamable-http", url: ledger.url }, tokenExchange: { identityProvider: "corp", audience: "ledger-api" } });
  await gw.admin.put("grants", "alice", { server: "ledger", policy: "held", identity: { identityProvider: "corp", subject: "alice" } });
  const resource = `${gw.proxyUrl}/mcp/ledger`;
  const approve = (id: string) => gw.admin.postJson(`/v1/approvals/${id}/approve`, { by: "oncall@example.com" });

  await t.test("a call held longer than the exchanged token lives reaches the upstream with a valid, newly exchanged token", async () => {
    const token = await idp.mintAccessToken({ user: "alice", resource });
    const client = await connect(gw.proxyUrl, "ledger", token);
    t.after(() => client.close());
    const answer = client.callTool({ name: "transfer", arguments: { amount: 7 } });
    const id = await pendingApproval(gw, "transfer");
    const exchangedBeforeApproval = idp.exchanges().length;
    // Every token exchanged so far (at connect and when the call arrived) is expired before the approval comes.
    await outlive(exchangedTtl);
    await approve(id);
    assert.equal(text(await answer), "transferred 7");
    const calls = ledger.seen().filter((s) => s.method === "tools/call");
    assert.deepEqual(calls.map((s) => s.verified), [true], "the upstream got one call, with a token it accepted");
    assert.ok(idp.exchanges().length > exchangedBeforeApproval, "exchanged again when the call was forwarded");
    assert.ok(idp.exchanges().every((e) => e.error === undefined && e.subject === "alice"));
  });

  await t.test("a call held past the caller's own token expiry is not run; the approval stays; the token is refused afterwards", async () => {
    const ttl = 2;
    const token = await idp.mintAccessToken({ user: "alice", resource, ttlSeconds: ttl });
    const client = await connect(gw.proxyUrl, "ledger", token);
    const answer = client.callTool({ name: "transfer", arguments: { amount: 8 } });
    const id = await pendingApproval(gw, "transfer");
    const result = await answer;
    assert.equal(result.isError, true);
    assert.match(text(result), new RegExp(`^\\[POLICY DENIED\\] The call was not run: the caller's access token expired at \\S+Z\\. Approval ${id} stays as it is\\.$`));
    assert.equal((await gw.admin.getJson<{ status: string }>(`/v1/approvals/${id}`)).status, "pending");
    assert.equal(ledger.seen().filter((s) => s.method === "tools/call").length, 1, "only the first test's call reached the upstream");
    const late = await rawPost(resource, { jsonrpc: "2.0", id: 2, method: "tools/call", params: { name: "whoami", arguments: {} } }, { authorization: `Bearer ${token}`, "mcp-protocol-version": "2025-06-18" });
    assert.equal(late.status, 401);
    assert.match(late.headers.get("www-authenticate") ?? "", /error="invalid_token", error_description="the access token expired"/);
    await client.close().catch(() => {});
  });
});
