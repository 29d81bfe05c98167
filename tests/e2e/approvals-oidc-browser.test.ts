import { test, before, after } from "node:test";
import assert from "node:assert/strict";
import type { Browser, BrowserContext, Page } from "playwright-core";
import type { ApprovalObject } from "../../sdk/index.ts";
import { launchChromium, serveBank, TREASURY_POLICY } from "../helpers/approvals-browser.ts";
import { startGateway, type TestGateway } from "../helpers/gateway.ts";
import { GATEWAY_CLIENT, startIdp, type TestIdp } from "../helpers/idp.ts";
import { connect, text } from "../helpers/mcp-client.ts";

// Approvers sign in to /ui/ with the identity provider: a real oidc-provider, a real gateway, headless Chromium
// (Debian's package, as in approvals-browser.test.ts) going through the IdP's login and consent pages.

let gw: TestGateway;
let idp: TestIdp;
let bank: Awaited<ReturnType<typeof serveBank>>;
let browser: Browser;
let token: string;

before(async () => {
  bank = await serveBank();
  gw = await startGateway();
  idp = await startIdp({ gatewayRedirectUris: [`${gw.adminUrl}/ui/auth/callback`] });
  await gw.admin.put("identity-providers", "corp", { issuer: idp.issuer, clientId: GATEWAY_CLIENT.clientId, clientSecret: GATEWAY_CLIENT.clientSecret, description: "Corp SSO" });
  await gw.admin.put("servers", "bank", {
    transport: { type: "streamable-http", url: bank.http.url },
    approvers: { identityProvider: "corp", claims: [{ claim: "groups", contains: "payments-oncall" }] },
  });
  await gw.admin.put("policies", "treasury", { document: TREASURY_POLICY });
  token = (await gw.admin.put<{ token: string }>("grants", "treasurer", { server: "bank", policy: "treasury" })).value.token;
  // Alice's own agent: a grant by identity, used with her access token.
  await gw.admin.put("grants", "alice-agent", { server: "bank", policy: "treasury", identity: { identityProvider: "corp", subject: "alice" } });
  browser = await launchChromium();
});

after(async () => {
  await browser?.close();
  await gw?.stop();
  await idp?.stop();
  await bank?.http.close();
});

async function call(args: Record<string, unknown>, bearer = token): Promise<string> {
  const agent = await connect(gw.proxyUrl, "bank", bearer);
  try {
    return text(await agent.callTool({ name: "wire_transfer", arguments: args }));
  } finally {
    await agent.close();
  }
}
const approvalId = (answer: string) => /Approval (apr_[A-Za-z0-9_-]+) is pending/.exec(answer)?.[1] ?? assert.fail(`no pending approval in: ${answer}`);

