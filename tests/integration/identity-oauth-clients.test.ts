import { test } from "node:test";
import assert from "node:assert/strict";
import { Client } from "@modelcontextprotocol/sdk/client/index.js";
import { StreamableHTTPClientTransport } from "@modelcontextprotocol/sdk/client/streamableHttp.js";
import { UnauthorizedError, type OAuthClientProvider } from "@modelcontextprotocol/sdk/client/auth.js";
import { ClientCredentialsProvider } from "@modelcontextprotocol/sdk/client/auth-extensions.js";
import type { OAuthClientInformationMixed, OAuthClientMetadata, OAuthTokens } from "@modelcontextprotocol/sdk/shared/auth.js";
import { startGateway } from "../helpers/gateway.ts";
import { AGENT_CLIENT, GATEWAY_CLIENT, startIdp, WORKLOAD_CLIENT, type TestIdp } from "../helpers/idp.ts";
import { rawPost, text } from "../helpers/mcp-client.ts";
import { startTokenCheckingUpstream } from "../helpers/token-checking-upstream.ts";

/**
 * An MCP client application's OAuth state for one user and one server, as the SDK asks for it: a pre-registered
 * public client (authorization code + PKCE), the tokens and the code verifier in memory. The browser step is
 * `authorizationUrl`, which the test drives with the IdP's login form.
 */
class InteractiveClient implements OAuthClientProvider {
  authorizationUrl: URL | undefined;
  private saved: OAuthTokens | undefined;
  private verifier = "";
  private info: OAuthClientInformationMixed;

  constructor(issuer: string) {
    // Bound to the IdP it was registered with: the SDK presents it to no other authorization server.
    this.info = { client_id: AGENT_CLIENT.clientId, issuer } as OAuthClientInformationMixed;
  }

  get redirectUrl(): string {
    return AGENT_CLIENT.redirectUris[0]!;
  }

  get clientMetadata(): OAuthClientMetadata {
    return { client_name: "toolgate test agent", scope: "openid mcp", redirect_uris: [this.redirectUrl], grant_types: ["authorization_code", "refresh_token"], response_types: ["code"], token_endpoint_auth_method: "none" };
  }

  clientInformation(): OAuthClientInformationMixed {
    return this.info;
  }

  saveClientInformation(info: OAuthClientInformationMixed): void {
    this.info = info;
  }

  tokens(): OAuthTokens | undefined {
    return this.saved;
  }

  saveTokens(tokens: OAuthTokens): void {
    this.saved = tokens;
  }

  redirectToAuthorization(url: URL): void {
    this.authorizationUrl = url;
  }

  saveCodeVerifier(verifier: string): void {
    this.verifier = verifier;
  }

  codeVerifier(): string {
    return this.verifier;
  }
}

/**
 * The SDK's whole interactive flow: connect, get 401, discover, send the user to sign in (driven headless with
 * fetch through the IdP's login and consent forms), finish with the code, connect again.
 */
async function signInAndConnect(idp: TestIdp, serverUrl: string, user: string): Promise<{ client: Client; oauth: InteractiveClient }> {
  const oauth = new InteractiveClient(idp.issuer);
  const first = new Client({ name: "toolgate-oauth-test", version: "1.0.0" });
  const transport = new StreamableHTTPClientTransport(new URL(serverUrl), { authProvider: oauth });
  await assert.rejects(first.connect(transport), UnauthorizedError);
  assert.ok(oauth.authorizationUrl, "the SDK sent the user to the authorization server");
  const callback = await idp.signIn(oauth.authorizationUrl.href, user);
  assert.equal(callback.origin + callback.pathname, AGENT_CLIENT.redirectUris[0]);
  assert.ok(callback.searchParams.get("code"), `signed in: ${callback.href} for ${oauth.authorizationUrl.href}`);
  assert.equal(callback.searchParams.get("state"), oauth.authorizationUrl.searchParams.get("state"));
  await transport.finishAuth(callback.searchParams.get("code")!);
  const client = new Client({ name: "toolgate-oauth-test", version: "1.0.0" });
  await client.connect(new StreamableHTTPClientTransport(new URL(serverUrl), { authProvider: oauth }));
  return { client, oauth };
}

