import assert from "node:assert/strict";
import { randomBytes, randomUUID } from "node:crypto";
import { createServer, type IncomingMessage, type Server, type ServerResponse } from "node:http";
import { after, before, test } from "node:test";
import { exportJWK, generateKeyPair, SignJWT, type JWK, type JWTHeaderParameters } from "jose";
import { startGateway, type TestGateway } from "../helpers/gateway.ts";
import { GATEWAY_CLIENT, startIdp, type TestIdp } from "../helpers/idp.ts";
import { RawAgent, resultText, startNodeUpstream, type TestUpstream } from "../helpers/upstreams.ts";

/**
 * The OAuth resource server and the approvers' sign-in, attacked (issue 19): a real `toolgate serve`, two real
 * oidc-providers (corp, partner) and a hostile IdP of our own (tenant-a / tenant-b sharing one JWKS, an
 * introspection endpoint that says whatever the test wants or never answers), with hostile agents, unauthenticated
 * callers and signed-in people without rights. docs/security.md, "Identity", lists what each case defends.
 */

/** An identity provider we control: it serves a JWKS (counting fetches) and an introspection endpoint, and signs anything. */
interface HostileIdp {
  url: string;
  kid: string;
  jwksFetches(): number;
  /** Fetches of /jwks-down, a key set URL that always answers 503. */
  downJwksFetches(): number;
  /** Tokens its introspection endpoint was asked about, in order. */
  introspected: string[];
  /** What introspection answers for a token ("hang": never answers). */
  answer: (token: string) => Record<string, unknown> | "hang";
  /** Fetches of any other path (jku/x5u targets). */
  strayFetches: string[];
  /** Signs with its real key; `crit` names the extension headers the signer accepts (to put them in `crit`). */
  sign(payload: Record<string, unknown>, header?: Partial<JWTHeaderParameters> & Record<string, unknown>, crit?: Record<string, boolean>): Promise<string>;
  stop(): Promise<void>;
}

async function startHostileIdp(): Promise<HostileIdp> {
  const { privateKey, publicKey } = await generateKeyPair("RS256", { extractable: true });
  const kid = "hostile-" + randomUUID();
  const publicJwk: JWK = { ...(await exportJWK(publicKey)), kid, alg: "RS256", use: "sig" };
  // Keys a broken IdP might list beside its real one: a symmetric key and a key for alg "none".
  const hmacSecret = randomBytes(32);
  const keys = [publicJwk, { kty: "oct", k: hmacSecret.toString("base64url"), kid: "hmac", alg: "HS256" }, { ...publicJwk, kid: "none-key", alg: "none" }];
  let fetches = 0;
  let downFetches = 0;
  const hanging: ServerResponse[] = [];
  const idp: Omit<HostileIdp, "url" | "stop"> = {
    kid,
    jwksFetches: () => fetches,
    downJwksFetches: () => downFetches,
    introspected: [],
    answer: () => ({ active: false }),
    strayFetches: [],
    sign: (payload, header = {}, crit) => new SignJWT(payload).setProtectedHeader({ alg: "RS256", kid, typ: "at+jwt", ...header }).sign(privateKey, crit ? { crit } : undefined),
  };
  const server: Server = createServer((req: IncomingMessage, res: ServerResponse) => {
    const path = new URL(req.url ?? "/", "http://x").pathname;
    if (path === "/jwks-down") {
      downFetches++;
      res.writeHead(503).end();
      return;
    }
    if (path === "/jwks") {
      fetches++;
      res.writeHead(200, { "content-type": "application/json" }).end(JSON.stringify({ keys }));
      return;
    }
    if (path === "/introspect" && req.method === "POST") {
      let body = "";
      req.on("data", (d: Buffer) => (body += d.toString()));
      req.on("end", () => {
        const token = new URLSearchParams(body).get("token") ?? "";
        idp.introspected.push(token);
        const answer = idp.answer(token);
        if (answer === "hang") hanging.push(res);
        else res.writeHead(200, { "content-type": "application/json" }).end(JSON.stringify(answer));
      });
      return;
    }
    idp.strayFetches.push(path);
    res.writeHead(404).end();
  });
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", () => resolve()));
  const url = `http://127.0.0.1:${(server.address() as { port: number }).port}`;
  return {
    ...idp,
    get introspected() {
      return idp.introspected;
    },
    set answer(fn) {
      idp.answer = fn;
    },
    get answer() {
      return idp.answer;
    },
    url,
    async stop() {
      for (const res of hanging) res.destroy();
      server.closeAllConnections();
      await new Promise<void>((resolve) => server.close(() => resolve()));
    },
  } as HostileIdp;
}