/** A fresh browser (no cookies) signs in at /ui/#<hash> through the IdP's login and consent pages. */
async function signIn(user: string, hash = ""): Promise<{ context: BrowserContext; page: Page }> {
  const context = await browser.newContext();
  const page = await context.newPage();
  page.on("dialog", (d) => assert.fail(`a dialog opened: ${d.message()}`));
  await page.goto(`${gw.adminUrl}/ui/${hash ? `#${hash}` : ""}`);
  const link = page.locator('a.signin[data-provider="corp"]');
  assert.equal(await link.textContent(), "Corp SSO");
  assert.equal(await page.locator("#login").isVisible(), false, "with an identity provider, the page offers its sign-in, not the admin token");
  await link.click();
  await page.waitForURL((url) => url.origin === idp.issuer);
  for (let step = 0; step < 4 && new URL(page.url()).origin === idp.issuer; step++) {
    const at = page.url();
    if (await page.locator('input[name="login"]').count()) {
      await page.fill('input[name="login"]', user);
      await page.fill('input[name="password"]', idp.users.find((u) => u.sub === user)!.password);
    }
    await Promise.all([page.waitForURL((url) => url.href !== at), page.click('button[type="submit"]')]);
  }
  await page.waitForURL(`${gw.adminUrl}/ui/${hash ? `#${hash}` : ""}`);
  await page.locator("#who-session").waitFor();
  return { context, page };
}

test("an approver signs in with the IdP, approves a pending call, and the approval and audit name their subject", async () => {
  const id = approvalId(await call({ amount: 5000, to: "ACME" }));
  const { context, page } = await signIn("alice", id);
  assert.equal(await page.locator("#signed-in-as").textContent(), "Alice <alice@example.com> (corp:alice)");
  assert.equal(await page.locator("#approver").isVisible(), false, "no free-text 'You are' box for a signed-in approver");
  const row = page.locator(`tr[data-id="${id}"]`);
  await row.waitFor();
  // Another site making her browser post (the cookie alone, no CSRF token) gets nothing decided.
  const cookie = (await context.cookies(gw.adminUrl)).find((c) => c.name === "tg_session")!.value;
  const forged = await fetch(`${gw.adminUrl}/v1/approvals/${id}/approve`, { method: "POST", headers: { cookie: `tg_session=${cookie}`, "content-type": "application/json" }, body: "{}" });
  assert.equal(forged.status, 403);
  assert.match(((await forged.json()) as { detail: string }).detail, /x-toolgate-csrf header is missing/);
  await row.locator("button.approve").click();
  await page.locator("#status", { hasText: `Approved ${id}.` }).waitFor();

  const approved = await gw.admin.getJson<ApprovalObject>(`/v1/approvals/${id}`);
  assert.deepEqual([approved.status, approved.decidedBy], ["approved", "corp:alice"]);
  const audit = await gw.admin.getJson<{ items: { method: string; message: string }[] }>(`/v1/audit?decision=event&limit=500`);
  assert.ok(audit.items.some((r) => r.method === "approval/approved" && r.message === `${id} approved by corp:alice`), "the audit event names the subject");
  assert.equal(await call({ amount: 5000, to: "ACME" }), "sent 5000 to ACME");
  assert.equal(bank.transfers(), 1);

  const cookies = await context.cookies(gw.adminUrl);
  const session = cookies.find((c) => c.name === "tg_session")!;
  assert.deepEqual([session.httpOnly, session.sameSite], [true, "Strict"]);
  assert.equal(await page.evaluate("document.cookie"), "", "the page's script cannot read the session");
  await context.close();
});

test("a signed-in user without the approvers' claim sees none of the server's calls and cannot decide them", async () => {
  const id = approvalId(await call({ amount: 7000, to: "GLOBEX" }));
  const { context, page } = await signIn("bob", id);
  assert.match((await page.locator("#signed-in-as").textContent()) ?? "", /\(corp:bob\)$/);
  await page.locator("#status", { hasText: "No calls are waiting for approval." }).waitFor();
  assert.equal(await page.locator(`tr[data-id="${id}"]`).count(), 0);
  // Straight at the API with his session (the page's CSRF token included): refused with the reason.
  const answer = await page.evaluate(async (approval) => {
    const session = (await (await fetch("/ui/auth/session")).json()) as { csrfHeader: string; csrfToken: string };
    const res = await fetch(`/v1/approvals/${approval}/approve`, { method: "POST", headers: { "content-type": "application/json", [session.csrfHeader]: session.csrfToken }, body: "{}" });
    return { status: res.status, detail: ((await res.json()) as { detail: string }).detail };
  }, id);
  assert.deepEqual(answer, { status: 403, detail: 'You are not an approver of server "bank": your claims do not satisfy groups contains "payments-oncall"' });
  assert.equal((await gw.admin.getJson<ApprovalObject>(`/v1/approvals/${id}`)).status, "pending");
  await context.close();
});

test("nobody approves their own call: not in the page, not through the API as that subject", async () => {
  const aliceToken = await idp.mintAccessToken({ user: "alice", resource: `${gw.proxyUrl}/mcp/bank` });
  const id = approvalId(await call({ amount: 1234, to: "ALICE-SAVINGS" }, aliceToken));
  const pending = await gw.admin.getJson<ApprovalObject & { subject?: string | null }>(`/v1/approvals/${id}`);
  assert.equal(pending.subject, "alice");
  const { context, page } = await signIn("alice", id);
  const row = page.locator(`tr[data-id="${id}"]`);
  await row.waitFor();
  await row.locator("button.approve").click();
  await page.locator("#status.error", { hasText: "You made this call (as corp:alice): someone else must decide it" }).waitFor();
  const viaApi = await fetch(`${gw.adminUrl}/v1/approvals/${id}/approve`, { method: "POST", headers: { authorization: `Bearer ${gw.adminToken}`, "content-type": "application/json" }, body: JSON.stringify({ by: "corp:alice" }) });
  assert.equal(viaApi.status, 403);
  assert.equal((await gw.admin.getJson<ApprovalObject>(`/v1/approvals/${id}`)).status, "pending");
  await context.close();
});

test("signing out ends the session: the page offers sign-in again and the old cookie is refused", async () => {
  const { context, page } = await signIn("alice");
  const old = (await context.cookies(gw.adminUrl)).find((c) => c.name === "tg_session")!.value;
  await page.click("#signout");
  await page.locator('a.signin[data-provider="corp"]').waitFor();
  assert.equal(await page.locator("#inbox").isHidden(), true);
  assert.equal((await context.cookies(gw.adminUrl)).find((c) => c.name === "tg_session"), undefined);
  const replayed = await fetch(`${gw.adminUrl}/v1/approvals?status=pending`, { headers: { cookie: `tg_session=${old}` } });
  assert.equal(replayed.status, 401, "a copy of the cookie kept from before the sign-out");
  await context.close();
});

test("without an identity provider the page asks for the admin token, which still works", async () => {
  const plain = await startGateway();
  try {
    const context = await browser.newContext();
    const page = await context.newPage();
    await page.goto(`${plain.adminUrl}/ui/`);
    await page.locator("form#login").waitFor();
    assert.equal(await page.locator("#idp").isHidden(), true);
    await page.fill("#token", plain.adminToken);
    await page.click("form#login button[type=submit]");
    await page.locator("#status", { hasText: "No calls are waiting for approval." }).waitFor();
    assert.equal(await page.locator("#approver").isVisible(), true, "the admin token's user says who they are");
    await context.close();
  } finally {
    await plain.stop();
  }
});
