// Token validation cost per call: the proxy's authenticate() with a grant token beside an access token (a JWT checked
// against a JWKS fetched once from a local HTTP server and cached), in one run, interleaved. The target: a
// JWT adds ≤ 0.05 ms p50 over a grant token. `npm run bench:identity` (CALLS=<calls per round>, ROUNDS=<rounds>).
import { createServer } from "node:http";
import type { AddressInfo } from "node:net";
import { exportJWK, generateKeyPair, SignJWT, type CryptoKey } from "jose";
import { createAccessTokenVerifier } from "../gateway/identity/access-tokens.ts";
import { authenticate, resourceUrls, tokenHash } from "../gateway/proxy/authenticate.ts";
import { createRuntimeView } from "../gateway/runtime-view.ts";

export interface IdentityBenchRow {
  scenario: string;
  p50Us: number;
  p99Us: number;
  /** p50 minus the grant token's p50: what checking the bearer this way adds to a call. */
  addedP50Us: number;
}

const SERVER = "payments";
const NOW = () => Date.now();

/** A view as the gateway holds it: one identity provider, a grant token, and grants by identity on a few servers. */
function benchView(issuer: string, jwksUri: string, grantToken: string) {
  const view = createRuntimeView();
  const stamp = { description: null, owner: null, version: 1, createdAt: "2026-01-01T00:00:00Z", updatedAt: "2026-01-01T00:00:00Z" };
  view.setIdentityProvider({ name: "corp", issuer, audiences: [], jwksUri, introspectionEndpoint: null, algorithms: ["RS256", "ES256"], clockSkewSeconds: 30, clientId: null, clientSecret: null, clientSecretDigest: null, ...stamp });
  view.setGrant({ name: "agent", server: SERVER, policy: "p", expiresAt: null, identity: null, tokenHash: tokenHash(grantToken), ...stamp });
  // Grants by identity the selection looks through: a team grant, a subject grant, and others on other servers.
  view.setGrant({ name: "team", server: SERVER, policy: "p", expiresAt: null, identity: { identityProvider: "corp", claims: [{ claim: "groups", contains: "payments" }] }, tokenHash: "x1", ...stamp });
  view.setGrant({ name: "oncall", server: SERVER, policy: "p", expiresAt: null, identity: { identityProvider: "corp", claims: [{ claim: "groups", contains: "payments" }, { claim: "groups", contains: "oncall" }] }, tokenHash: "x2", ...stamp });
  view.setGrant({ name: "carol", server: SERVER, policy: "p", expiresAt: null, identity: { identityProvider: "corp", subject: "carol" }, tokenHash: "x3", ...stamp });
  for (let i = 0; i < 20; i++) view.setGrant({ name: `other-${i}`, server: `server-${i}`, policy: "p", expiresAt: null, identity: { identityProvider: "corp", claims: [{ claim: "groups", contains: `team-${i}` }] }, tokenHash: `y${i}`, ...stamp });
  return view;
}

function quantile(sorted: readonly number[], q: number): number {
  return sorted[Math.min(sorted.length - 1, Math.floor(q * sorted.length))]!;
}