test("MCP SDK clients sign in with the organization's identity provider and call tools through the gateway", async (t) => {
  const idp = await startIdp({ exchangeAudiences: ["ledger-api"] });
  t.after(() => idp.stop());
  const payments = await startTokenCheckingUpstream();
  t.after(() => payments.close());
  const ledger = await startTokenCheckingUpstream({ check: { issuer: idp.issuer, jwksUri: idp.jwksUri, audience: "ledger-api" } });
  t.after(() => ledger.close());
  const gw = await startGateway();
  t.after(() => gw.stop());

  await gw.admin.put("identity-providers", "corp", { name: "corp", issuer: idp.issuer, clientId: GATEWAY_CLIENT.clientId, clientSecret: GATEWAY_CLIENT.clientSecret });
  await gw.admin.put("policies", "team", { name: "team", document: { version: "1", default: "deny", tools: { whoami: {} } } });
  await gw.admin.put("policies", "oncall", { name: "oncall", document: { version: "1", default: "allow", tools: { transfer: { deny_if: [{ path: "args.amount", op: "gt", value: 1000, on_deny: "Transfers over 1000 need finance." }] } } } });
  await gw.admin.put("servers", "payments", { name: "payments", transport: { type: "streamable-http", url: payments.url } });
  await gw.admin.put("servers", "ledger", { name: "ledger", transport: { type: "streamable-http", url: ledger.url, headers: { Authorization: "Bearer configured-static-credential" } }, tokenExchange: { identityProvider: "corp", audience: "ledger-api" } });
  const groups = (...names: string[]) => names.map((contains) => ({ claim: "groups", contains }));
  await gw.admin.put("grants", "payments-team", { name: "payments-team", server: "payments", policy: "team", identity: { identityProvider: "corp", claims: groups("payments") } });
  await gw.admin.put("grants", "payments-oncall", { name: "payments-oncall", server: "payments", policy: "oncall", identity: { identityProvider: "corp", claims: groups("payments", "payments-oncall") } });
  await gw.admin.put("grants", "nightly", { name: "nightly", server: "payments", policy: "team", identity: { identityProvider: "corp", clientId: WORKLOAD_CLIENT.clientId } });
  await gw.admin.put("grants", "ledger-staff", { name: "ledger-staff", server: "ledger", policy: "oncall", identity: { identityProvider: "corp", emailDomain: "example.com" } });
  await gw.admin.put("grants", "ledger-token", { name: "ledger-token", server: "ledger", policy: "oncall" });
  const ledgerToken = (await gw.admin.rotateGrant<{ token: string }>("ledger-token")).value.token;
  const paymentsUrl = `${gw.proxyUrl}/mcp/payments`;
  const ledgerUrl = `${gw.proxyUrl}/mcp/ledger`;

  await t.test("authorization code + PKCE: the SDK finds the IdP through the gateway's metadata, and the user's claims pick the policy", async () => {
    const alice = await signInAndConnect(idp, paymentsUrl, "alice");
    t.after(() => alice.client.close());
    const asked = alice.oauth.authorizationUrl!;
    assert.equal(asked.origin + asked.pathname, idp.authorizationEndpoint, "discovered from the gateway's Protected Resource Metadata");
    assert.equal(asked.searchParams.get("resource"), paymentsUrl, "RFC 8707: the token is asked for this server");
    assert.equal(asked.searchParams.get("code_challenge_method"), "S256");
    assert.equal(asked.searchParams.get("client_id"), AGENT_CLIENT.clientId);
    // alice is in payments and payments-oncall: the grant with two conditions wins.
    assert.equal(text(await alice.client.callTool({ name: "transfer", arguments: { amount: 500 } })), "transferred 500");
    assert.equal(text(await alice.client.callTool({ name: "transfer", arguments: { amount: 5000 } })), "[POLICY DENIED] Transfers over 1000 need finance.");

    const bob = await signInAndConnect(idp, paymentsUrl, "bob");
    t.after(() => bob.client.close());
    const denied = await bob.client.callTool({ name: "transfer", arguments: { amount: 5 } });
    assert.equal(denied.isError, true);
    assert.match(text(denied), /^\[POLICY DENIED\] /);
    assert.equal(text(await bob.client.callTool({ name: "whoami", arguments: {} })), "no token", "the agent's own token never reaches the upstream");
    assert.deepEqual(payments.seen().filter((s) => s.authorization !== undefined), []);
  });

  await t.test("a user no grant matches is refused with 403, after signing in", async () => {
    const oauth = new InteractiveClient(idp.issuer);
    const transport = new StreamableHTTPClientTransport(new URL(paymentsUrl), { authProvider: oauth });
    await assert.rejects(new Client({ name: "t", version: "1" }).connect(transport), UnauthorizedError);
    const callback = await idp.signIn(oauth.authorizationUrl!.href, "carol");
    await transport.finishAuth(callback.searchParams.get("code")!);
    const token = oauth.tokens()!.access_token;
    const r = await rawPost(paymentsUrl, { jsonrpc: "2.0", id: 1, method: "initialize", params: { protocolVersion: "2025-06-18", capabilities: {}, clientInfo: { name: "t", version: "1" } } }, { authorization: `Bearer ${token}` });
    assert.equal(r.status, 403);
    assert.match(r.body, /No grant for carol on server payments/);
    assert.ok(!r.body.includes(token));
  });

  await t.test("client credentials: a workload's token selects the grant made for its client_id", async () => {
    const workload = new Client({ name: "nightly-job", version: "1.0.0" });
    const oauth = new ClientCredentialsProvider({ clientId: WORKLOAD_CLIENT.clientId, clientSecret: WORKLOAD_CLIENT.clientSecret, expectedIssuer: idp.issuer });
    await workload.connect(new StreamableHTTPClientTransport(new URL(paymentsUrl), { authProvider: oauth }));
    t.after(() => workload.close());
    assert.equal(text(await workload.callTool({ name: "whoami", arguments: {} })), "no token");
    assert.match(text(await workload.callTool({ name: "transfer", arguments: { amount: 1 } })), /^\[POLICY DENIED\] /);
  });

  await t.test("token exchange: the upstream gets a token the IdP issued for it on the user's behalf, never the user's own", async () => {
    const alice = await signInAndConnect(idp, ledgerUrl, "alice");
    t.after(() => alice.client.close());
    const seen = JSON.parse(text(await alice.client.callTool({ name: "whoami", arguments: {} }))) as { sub: string; act: unknown; aud: unknown; iss: string };
    assert.deepEqual(seen, { sub: "alice", act: { sub: GATEWAY_CLIENT.clientId }, aud: "ledger-api", iss: idp.issuer });
    assert.equal(text(await alice.client.callTool({ name: "transfer", arguments: { amount: 7 } })), "transferred 7");
    const agentToken = alice.oauth.tokens()!.access_token;
    // The gateway's own catalog lookups (no caller) use the server's configured headers; every request made for the
    // agent carried a valid exchanged token.
    const forAgent = ledger.seen().filter((s) => s.authorization !== "Bearer configured-static-credential");
    assert.deepEqual(forAgent.map((s) => s.method).filter((m) => m === "initialize" || m === "tools/call"), ["initialize", "tools/call", "tools/call"]);
    assert.deepEqual(forAgent.filter((s) => !s.verified), []);
    assert.ok(ledger.seen().every((s) => s.authorization !== `Bearer ${agentToken}`), "the agent's own token never reached the upstream");
    // One exchange for the whole session (initialize, notifications, calls): reused until shortly before it expires.
    assert.deepEqual(idp.exchanges().map((e) => [e.subject, e.audience, e.error]), [["alice", "ledger-api", undefined]]);
  });

  await t.test("a grant token cannot call a server that exchanges tokens: no subject to exchange", async () => {
    const r = await rawPost(ledgerUrl, { jsonrpc: "2.0", id: 1, method: "tools/call", params: { name: "whoami", arguments: {} } }, { authorization: `Bearer ${ledgerToken}`, "mcp-protocol-version": "2025-06-18" });
    assert.equal(r.status, 403);
    assert.match(r.body, /Server \\"ledger\\" is called on behalf of a signed-in user or workload: its upstream gets a token exchanged for the caller at identity provider \\"corp\\" \(tokenExchange\), and a grant token has no subject to exchange/);
    assert.equal(ledger.seen().filter((s) => s.method === "tools/call" && !s.verified).length, 0);
  });
});
