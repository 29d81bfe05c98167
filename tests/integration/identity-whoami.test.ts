import assert from "node:assert/strict";
import { spawn } from "node:child_process";
import { test } from "node:test";
import { writeFileSync } from "node:fs";
import { join } from "node:path";
import type { WhoamiReport } from "../../gateway/identity/whoami.ts";
import { BIN, ROOT, toolgate } from "../helpers/cli.ts";
import { startGateway } from "../helpers/gateway.ts";
import { gatewayIdentityProvider, startIdp } from "../helpers/idp.ts";
import { startNodeUpstream } from "../helpers/upstreams.ts";

const SERVER = "node";

/** `toolgate grants whoami ... --token -` with the token written to stdin. */
function whoamiCli(args: string[], token: string, env: NodeJS.ProcessEnv): Promise<{ code: number | null; stdout: string; stderr: string }> {
  return new Promise((done) => {
    const child = spawn(process.execPath, [BIN, "grants", "whoami", "--token", "-", ...args], { cwd: ROOT, env: { ...process.env, ...env }, stdio: ["pipe", "pipe", "pipe"] });
    let stdout = "";
    let stderr = "";
    child.stdout.on("data", (d: Buffer) => (stdout += d.toString()));
    child.stderr.on("data", (d: Buffer) => (stderr += d.toString()));
    child.once("exit", (code) => done({ code, stdout, stderr }));
    child.stdin.end(token + "\n");
  });
}