let gw: TestGateway;
let corp: TestIdp;
let partner: TestIdp;
let hostile: HostileIdp;
let upstream: TestUpstream;
let grantToken: string;
const now = () => Math.floor(Date.now() / 1000);
const resourceOf = (server: string) => `${gw.proxyUrl}/mcp/${server}`;
const b64 = (v: unknown) => Buffer.from(JSON.stringify(v)).toString("base64url");
const tenantA = () => `${hostile.url}/a`;
const tenantB = () => `${hostile.url}/b`;

before(async () => {
  upstream = await startNodeUpstream();
  gw = await startGateway();
  corp = await startIdp({ gatewayRedirectUris: [`${gw.adminUrl}/ui/auth/callback`] });
  partner = await startIdp();
  hostile = await startHostileIdp();
  const put = (kind: Parameters<TestGateway["admin"]["put"]>[0], name: string, body: unknown) => gw.admin.put(kind, name, body);
  await put("identity-providers", "corp", { issuer: corp.issuer, clientId: GATEWAY_CLIENT.clientId, clientSecret: GATEWAY_CLIENT.clientSecret, clockSkewSeconds: 5 });
  await put("identity-providers", "partner", { issuer: partner.issuer });
  // Two tenants of one IdP with one key set (as multi-tenant IdPs do): the issuer alone tells them apart.
  await put("identity-providers", "tenant-a", { issuer: tenantA(), jwksUri: `${hostile.url}/jwks`, introspectionEndpoint: `${hostile.url}/introspect`, clientId: "gw", clientSecret: "gw-secret-0123456789" });
  await put("identity-providers", "tenant-b", { issuer: tenantB(), jwksUri: `${hostile.url}/jwks` });
  await put("identity-providers", "tenant-down", { issuer: `${hostile.url}/down`, jwksUri: `${hostile.url}/jwks-down` });
  await put("policies", "reader", { document: { version: "1", default: "deny", tools: { read: {}, transfer: { approval: {} } } } });
  for (const server of ["alpha", "beta", "gamma"]) await put("servers", server, { transport: upstream.transport });
  await put("servers", "alpha", { transport: upstream.transport, approvers: { identityProvider: "corp", claims: [{ claim: "groups", contains: "payments-oncall" }] } });
  await put("servers", "beta", { transport: upstream.transport, approvers: { identityProvider: "corp", claims: [{ claim: "groups", contains: "support" }] } });
  await put("grants", "alpha-corp", { server: "alpha", policy: "reader", identity: { identityProvider: "corp" } });
  await put("grants", "alpha-partner", { server: "alpha", policy: "reader", identity: { identityProvider: "partner" } });
  await put("grants", "alpha-tenant-a", { server: "alpha", policy: "reader", identity: { identityProvider: "tenant-a" } });
  await put("grants", "beta-corp", { server: "beta", policy: "reader", identity: { identityProvider: "corp" } });
  await put("grants", "beta-tenant-b", { server: "beta", policy: "reader", identity: { identityProvider: "tenant-b", subject: "only-b" } });
  grantToken = (await gw.admin.put<{ token: string }>("grants", "alpha-token", { server: "alpha", policy: "reader" })).value.token;
  // Grants by claims an attacker-controlled token tries to satisfy with odd types.
  await put("grants", "gamma-domain", { server: "gamma", policy: "reader", identity: { identityProvider: "tenant-a", emailDomain: "kelvin.example" } });
  await put("grants", "gamma-admins", { server: "gamma", policy: "reader", identity: { identityProvider: "tenant-a", claims: [{ claim: "groups", contains: "admins" }, { claim: "tier", equals: "gold" }] } });
  await put("grants", "gamma-proto", { server: "gamma", policy: "reader", identity: { identityProvider: "tenant-a", claims: [{ claim: "constructor.name", equals: "Object" }, { claim: "x", equals: "y" }, { claim: "z", equals: "z" }] } });
  await put("grants", "gamma-roles", { server: "gamma", policy: "reader", identity: { identityProvider: "tenant-a", claims: [{ claim: "realm_access.roles", contains: "root" }, { claim: "a", equals: "b" }, { claim: "c", equals: "d" }, { claim: "e", equals: "f" }] } });
});

