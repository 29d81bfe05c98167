import { test } from "node:test";
import assert from "node:assert/strict";
import { createServer } from "node:http";
import { createDiscovery, DiscoveryError } from "../../gateway/identity/discovery.ts";
import { startIdp } from "../helpers/idp.ts";

/** A metadata server whose answers a test sets per path; it counts the requests it got. */
async function startMetadataServer(t: { after(fn: () => unknown): void }) {
  const answers = new Map<string, { status: number; body: unknown }>();
  const hits: string[] = [];
  const server = createServer((req, res) => {
    hits.push(req.url!);
    const answer = answers.get(req.url!);
    if (!answer) return void res.writeHead(404).end();
    res.writeHead(answer.status, { "content-type": "application/json" }).end(typeof answer.body === "string" ? answer.body : JSON.stringify(answer.body));
  });
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  t.after(() => new Promise((resolve) => server.close(resolve)));
  const origin = `http://127.0.0.1:${(server.address() as { port: number }).port}`;
  return { origin, answers, hits };
}

test("discovery reads the real IdP's OpenID metadata and its endpoints", async (t) => {
  const idp = await startIdp();
  t.after(() => idp.stop());
  const discovery = createDiscovery();
  const corp = { name: "corp", issuer: idp.issuer, version: 1 };
  assert.equal((await discovery.metadata(corp)).issuer, idp.issuer);
  assert.equal(await discovery.endpoint(corp, "token_endpoint"), idp.tokenEndpoint);
  assert.equal(await discovery.endpoint(corp, "jwks_uri"), idp.jwksUri);
});

test("discovery: RFC 8414 fallback, exact issuer, bounded cache, refetch on a provider edit, failures named and retried", async (t) => {
  const md = await startMetadataServer(t);
  let now = 1_000_000;
  const discovery = createDiscovery({ clock: () => now, ttlMs: 60_000, retryMs: 5_000 });
  const issuer = `${md.origin}/tenant`;
  const provider = { name: "corp", issuer, version: 1 };

  await t.test("a path issuer without OpenID metadata is found at the RFC 8414 location (path inserted)", async () => {
    md.answers.set("/.well-known/oauth-authorization-server/tenant", { status: 200, body: { issuer, token_endpoint: `${md.origin}/token`, jwks_uri: "not a url" } });
    assert.equal(await discovery.endpoint(provider, "token_endpoint"), `${md.origin}/token`);
    assert.deepEqual(md.hits, ["/tenant/.well-known/openid-configuration", "/.well-known/oauth-authorization-server/tenant"]);
  });

  await t.test("missing or malformed endpoints are named", async () => {
    await assert.rejects(discovery.endpoint(provider, "introspection_endpoint"), { name: "DiscoveryError", message: "its metadata has no introspection_endpoint" });
    await assert.rejects(discovery.endpoint(provider, "jwks_uri"), { message: "its metadata's jwks_uri is not an http(s) URL" });
  });

  await t.test("cached for its lifetime; a newer provider version (an edit) fetches again, an older one reuses it", async () => {
    md.hits.length = 0;
    await discovery.metadata(provider);
    await discovery.metadata({ ...provider, version: 0 });
    assert.equal(md.hits.length, 0);
    await discovery.metadata({ ...provider, version: 2 });
    assert.equal(md.hits.length, 2);
    now += 60_001;
    await discovery.metadata({ ...provider, version: 2 });
    assert.equal(md.hits.length, 4, "fetched again after ttlMs");
  });

  await t.test("metadata naming another issuer is refused (RFC 8414 section 3.3): no trailing-slash folding", async () => {
    const slash = { name: "slash", issuer: `${md.origin}/other/`, version: 1 };
    md.answers.set("/other/.well-known/openid-configuration", { status: 200, body: { issuer: `${md.origin}/other` } });
    await assert.rejects(discovery.metadata(slash), (error: Error) => {
      assert.ok(error instanceof DiscoveryError);
      assert.equal(error.message, `its metadata at ${md.origin}/other/.well-known/openid-configuration names issuer ${JSON.stringify(`${md.origin}/other`)}, not ${JSON.stringify(`${md.origin}/other/`)}`);
      return true;
    });
  });

  await t.test("a failure is remembered briefly, then tried again", async () => {
    const down = { name: "down", issuer: `${md.origin}/down`, version: 1 };
    md.hits.length = 0;
    await assert.rejects(discovery.metadata(down), { message: `its metadata at ${md.origin}/.well-known/oauth-authorization-server/down answered HTTP 404` });
    await assert.rejects(discovery.metadata(down));
    assert.equal(md.hits.length, 2, "the second lookup within retryMs asked nobody");
    md.answers.set("/down/.well-known/openid-configuration", { status: 200, body: "<html>not json</html>" });
    md.answers.set("/.well-known/oauth-authorization-server/down", { status: 200, body: { issuer: down.issuer } });
    now += 5_001;
    assert.equal((await discovery.metadata(down)).issuer, down.issuer, "a non-JSON OpenID answer falls back to RFC 8414");
  });
});
