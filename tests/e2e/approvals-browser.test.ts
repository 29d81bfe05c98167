import { test, before, after } from "node:test";
import assert from "node:assert/strict";
import type { Browser, Page } from "playwright-core";
import type { ApprovalObject } from "../../sdk/index.ts";
import { launchChromium, serveBank, TREASURY_POLICY } from "../helpers/approvals-browser.ts";
import { startGateway, type TestGateway } from "../helpers/gateway.ts";
import { connect, text } from "../helpers/mcp-client.ts";

// The approvers' page (/ui/) in headless Chromium (Debian's package, installed by .ci/run), clicking for real.

let gw: TestGateway;
let bank: Awaited<ReturnType<typeof serveBank>>;
let browser: Browser;
let token: string;

before(async () => {
  bank = await serveBank();
  gw = await startGateway();
  await gw.admin.put("servers", "bank", { transport: { type: "streamable-http", url: bank.http.url } });
  await gw.admin.put("policies", "treasury", { document: TREASURY_POLICY });
  token = (await gw.admin.put<{ token: string }>("grants", "treasurer", { server: "bank", policy: "treasury" })).value.token;
  browser = await launchChromium();
});

after(async () => {
  await browser?.close();
  await gw?.stop();
  await bank?.http.close();
});

async function call(args: Record<string, unknown>): Promise<string> {
  const agent = await connect(gw.proxyUrl, "bank", token);
  try {
    return text(await agent.callTool({ name: "wire_transfer", arguments: args }));
  } finally {
    await agent.close();
  }
}
const approvalId = (answer: string) => /Approval (apr_[A-Za-z0-9_-]+) is pending/.exec(answer)![1]!;

async function signIn(hash: string): Promise<Page> {
  const page = await browser.newPage();
  page.on("dialog", (d) => assert.fail(`a dialog opened: ${d.message()} (script injection?)`));
  await page.goto(`${gw.adminUrl}/ui/#${hash}`);
  await page.fill("#token", gw.adminToken);
  await page.click("form#login button[type=submit]");
  await page.fill("#approver", "erin@example.com");
  await page.dispatchEvent("#approver", "change");
  return page;
}

test("an approver signs in, sees the call with its arguments as text, clicks Approve, and the agent's retry passes once", async () => {
  const held = await call({ amount: 5000, to: "<img src=x onerror=alert(1)>ACME" });
  const id = approvalId(held);
  const page = await signIn(id);
  const row = page.locator(`tr[data-id="${id}"]`);
  await row.waitFor();
  assert.equal(await row.getAttribute("class"), "focus", "the linked approval is highlighted");
  assert.match(await row.locator("pre").textContent() ?? "", /"to": "<img src=x onerror=alert\(1\)>ACME"/);
  assert.equal(await page.locator("img").count(), 0, "arguments are rendered as text, not HTML");
  await row.locator("button.approve").click();
  await page.locator("#status", { hasText: `Approved ${id}.` }).waitFor();
  const approved = await gw.admin.getJson<ApprovalObject>(`/v1/approvals/${id}`);
  assert.deepEqual([approved.status, approved.decidedBy], ["approved", "erin@example.com"]);

  assert.equal(await call({ amount: 5000, to: "<img src=x onerror=alert(1)>ACME" }), "sent 5000 to <img src=x onerror=alert(1)>ACME");
  assert.equal(bank.transfers(), 1);
  assert.match(await call({ amount: 5000, to: "<img src=x onerror=alert(1)>ACME" }), /^\[APPROVAL REQUIRED\]/, "only once");
  await page.close();
});

test("deny with a reason from the page; the agent is told it", async () => {
  const id = approvalId(await call({ amount: 9999, to: "OFFSHORE" }));
  const page = await signIn(id);
  const row = page.locator(`tr[data-id="${id}"]`);
  await row.waitFor();
  await row.locator("input").fill("counterparty not on the allow list");
  await row.locator("button.deny").click();
  await page.locator("#status", { hasText: `Denied ${id}.` }).waitFor();
  assert.equal(await call({ amount: 9999, to: "OFFSHORE" }), `[POLICY DENIED] Approval ${id} was denied by erin@example.com: counterparty not on the allow list`);
  await page.close();
});

test("a wrong token is refused and the page asks again; the page itself needs no token", async () => {
  const page = await browser.newPage();
  const res = await page.goto(`${gw.adminUrl}/ui/`);
  assert.equal(res?.status(), 200);
  assert.match(res?.headers()["content-security-policy"] ?? "", /default-src 'none'; script-src 'self'/);
  await page.fill("#token", "not-the-admin-token-000");
  await page.click("form#login button[type=submit]");
  await page.locator("form#login").waitFor({ state: "visible" });
  assert.equal(await page.locator("#inbox").isHidden(), true);
  await page.close();
});

test("direction-changing and invisible characters in arguments are shown escaped, not obeyed", async () => {
  const id = approvalId(await call({ amount: 4242, to: "ACME\u202Etfel\u200B" }));
  const page = await signIn(id);
  const row = page.locator(`tr[data-id="${id}"]`);
  await row.waitFor();
  const shown = (await row.locator("pre").textContent()) ?? "";
  assert.match(shown, /"to": "ACME\\u202etfel\\u200b"/);
  assert.ok(!/[\u202E\u200B]/.test(await row.textContent() ?? ""), "no raw override or zero-width character on the page");
  await page.close();
});