export async function runIdentityBench(calls = Number(process.env.CALLS ?? 2_000), rounds = Number(process.env.ROUNDS ?? 20)): Promise<IdentityBenchRow[]> {
  const rsa = await generateKeyPair("RS256");
  const ec = await generateKeyPair("ES256");
  const keys = [
    { ...(await exportJWK(rsa.publicKey)), kid: "rsa", alg: "RS256", use: "sig" },
    { ...(await exportJWK(ec.publicKey)), kid: "ec", alg: "ES256", use: "sig" },
  ];
  let jwksFetches = 0;
  const jwks = createServer((_req, res) => {
    jwksFetches++;
    res.writeHead(200, { "content-type": "application/json" }).end(JSON.stringify({ keys }));
  });
  await new Promise<void>((r) => jwks.listen(0, "127.0.0.1", r));
  const base = `http://127.0.0.1:${(jwks.address() as AddressInfo).port}`;
  try {
    const grantToken = "tg_" + "b".repeat(43);
    const view = benchView(base, `${base}/jwks`, grantToken);
    const urls = resourceUrls("https://gateway.example", SERVER);
    const claims = { sub: "alice", groups: ["payments", "oncall"], email: "alice@example.com", email_verified: true, client_id: "mcp-agent", scope: "openid mcp" };
    const sign = (key: CryptoKey, alg: string, kid: string) => new SignJWT(claims).setProtectedHeader({ alg, kid, typ: "at+jwt" }).setIssuer(base).setAudience(urls.resource).setIssuedAt().setExpirationTime("1h").sign(key);
    const rs256 = await sign(rsa.privateKey, "RS256", "rsa");
    const es256 = await sign(ec.privateKey, "ES256", "ec");
    const cached = createAccessTokenVerifier({ view, providers: () => view.identityProviders() });
    const uncached = createAccessTokenVerifier({ view, providers: () => view.identityProviders(), verifiedCacheSize: 0 });

    const scenarios: { scenario: string; token: string; verifier: typeof cached }[] = [
      { scenario: "grant token (tg_…)", token: grantToken, verifier: cached },
      { scenario: "JWT RS256, verified result cached (per token, until exp)", token: rs256, verifier: cached },
      { scenario: "JWT ES256, verified result cached (per token, until exp)", token: es256, verifier: cached },
      { scenario: "JWT RS256, signature verified every call (keys cached)", token: rs256, verifier: uncached },
      { scenario: "JWT ES256, signature verified every call (keys cached)", token: es256, verifier: uncached },
    ];
    const samples = scenarios.map(() => [] as number[]);
    const once = async (s: (typeof scenarios)[number]) => {
      const auth = await authenticate({ headers: { authorization: `Bearer ${s.token}` } }, view, SERVER, NOW(), { verifier: s.verifier, urls });
      if (!auth.ok || auth.grant.name !== (s.token === grantToken ? "agent" : "oncall")) throw new Error(`${s.scenario}: not authenticated as expected: ${JSON.stringify(auth)}`);
    };
    for (const s of scenarios) for (let i = 0; i < calls; i++) await once(s); // warm-up: JIT, key import, first fetch
    // Rounds interleave the scenarios, so drift of the machine's speed touches them alike.
    for (let round = 0; round < rounds; round++) {
      for (const [index, s] of scenarios.entries()) {
        for (let i = 0; i < calls; i++) {
          const start = process.hrtime.bigint();
          await once(s);
          samples[index]!.push(Number(process.hrtime.bigint() - start) / 1000);
        }
      }
    }
    // Once per verifier: every measured call used cached keys.
    if (jwksFetches !== 2) throw new Error(`the JWKS was fetched ${jwksFetches} times; the bench measures cached keys`);
    const p50s = samples.map((s) => quantile(s.sort((a, b) => a - b), 0.5));
    return scenarios.map((s, i) => ({ scenario: s.scenario, p50Us: p50s[i]!, p99Us: quantile(samples[i]!, 0.99), addedP50Us: p50s[i]! - p50s[0]! }));
  } finally {
    jwks.close();
  }
}

export function formatIdentityTable(rows: readonly IdentityBenchRow[]): string {
  const us = (n: number) => n.toFixed(1);
  return [
    "| authenticate() per call | p50 µs | p99 µs | added p50 vs grant token, ms |",
    "|---|---|---|---|",
    ...rows.map((r) => `| ${r.scenario} | ${us(r.p50Us)} | ${us(r.p99Us)} | ${(r.addedP50Us / 1000).toFixed(4)} |`),
  ].join("\n");
}

if (import.meta.main) {
  const rows = await runIdentityBench();
  process.stdout.write(formatIdentityTable(rows) + "\n");
  const added = Math.max(rows[1]!.addedP50Us, rows[2]!.addedP50Us) / 1000;
  process.stdout.write(`\ntarget: a JWT (cached keys) adds ≤ 0.05 ms p50 per call; measured ${added.toFixed(4)} ms: ${added <= 0.05 ? "met" : "NOT met"}\n`);
}