after(async () => {
  await gw?.stop();
  await Promise.all([corp?.stop(), partner?.stop(), hostile?.stop(), upstream?.close()]);
});

const initialize = JSON.stringify({ jsonrpc: "2.0", id: 1, method: "initialize", params: { protocolVersion: "2025-06-18", capabilities: {}, clientInfo: { name: "attacker", version: "1" } } });

/** One initialize with this bearer: 200 when the token gets a grant on the server. */
async function attempt(server: string, token: string): Promise<{ status: number; body: string; challenge: string }> {
  const res = await fetch(resourceOf(server), { method: "POST", headers: { authorization: `Bearer ${token}`, "content-type": "application/json", accept: "application/json, text/event-stream" }, body: initialize });
  return { status: res.status, body: await res.text(), challenge: res.headers.get("www-authenticate") ?? "" };
}

async function refused(server: string, token: string, status: number, reason: RegExp, label: string): Promise<void> {
  const r = await attempt(server, token);
  assert.equal(r.status, status, `${label}: ${r.body}`);
  assert.match(r.body, reason, label);
  assert.ok(!r.body.includes(token) && !r.challenge.includes(token), `${label}: the token is never echoed`);
}

const claimsFor = (server: string, extra: Record<string, unknown> = {}) => ({ iss: corp.issuer, sub: "bob", aud: resourceOf(server), iat: now(), exp: now() + 300, ...extra });