test("toolgate grants whoami: which grant and policy a token gets on a server, and why", async (t) => {
  const idp = await startIdp();
  t.after(() => idp.stop());
  const upstream = await startNodeUpstream();
  t.after(() => upstream.close());
  const gw = await startGateway();
  t.after(() => gw.stop());
  await gw.admin.put("identity-providers", "corp", gatewayIdentityProvider(idp));
  await gw.admin.put("servers", SERVER, { transport: upstream.transport });
  await gw.admin.put("policies", "reader", { document: { version: "1", default: "deny", tools: { read: {} } } });
  await gw.admin.put("policies", "payer", { document: { version: "1", default: "deny", tools: { read: {}, transfer: {} } } });
  await gw.admin.put("grants", "payments-team", { server: SERVER, policy: "payer", identity: { identityProvider: "corp", claims: [{ claim: "groups", contains: "payments" }] } });
  await gw.admin.put("grants", "alice-only", { server: SERVER, policy: "reader", identity: { identityProvider: "corp", subject: "alice" } });
  const resource = `${gw.proxyUrl}/mcp/${SERVER}`;
  const env = { TOOLGATE_ENDPOINT: gw.adminUrl, TOOLGATE_TOKEN: gw.adminToken };
  const whoami = (token: string, server = SERVER) => gw.admin.postJson<WhoamiReport>("/v1/identity/whoami", { token, server });
  const tokens: string[] = [];
  const mint = async (user: string) => {
    const token = await idp.mintAccessToken({ user, resource });
    tokens.push(token);
    return token;
  };

  await t.test("a group grant: bob gets payments-team (policy payer); the subject grant's condition fails for him", async () => {
    const r = await whoami(await mint("bob"));
    assert.deepEqual(r.result, { ok: true, grant: "payments-team", policy: { name: "payer", version: 1 }, noPolicy: false });
    assert.equal(r.resource, resource);
    assert.ok(r.token?.kind === "access-token");
    assert.equal(r.token.identityProvider, "corp");
    assert.equal(r.token.issuer, idp.issuer);
    assert.equal(r.token.audience, resource);
    assert.equal(r.token.via, "jwt");
    assert.equal(r.token.subject, "bob");
    assert.ok(r.token.expiresAt !== null && Date.parse(r.token.expiresAt) > Date.now());
    assert.deepEqual(r.claims.groups, ["payments"]);
    assert.equal(r.claims.sub, "bob");
    assert.deepEqual(
      r.grants.map((g) => [g.name, g.matches, g.conditions.map((c) => [c.condition, c.holds])]),
      [
        ["alice-only", false, [["identity provider is corp", true], ['subject is "alice"', false]]],
        ["payments-team", true, [["identity provider is corp", true], ['groups contains "payments"', true]]],
      ],
    );
  });

  await t.test("a subject grant: alice matches both, and her own grant (subject) beats the group's", async () => {
    const r = await whoami(await mint("alice"));
    assert.deepEqual(r.result, { ok: true, grant: "alice-only", policy: { name: "reader", version: 1 }, noPolicy: false });
    assert.deepEqual(r.grants.map((g) => [g.name, g.matches, g.specificity]), [
      ["alice-only", true, { subject: true, conditions: 0 }],
      ["payments-team", true, { subject: false, conditions: 1 }],
    ]);
  });

  await t.test("no match: carol is in no group a grant names; the reason is the 403 a call gets", async () => {
    const r = await whoami(await mint("carol"));
    assert.deepEqual(r.result, { ok: false, status: 403, reason: "no-match", message: "No grant for carol on server node" });
    assert.equal(r.token?.kind === "access-token" && r.token.subject, "carol");
    assert.deepEqual(r.claims.groups, ["support"]);
    assert.ok(r.grants.every((g) => !g.matches));
  });

  await t.test("a refused token gets the reason a call gets, and is never echoed", async () => {
    const now = Math.floor(Date.now() / 1000);
    const expired = await idp.signJwt({ iss: idp.issuer, sub: "bob", aud: resource, iat: now - 600, exp: now - 300, groups: ["payments"] });
    tokens.push(expired);
    const r = await whoami(expired);
    assert.deepEqual(r.result, { ok: false, status: 401, reason: "refused", message: "Access token refused: the access token expired" });
    assert.equal(r.token, null);
    assert.deepEqual(r.grants, []);
    assert.ok(!JSON.stringify(r).includes(expired), "the report echoed the token");
    const other = await idp.signJwt({ iss: idp.issuer, sub: "bob", aud: "https://elsewhere.example/mcp", iat: now, exp: now + 300 });
    tokens.push(other);
    assert.deepEqual((await whoami(other)).result, { ok: false, status: 401, reason: "refused", message: `Access token refused: the access token's audience is not this server's resource ${resource}` });
    // The same answer as a call to the server with that token.
    const call = await fetch(resource, { method: "POST", headers: { authorization: `Bearer ${expired}`, "content-type": "application/json", accept: "application/json, text/event-stream" }, body: JSON.stringify({ jsonrpc: "2.0", id: 1, method: "tools/list" }) });
    assert.equal(call.status, 401);
    assert.match(await call.text(), /Access token refused: the access token expired/);
  });

  await t.test("an equal-specificity tie is reported as ambiguous, naming both grants", async () => {
    await gw.admin.put("grants", "mail-team", { server: SERVER, policy: "reader", identity: { identityProvider: "corp", emailDomain: "example.com" } });
    const r = await whoami(await mint("bob"));
    assert.equal(r.result.ok, false);
    assert.ok(!r.result.ok && r.result.reason === "ambiguous" && r.result.status === 403);
    assert.match(r.result.message, /"mail-team" and "payments-team"/);
    await gw.admin.delete("grants", "mail-team");
  });

  await t.test("the admin API checks its input: no such server is a 404, a missing token names the field", async () => {
    await assert.rejects(whoami("x", "nope"), /server "nope" does not exist/);
    await assert.rejects(gw.admin.postJson("/v1/identity/whoami", { server: SERVER }), (e: Error & { issues?: { path: string }[] }) => e.issues?.[0]?.path === "/token");
    const anonymous = await fetch(`${gw.adminUrl}/v1/identity/whoami`, { method: "POST", headers: { "content-type": "application/json" }, body: JSON.stringify({ token: "x", server: SERVER }) });
    assert.equal(anonymous.status, 401);
  });

  await t.test("the CLI: human output from stdin, --json, --token-file, and exit code 3 without a grant", async () => {
    const alice = await mint("alice");
    const human = await whoamiCli(["--server", SERVER], alice, env);
    assert.equal(human.code, 0, human.stderr);
    assert.match(human.stdout, /^server: {3}node \(resource http:\/\/127\.0\.0\.1:\d+\/mcp\/node\)$/m);
    assert.match(human.stdout, /^token: {4}an access token \(JWT, signature checked with the provider's keys\) accepted by identity provider corp$/m);
    assert.match(human.stdout, new RegExp(`^  audience: ${resource.replaceAll(".", "\\.")} \\(the server's resource URL\\)$`, "m"));
    assert.match(human.stdout, /^ {2}subject: {2}alice \(client mcp-agent\)$/m);
    assert.match(human.stdout, /^ {2}groups +\["payments","payments-oncall"\]$/m);
    assert.match(human.stdout, /^ {2}alice-only: matches \(policy reader; specificity: subject\)\n {4}holds {2}identity provider is corp\n {4}holds {2}subject is "alice"$/m);
    assert.match(human.stdout, /^result: {3}grant alice-only, policy reader v1$/m);

    const json = await whoamiCli(["--server", SERVER, "--json"], alice, env);
    assert.equal(json.code, 0, json.stderr);
    assert.equal((JSON.parse(json.stdout) as WhoamiReport).result.ok, true);

    const carol = await mint("carol");
    const file = join(gw.dataDir, "carol.token");
    writeFileSync(file, carol + "\n");
    const none = await toolgate(["grants", "whoami", "--server", SERVER, "--token-file", file], { env });
    assert.equal(none.code, 3, none.stderr);
    assert.match(none.stdout, /^ {2}payments-team: no match \(policy payer; specificity: 1 condition\)\n {4}holds {2}identity provider is corp\n {4}FAILS {2}groups contains "payments"$/m);
    assert.match(none.stdout, /^result: {3}no grant \(403 no-match\): No grant for carol on server node$/m);

    const missing = await toolgate(["grants", "whoami", "--token", alice], { env });
    assert.equal(missing.code, 1);
    assert.match(missing.stderr, /whoami needs --server <name>/);
  });

  await t.test("tokens never reach the gateway's log", () => {
    assert.ok(tokens.length >= 6);
    for (const token of tokens) assert.ok(!gw.logs().includes(token), "a token was logged");
  });
});