test("token confusion: grant-token prefix, grant tokens with an IdP, audience of another server, foreign keys, issuer spelling", async () => {
  const good = await corp.signJwt(claimsFor("alpha"));
  assert.equal((await attempt("alpha", good)).status, 200, "the baseline token is accepted");
  await refused("alpha", `tg_${good}`, 401, /Unknown or revoked grant token/, "a JWT dressed as a grant token is looked up as one, not verified");
  assert.equal((await attempt("alpha", grantToken)).status, 200, "a grant token still works beside identity providers");
  await refused("beta", grantToken, 403, /This grant is for server \\"alpha\\", not \\"beta\\"/, "a grant token on another server");
  await refused("beta", good, 401, /audience is not this server's resource/, "a token for server alpha on server beta");
  const both = await corp.signJwt(claimsFor("alpha", { aud: [resourceOf("alpha"), "https://unrelated.example"] }));
  assert.equal((await attempt("alpha", both)).status, 200, "an aud list holding alpha's resource is good for alpha");
  await refused("beta", both, 401, /audience/, "...and only for alpha");
  await refused("alpha", await corp.signJwt(claimsFor("alpha", { aud: `${resourceOf("alpha")}/` })), 401, /audience/, "a resource with a trailing slash is another resource");
  await refused("alpha", await partner.signJwt(claimsFor("alpha")), 401, /no signing key .* matches|signature/, "partner's key signing a token that names corp's issuer");
  await refused("alpha", await corp.signJwt(claimsFor("alpha", { iss: `${corp.issuer}/` })), 401, /not a trusted identity provider/, "issuer with a trailing slash");
  await refused("alpha", await corp.signJwt(claimsFor("alpha", { iss: corp.issuer.toUpperCase() })), 401, /not a trusted identity provider/, "issuer in other case");
  await refused("alpha", await corp.signJwt(claimsFor("alpha", { iss: [corp.issuer] })), 401, /no issuer/, "issuer as a list");
  const noExp: Record<string, unknown> = claimsFor("alpha");
  delete noExp.exp;
  await refused("alpha", await corp.signJwt(noExp), 401, /exp claim is not valid/, "a token without exp");
  await refused("alpha", await corp.signJwt(claimsFor("alpha", { exp: "9999999999" })), 401, /exp|not valid/, "exp as a string");
  await refused("alpha", await corp.signJwt(claimsFor("alpha", { nbf: now() + 120 })), 401, /not valid yet \(nbf\)/, "nbf beyond the clock skew");
});

test("two identity providers sharing keys: a token's issuer decides whose grants it can match", async () => {
  const asB = await hostile.sign({ iss: tenantB(), sub: "only-b", aud: resourceOf("beta"), exp: now() + 300 });
  assert.equal((await attempt("beta", asB)).status, 200);
  const asA = await hostile.sign({ iss: tenantA(), sub: "only-b", aud: resourceOf("beta"), exp: now() + 300 });
  await refused("beta", asA, 403, /No grant for only-b on server beta/, "tenant-a's token never matches tenant-b's grant");
  // A second provider with an issuer already trusted would make "the provider whose issuer equals iss" ambiguous.
  const twin = await fetch(`${gw.adminUrl}/v1/identity-providers/corp-twin`, { method: "PUT", headers: { authorization: `Bearer ${gw.adminToken}`, "content-type": "application/json" }, body: JSON.stringify({ issuer: corp.issuer, audiences: ["https://anything.example"] }) });
  assert.equal(twin.status, 409, await twin.clone().text());
  assert.match(((await twin.json()) as { detail: string }).detail, /"corp" already has issuer/);
});

test("header tricks: crit, typ, embedded keys (jwk, jku, x5u), odd kids, HMAC and none keys in the JWKS", async () => {
  const attacker = await generateKeyPair("RS256", { extractable: true });
  const attackerJwk = { ...(await exportJWK(attacker.publicKey)), kid: "attacker" };
  const claims = claimsFor("alpha");
  const forge = (header: Record<string, unknown>) => new SignJWT(claims).setProtectedHeader({ alg: "RS256", ...header }).sign(attacker.privateKey);
  await refused("alpha", await forge({ jwk: attackerJwk }), 401, /no signing key|signature/, "a key embedded in the header (jwk)");
  await refused("alpha", await forge({ kid: "attacker", jku: `${hostile.url}/evil-jwks` }), 401, /no signing key|signature/, "a key set URL in the header (jku)");
  await refused("alpha", await forge({ kid: "attacker", x5u: `${hostile.url}/evil-cert` }), 401, /no signing key|signature/, "a certificate URL in the header (x5u)");
  assert.deepEqual(hostile.strayFetches, [], "jku and x5u are never fetched");
  await refused("alpha", await corp.signJwt(claims, { kid: "../../../../etc/passwd" }), 401, /no signing key/, "a kid that is a path");
  await refused("alpha", await corp.signJwt(claims, { kid: "k".repeat(8000) }), 401, /no signing key/, "a huge kid");

  const a = { iss: tenantA(), sub: "mallory", aud: resourceOf("alpha"), exp: now() + 300 };
  assert.equal((await attempt("alpha", await hostile.sign(a))).status, 200, "tenant-a's real key verifies despite the odd keys beside it");
  const hmacKey = Buffer.from(((await (await fetch(`${hostile.url}/jwks`)).json()) as { keys: { kid: string; k?: string }[] }).keys.find((k) => k.kid === "hmac")!.k!, "base64url");
  const hs = await new SignJWT(a).setProtectedHeader({ alg: "HS256", kid: "hmac" }).sign(hmacKey);
  await refused("alpha", hs, 401, /algorithm/, "HS256 with the JWKS's own oct key");
  await refused("alpha", await hostile.sign(a, { crit: ["urn:x"], "urn:x": 1 }, { "urn:x": true }), 401, /not valid/, "an unknown critical header");
  const typed = await hostile.sign(a, { typ: "JWT" });
  assert.equal((await attempt("alpha", typed)).status, 200, "typ is not required to be at+jwt (many IdPs send JWT); aud keeps ID tokens out");
  const none = `${b64({ alg: "none", kid: "none-key" })}.${b64(a)}.`;
  await refused("alpha", none, 401, /algorithm|not valid|well-formed/, "alg none with a key listed for none");
});

test("oversized tokens: 100 KB and thousands of claims get a clear refusal, and the gateway keeps answering", async () => {
  const huge = await corp.signJwt(claimsFor("alpha", { pad: "x".repeat(100_000) }));
  const big = await attempt("alpha", huge).catch(() => ({ status: 0, body: "", challenge: "" }));
  assert.ok(big.status === 431 || big.status === 401 || big.status === 0, `a 100 KB bearer is refused: ${big.status}`);
  const many = Object.fromEntries(Array.from({ length: 10_000 }, (_, i) => [`c${i}`, i]));
  const crowded = await corp.signJwt(claimsFor("alpha", many));
  const r = await attempt("alpha", crowded).catch(() => ({ status: 0, body: "", challenge: "" }));
  assert.ok(r.status === 431 || r.status === 401 || r.status === 0, `10,000 claims are refused: ${r.status}`);
  // Within the header limit, a token with many claims is checked like any other.
  const some = await corp.signJwt(claimsFor("alpha", Object.fromEntries(Array.from({ length: 1_000 }, (_, i) => [`c${i}`, i]))));
  assert.equal((await attempt("alpha", some)).status, 200);
  assert.equal((await attempt("alpha", await corp.signJwt(claimsFor("alpha")))).status, 200, "still answering");
});

test("refetch amplification: tokens with random unknown kids make at most one JWKS fetch per cooldown", async () => {
  const a = { iss: tenantA(), sub: "mallory", aud: resourceOf("alpha"), exp: now() + 300 };
  assert.equal((await attempt("alpha", await hostile.sign(a))).status, 200);
  const before = hostile.jwksFetches();
  const forged = await Promise.all(Array.from({ length: 60 }, () => hostile.sign(a, { kid: randomUUID() })));
  const results = await Promise.all(forged.map((t) => attempt("alpha", t)));
  assert.ok(results.every((r) => r.status === 401 && /no signing key/.test(r.body)), results.map((r) => r.status).join(","));
  assert.ok(hostile.jwksFetches() - before <= 1, `60 unknown kids fetched the JWKS ${hostile.jwksFetches() - before} times`);
});

test("an IdP whose keys cannot be fetched: calls fail closed (503) and a flood of them makes one fetch per retry interval", async () => {
  const token = await hostile.sign({ iss: `${hostile.url}/down`, sub: "mallory", aud: resourceOf("alpha"), exp: now() + 300 });
  const first = await attempt("alpha", token);
  assert.equal(first.status, 503, first.body);
  assert.match(first.body, /identity provider's keys could not be fetched/);
  const results = await Promise.all(Array.from({ length: 40 }, () => attempt("alpha", token)));
  for (let i = 0; i < 10; i++) results.push(await attempt("alpha", token));
  assert.ok(results.every((r) => r.status === 503));
  assert.equal(hostile.downJwksFetches(), 1, "the failure is remembered for a few seconds instead of asking the IdP per call");
});

test("introspection: inactive answers are remembered, an active answer without aud is refused, opaque tokens go only to the server's IdPs", async () => {
  hostile.answer = (token) => (token.startsWith("active-") ? { active: true, sub: "mallory", iss: tenantA(), aud: resourceOf("alpha"), exp: now() + 300 } : token.startsWith("bare-") ? { active: true } : { active: false });
  const inactive = "inactive-" + randomUUID();
  const asked = () => hostile.introspected.filter((t) => t === inactive).length;
  await refused("alpha", inactive, 401, /not active/, "an inactive token");
  await refused("alpha", inactive, 401, /not active/, "the same inactive token again");
  assert.equal(asked(), 1, "an inactive answer is remembered: the same junk token does not reach the IdP again");
  await refused("alpha", "bare-" + randomUUID(), 401, /audience/, "active:true with no aud, iss or exp");
  assert.equal((await attempt("alpha", "active-" + randomUUID())).status, 200, "a complete active answer is accepted");

  const forBeta = "opaque-beta-" + randomUUID();
  await refused("beta", forBeta, 401, /not active/, "an opaque token for beta");
  assert.ok(!hostile.introspected.includes(forBeta), "beta's grants use corp and tenant-b only: tenant-a's introspection endpoint never sees a token sent to beta");
});

test("introspection that never answers: the call fails closed (503) in bounded time and other callers are served meanwhile", async () => {
  hostile.answer = (token) => (token.startsWith("hang-") ? "hang" : { active: false });
  const slow = attempt("alpha", "hang-" + randomUUID());
  let settled = false;
  void slow.then(() => (settled = true));
  assert.equal((await attempt("alpha", grantToken)).status, 200, "a grant-token caller is answered while introspection hangs");
  assert.equal((await attempt("alpha", await corp.signJwt(claimsFor("alpha")))).status, 200, "so is a JWT caller");
  assert.equal(settled, false, "the hanging check was still pending");
  const r = await slow;
  assert.equal(r.status, 503, r.body);
  assert.match(r.body, /could not introspect the token/);
});

test("grant matching: odd claim types, a string email_verified, a Kelvin-sign domain, space-separated groups, prototype paths", async () => {
  const as = (claims: Record<string, unknown>) => hostile.sign({ iss: tenantA(), sub: "eve", aud: resourceOf("gamma"), exp: now() + 300, ...claims });
  const none = /No grant for eve on server gamma/;
  await refused("gamma", await as({ email: "eve@kelvin.example", email_verified: "true" }), 403, none, "email_verified as a string");
  await refused("gamma", await as({ email: "eve@\u212Aelvin.example", email_verified: true }), 403, none, "a domain with the Kelvin sign (lower-cases to k)");
  await refused("gamma", await as({ email: "eve@kelvin.example.evil", email_verified: true }), 403, none, "a domain that starts like it");
  await refused("gamma", await as({ email: ["eve@kelvin.example"], email_verified: true }), 403, none, "email as a list");
  assert.equal((await attempt("gamma", await as({ email: "Eve@KELVIN.example", email_verified: true }))).status, 200, "ASCII case does not matter");
  await refused("gamma", await as({ groups: { admins: true }, tier: "gold" }), 403, none, "groups as an object");
  await refused("gamma", await as({ groups: 1, tier: "gold" }), 403, none, "groups as a number");
  await refused("gamma", await as({ groups: ["admins"], tier: ["gold"] }), 403, none, "equals against a list");
  await refused("gamma", await as({ groups: "administrators", tier: "gold" }), 403, none, "a longer word");
  await refused("gamma", await as({ groups: [["admins"]], tier: "gold" }), 403, none, "a nested list");
  assert.equal((await attempt("gamma", await as({ groups: "users admins", tier: "gold" }))).status, 200, "a space-separated string holds its words (documented)");
  await refused("gamma", await as({ x: "y", z: "z" }), 403, none, "constructor.name walks own properties only");
  const proto = `{"iss":${JSON.stringify(tenantA())},"sub":"eve","aud":${JSON.stringify(resourceOf("gamma"))},"exp":${now() + 300},"__proto__":{"groups":["admins"],"tier":"gold"}}`;
  const protoToken = await hostile.sign(JSON.parse(proto) as Record<string, unknown>);
  await refused("gamma", protoToken, 403, none, "claims under __proto__");
  assert.equal((await attempt("gamma", await as({ realm_access: { roles: ["root"] }, a: "b", c: "d", e: "f" }))).status, 200, "a dotted path reads a nested list");
  await refused("gamma", await as({ realm_access: { roles: { 0: "root" } }, a: "b", c: "d", e: "f" }), 403, none, "an object with index keys is no list");
  await refused("gamma", await as({ sub: 7, client_id: undefined }), 401, /names no subject/, "a numeric sub names no subject");
});

test("Protected Resource Metadata and 401s: traversal, unknown servers, injection through the path", async () => {
  const meta = (path: string) => fetch(`${gw.proxyUrl}/.well-known/oauth-protected-resource${path}`);
  const known = await meta("/mcp/alpha");
  assert.equal(known.status, 200);
  const unknown = await meta("/mcp/no-such-server");
  assert.equal(unknown.status, 200, "an unknown server is answered like a server without grants by identity");
  assert.deepEqual(((await unknown.json()) as { authorization_servers: string[] }).authorization_servers, []);
  const traversal = await meta("/mcp/..%2f..%2fadmin");
  assert.ok([200, 404].includes(traversal.status));
  const doc = traversal.status === 200 ? ((await traversal.json()) as { resource: string }) : undefined;
  if (doc) assert.equal(doc.resource, `${gw.proxyUrl}/mcp/..%2F..%2Fadmin`, "the name stays one encoded path segment");
  const malformed = await meta("/mcp/%E0%A4%A");
  assert.equal(malformed.status, 404, "a name that does not decode is no server's metadata");
  assert.match(await malformed.text(), /Not found/);
  for (const name of ["x%0d%0aSet-Cookie:%20a=b", "x%22%2C%20error%3D%22injected"]) {
    const res = await fetch(`${gw.proxyUrl}/mcp/${name}`, { method: "POST", headers: { "content-type": "application/json" }, body: initialize });
    assert.equal(res.status, 401);
    assert.equal(res.headers.get("set-cookie"), null);
    const challenge = res.headers.get("www-authenticate")!;
    assert.match(challenge, /^Bearer resource_metadata="[^"]*"$/, "one parameter, quoted, nothing injected");
    const m = await fetch(`${gw.proxyUrl}/.well-known/oauth-protected-resource/mcp/${name}`);
    assert.equal(m.headers.get("set-cookie"), null);
  }
  const missing = await fetch(resourceOf("no-such-server"), { method: "POST", headers: { "content-type": "application/json" }, body: initialize });
  const present = await fetch(resourceOf("beta"), { method: "POST", headers: { "content-type": "application/json" }, body: initialize });
  assert.equal(missing.status, present.status, "an unauthenticated caller cannot tell servers apart");
  assert.equal((await missing.text()).replace("no-such-server", "S"), (await present.text()).replace("beta", "S"));
});

// ---- the approvers' sign-in

interface Signed {
  cookie: string;
  csrf: string;
  location: string | null;
}

const setCookie = (res: Response, name: string) => res.headers.getSetCookie().map((l) => l.split(";")[0]!).find((p) => p.startsWith(`${name}=`))?.slice(name.length + 1);

async function startSignIn(query = ""): Promise<{ authorization: string; signInCookie: string }> {
  const res = await fetch(`${gw.adminUrl}/ui/auth/login?provider=corp${query}`, { redirect: "manual" });
  assert.equal(res.status, 302);
  return { authorization: res.headers.get("location")!, signInCookie: setCookie(res, "tg_sign_in")! };
}

async function signIn(user: string, query = ""): Promise<Signed> {
  const { authorization, signInCookie } = await startSignIn(query);
  const back = await corp.signIn(authorization, user);
  const res = await fetch(`${gw.adminUrl}/ui/auth/callback${back.search}`, { redirect: "manual", headers: { cookie: `tg_sign_in=${signInCookie}` } });
  assert.equal(res.status, 303, await res.clone().text());
  const cookie = setCookie(res, "tg_session")!;
  const session = (await (await fetch(`${gw.adminUrl}/ui/auth/session`, { headers: { cookie: `tg_session=${cookie}` } })).json()) as { csrfToken: string };
  return { cookie, csrf: session.csrfToken, location: res.headers.get("location") };
}

const asPerson = (who: Signed, path: string, init: { method?: string; csrf?: string | null; origin?: string; body?: unknown } = {}) =>
  fetch(`${gw.adminUrl}${path}`, {
    method: init.method ?? "GET",
    headers: {
      cookie: `tg_session=${who.cookie}`,
      "content-type": "application/json",
      ...(init.csrf === null ? {} : { "x-toolgate-csrf": init.csrf ?? who.csrf }),
      ...(init.origin ? { origin: init.origin } : {}),
    },
    ...(init.body !== undefined ? { body: JSON.stringify(init.body) } : {}),
  });

/** A pending approval of `server`: a transfer by a caller with this bearer. */
async function pendingApproval(server: string, bearer: string): Promise<string> {
  const agent = await RawAgent.connect(gw.proxyUrl, server, bearer);
  const text = resultText(await agent.send(JSON.stringify({ jsonrpc: "2.0", id: 2, method: "tools/call", params: { name: "transfer", arguments: { amount: Math.random() } } }))) ?? "";
  return /Approval (apr_[A-Za-z0-9_-]+) is pending/.exec(text)?.[1] ?? assert.fail(`no pending approval: ${text}`);
}

test("sign-in: no open redirect through return or other parameters; the callback needs the browser's own sign-in cookie", async () => {
  for (const ret of ["https://evil.example", "//evil.example", "/\\evil.example", "#apr_x/../../evil", "#apr_x%0d%0aLocation:%20https://evil.example"]) {
    const { authorization } = await startSignIn(`&return=${encodeURIComponent(ret)}&next=https://evil.example&redirect_uri=https://evil.example/cb`);
    const url = new URL(authorization);
    assert.equal(url.origin, corp.issuer);
    assert.equal(url.searchParams.get("redirect_uri"), `${gw.adminUrl}/ui/auth/callback`, "the callback is the gateway's own, whatever is asked");
  }
  const signed = await signIn("alice", `&return=${encodeURIComponent("//evil.example")}`);
  assert.equal(signed.location, "/ui/", "a return that is not #apr_… goes to the page itself");

  // Login CSRF: the attacker's own code, delivered to a victim's browser.
  const attackerRun = await startSignIn();
  const attackerBack = await corp.signIn(attackerRun.authorization, "carol");
  const noCookie = await fetch(`${gw.adminUrl}/ui/auth/callback${attackerBack.search}`, { redirect: "manual" });
  assert.equal(noCookie.status, 400);
  assert.equal(setCookie(noCookie, "tg_session"), undefined);
  const victimRun = await startSignIn();
  const mixed = await fetch(`${gw.adminUrl}/ui/auth/callback${attackerBack.search}`, { redirect: "manual", headers: { cookie: `tg_sign_in=${victimRun.signInCookie}` } });
  assert.equal(mixed.status, 401, "the victim's sign-in cookie does not take the attacker's code (state)");
  assert.equal(setCookie(mixed, "tg_session"), undefined);
});

test("a signed-in approver: only the approvals routes, only their servers, CSRF and Origin checked, never their own call", async () => {
  const alice = await signIn("alice"); // payments-oncall: approver of alpha, not of beta
  const aliceToken = (server: string) => corp.mintAccessToken({ user: "alice", resource: resourceOf(server) });
  const bobAlpha = await pendingApproval("alpha", await corp.mintAccessToken({ user: "bob", resource: resourceOf("alpha") }));
  const bobBeta = await pendingApproval("beta", await corp.mintAccessToken({ user: "bob", resource: resourceOf("beta") }));

  for (const [method, path] of [["GET", "/v1/servers"], ["GET", "/v1/grants"], ["PUT", "/v1/grants/evil"], ["DELETE", "/v1/servers/alpha"], ["GET", "/v1/audit"], ["GET", "/v1/approvals/"], ["POST", "/v1/identity/whoami"], ["GET", `/v1/approvals/${bobAlpha}/../../servers`]] as const) {
    const res = await asPerson(alice, path, { method, body: method === "GET" ? undefined : {} });
    assert.equal(res.status, 401, `${method} ${path} needs the admin token`);
  }
  assert.equal((await asPerson(alice, `/v1/approvals/${bobAlpha}/approve`, { method: "POST", csrf: null, body: {} })).status, 403, "no CSRF header");
  assert.equal((await asPerson(alice, `/v1/approvals/${bobAlpha}/approve`, { method: "POST", csrf: "x".repeat(32), body: {} })).status, 403, "a wrong CSRF header");
  assert.equal((await asPerson(alice, `/v1/approvals/${bobAlpha}/approve`, { method: "POST", origin: "https://evil.example", body: {} })).status, 403, "another origin");
  assert.equal((await asPerson(alice, `/v1/approvals/${bobBeta}`)).status, 403, "an approval of a server she is no approver of");
  assert.equal((await asPerson(alice, `/v1/approvals/${bobBeta}/approve`, { method: "POST", body: {} })).status, 403);
  const listed = (await (await asPerson(alice, "/v1/approvals?status=pending&limit=500")).json()) as { items: { id: string; server: string }[] };
  assert.ok(listed.items.some((a) => a.id === bobAlpha) && listed.items.every((a) => a.server === "alpha"), "the list holds alpha's approvals only");
  const spoofed = await asPerson(alice, `/v1/approvals/${bobAlpha}/approve`, { method: "POST", body: { by: "corp:carol" } });
  assert.equal(spoofed.status, 200, await spoofed.clone().text());
  assert.equal(((await spoofed.json()) as { decidedBy: string }).decidedBy, "corp:alice", "a signed-in person decides as themselves, whatever `by` says");

  const own = await pendingApproval("alpha", await aliceToken("alpha"));
  const self = await asPerson(alice, `/v1/approvals/${own}/approve`, { method: "POST", body: {} });
  assert.equal(self.status, 403);
  assert.match(((await self.json()) as { detail: string }).detail, /You made this call/);
  // The same sub at a second identity provider: partner's alice asks, corp's alice may not decide.
  const viaPartner = await pendingApproval("alpha", await partner.mintAccessToken({ user: "alice", resource: resourceOf("alpha") }));
  const cross = await asPerson(alice, `/v1/approvals/${viaPartner}/approve`, { method: "POST", body: {} });
  assert.equal(cross.status, 403, await cross.clone().text());
  assert.match(((await cross.json()) as { detail: string }).detail, /You made this call/);
});

test("a session cookie of one gateway is nothing to another with a different secret key", async () => {
  const alice = await signIn("alice");
  const other = await startGateway();
  try {
    const res = await fetch(`${other.adminUrl}/ui/auth/session`, { headers: { cookie: `tg_session=${alice.cookie}` } });
    assert.equal(res.status, 401);
    const decide = await fetch(`${other.adminUrl}/v1/approvals/apr_x/approve`, { method: "POST", headers: { cookie: `tg_session=${alice.cookie}`, "x-toolgate-csrf": alice.csrf, "content-type": "application/json" }, body: "{}" });
    assert.equal(decide.status, 401);
  } finally {
    await other.stop();
  }
});
