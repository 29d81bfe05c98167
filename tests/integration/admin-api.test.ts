import { after, before, describe, test } from "node:test";
import assert from "node:assert/strict";
import { startGateway, type TestGateway } from "../helpers/gateway.ts";

let gw: TestGateway;
const SERVER = { transport: { type: "streamable-http", url: "http://127.0.0.1:9/mcp", headers: { Authorization: "Bearer upstream-secret-value" } }, description: "test" };
const POLICY = { document: { version: "1", default: "deny", tools: { search: {} } } };

before(async () => {
  gw = await startGateway({ args: ["--read-only-token", "readonly-token-0123456789"] });
});
after(async () => assert.equal(await gw.stop(), 0));

async function call(method: string, path: string, body?: unknown, headers: Record<string, string> = {}) {
  const res = await fetch(gw.adminUrl + path, {
    method,
    headers: { authorization: `Bearer ${gw.adminToken}`, ...(body === undefined ? {} : { "content-type": "application/json" }), ...headers },
    body: body === undefined ? undefined : typeof body === "string" ? body : JSON.stringify(body),
  });
  const text = await res.text();
  const type = res.headers.get("content-type");
  return { status: res.status, etag: res.headers.get("etag"), type, body: text && /json/.test(type ?? "") ? JSON.parse(text) : undefined, text };
}

describe("servers, policies and grants", () => {
  test("PUT creates (201), repeats idempotently (200, same version), updates (version+1); GET and ETag agree", async () => {
    const created = await call("PUT", "/v1/servers/stripe", SERVER);
    assert.deepEqual([created.status, created.etag, created.body.version], [201, '"1"', 1]);
    const again = await call("PUT", "/v1/servers/stripe", SERVER);
    assert.deepEqual([again.status, again.etag], [200, '"1"']);
    const changed = await call("PUT", "/v1/servers/stripe", { ...SERVER, timeoutMs: 5000 });
    assert.deepEqual([changed.status, changed.etag, changed.body.timeoutMs], [200, '"2"', 5000]);
    const read = await call("GET", "/v1/servers/stripe");
    assert.deepEqual([read.status, read.etag, read.body.name, read.body.timeoutMs], [200, '"2"', "stripe", 5000]);
  });

  test("credentials are never returned; the digest changes only when they do", async () => {
    const before = (await call("GET", "/v1/servers/stripe")).body;
    assert.deepEqual(before.transport, { type: "streamable-http", url: "http://127.0.0.1:9/mcp", headers: { Authorization: "[redacted]" } });
    assert.match(before.credentialsDigest, /^hmac-sha256:[A-Za-z0-9_-]{43}$/);
    const same = await call("PUT", "/v1/servers/stripe", { ...SERVER, timeoutMs: 5000 });
    assert.equal(same.body.credentialsDigest, before.credentialsDigest);
    const rotated = await call("PUT", "/v1/servers/stripe", { ...SERVER, timeoutMs: 5000, transport: { ...SERVER.transport, headers: { Authorization: "Bearer new-upstream-secret" } } });
    assert.notEqual(rotated.body.credentialsDigest, before.credentialsDigest);
    assert.doesNotMatch(rotated.text, /upstream-secret/);
  });

  test("If-Match guards against lost updates; If-None-Match: * only creates", async () => {
    await call("PUT", "/v1/policies/p1", POLICY);
    const stale = await call("PUT", "/v1/policies/p1", { document: { ...POLICY.document, default: "allow" } }, { "if-match": '"7"' });
    assert.deepEqual([stale.status, stale.type, stale.body.code, stale.body.detail], [412, "application/problem+json", "precondition_failed", 'policy "p1" is at version 1, not 7: it changed since you read it']);
    const fresh = await call("PUT", "/v1/policies/p1", { document: { ...POLICY.document, default: "allow" } }, { "if-match": '"1"' });
    assert.deepEqual([fresh.status, fresh.etag], [200, '"2"']);
    const exists = await call("PUT", "/v1/policies/p1", POLICY, { "if-none-match": "*" });
    assert.deepEqual([exists.status, exists.body.detail], [412, 'policy "p1" already exists (If-None-Match: *)']);
    const del = await call("DELETE", "/v1/policies/p1", undefined, { "if-match": '"1"' });
    assert.equal(del.status, 412);
  });

  test("grants: the token is returned once on create and on rotate; the old token stops working", async () => {
    await call("PUT", "/v1/policies/p2", POLICY);
    const created = await call("PUT", "/v1/grants/agent", { server: "stripe", policy: "p2", owner: "pulumi:shop/dev" });
    assert.equal(created.status, 201);
    assert.match(created.body.token, /^tg_[A-Za-z0-9_-]{43}$/);
    assert.equal(created.body.url, `${gw.proxyUrl}/mcp/stripe`);
    assert.equal(created.body.owner, "pulumi:shop/dev");
    const read = await call("GET", "/v1/grants/agent");
    assert.equal(read.body.token, undefined);
    assert.doesNotMatch(read.text, /tg_/);
    const updated = await call("PUT", "/v1/grants/agent", { server: "stripe", policy: "p2", description: "support agent" });
    assert.deepEqual([updated.status, updated.body.token, updated.body.owner], [200, undefined, "pulumi:shop/dev"]);
    const rotated = await call("POST", "/v1/grants/agent/rotate");
    assert.equal(rotated.status, 200);
    assert.match(rotated.body.token, /^tg_/);
    assert.notEqual(rotated.body.token, created.body.token);
    const init = { jsonrpc: "2.0", id: 1, method: "initialize", params: { protocolVersion: "2025-06-18", capabilities: {}, clientInfo: { name: "t", version: "1" } } };
    const old = await fetch(`${gw.proxyUrl}/mcp/stripe`, { method: "POST", headers: { "content-type": "application/json", authorization: `Bearer ${created.body.token}` }, body: JSON.stringify(init) });
    assert.equal(old.status, 401);
  });

  test("list pages with cursors, in name order", async () => {
    for (const n of ["a1", "a2", "a3", "a4", "a5"]) await call("PUT", `/v1/policies/${n}`, POLICY);
    const names: string[] = [];
    let cursor: string | null = null;
    let pages = 0;
    do {
      const page: { body: { items: { name: string }[]; nextCursor: string | null } } = await call("GET", `/v1/policies?limit=2${cursor ? `&cursor=${cursor}` : ""}`);
      names.push(...page.body.items.map((i) => i.name));
      cursor = page.body.nextCursor;
      pages++;
    } while (cursor);
    assert.deepEqual(names.filter((n) => n.startsWith("a")), ["a1", "a2", "a3", "a4", "a5"]);
    assert.ok(pages >= 3);
  });

  test("DELETE answers 204, then 404", async () => {
    await call("PUT", "/v1/policies/gone", POLICY);
    assert.equal((await call("DELETE", "/v1/policies/gone")).status, 204);
    const again = await call("DELETE", "/v1/policies/gone");
    assert.deepEqual([again.status, again.body.detail], [404, 'policy "gone" does not exist']);
  });
});

describe("bad input of every kind gets a 4xx with a path, never a 5xx", () => {
  const cases: [string, string, string, unknown, number, { path: string; message: string }[] | string][] = [
    ["invalid JSON", "PUT", "/v1/policies/x", "{nope", 400, "The body is not valid JSON"],
    ["wrong content type", "PUT", "/v1/policies/x", undefined, 415, "Content-Type must be application/json"],
    ["bad name in the URL", "PUT", "/v1/policies/Bad_Name", POLICY, 400, [{ path: "/name", message: 'name must be 1-63 characters of a-z, 0-9, ".", "_" or "-", starting with a letter or digit, got "Bad_Name"' }]],
    ["name mismatch", "PUT", "/v1/policies/x", { name: "y", ...POLICY }, 400, [{ path: "/name", message: 'must be "x" (the name in the URL)' }]],
    ["unknown key", "PUT", "/v1/servers/x", { ...SERVER, timeout: 5 }, 400, [{ path: "/timeout", message: 'unknown key "timeout"' }]],
    ["wrong types", "PUT", "/v1/servers/x", { transport: { type: "streamable-http", url: 5 }, timeoutMs: "fast" }, 400, [
      { path: "/timeoutMs", message: 'timeoutMs must be a number of milliseconds, got "fast"' },
      { path: "/transport/url", message: "url must be a string, got number" },
    ]],
    ["unknown transport", "PUT", "/v1/servers/x", { transport: { type: "websocket", url: "http://x" } }, 400, [{ path: "/transport/type", message: 'transport.type must be "streamable-http", "sse" or "stdio", got "websocket"' }]],
    ["credentials in the URL", "PUT", "/v1/servers/x", { transport: { type: "streamable-http", url: "http://user:pw@example.com/mcp" } }, 400, [{ path: "/transport/url", message: "url must not contain credentials; put them in headers" }]],
    ["bad header value type", "PUT", "/v1/servers/x", { transport: { type: "streamable-http", url: "http://example.com", headers: { "X-Key": 123456 } } }, 400, [{ path: "/transport/headers/X-Key", message: "header values must be strings, got number" }]],
    ["bad policy document", "PUT", "/v1/policies/x", { document: { version: "1", default: "deny", tools: { t: { limits: [{ counter: "c", window: "week", max: 1 }] } } } }, 400, [
      { path: "/document/tools/t/limits/0/window", message: 'window must be "minute", "hour", "day" or a duration like "30s", "15m", "6h", "2d" (at most 366d), got "week"' },
    ]],
    ["grant for a missing server", "PUT", "/v1/grants/x", { server: "nope" }, 422, [{ path: "/server", message: 'server "nope" does not exist' }]],
    ["bad expiry", "PUT", "/v1/grants/x", { server: "stripe", expiresAt: "tomorrow" }, 400, [{ path: "/expiresAt", message: 'expiresAt must be an ISO 8601 time like 2027-01-31T00:00:00Z, got "tomorrow"' }]],
    ["bad page size", "GET", "/v1/servers?limit=0", undefined, 400, [{ path: "/limit", message: "must be 1-500" }]],
    ["bad cursor", "GET", "/v1/servers?cursor=!!", undefined, 400, [{ path: "/cursor", message: "not a cursor from this API" }]],
    ["bad If-Match", "PUT", "/v1/policies/x", POLICY, 400, "If-Match must be an ETag like \"3\", got \"abc\""],
    ["bad audit filter", "GET", "/v1/audit?decision=maybe", undefined, 400, [{ path: "/decision", message: 'must be "allow", "deny" or "event"' }]],
    ["unknown route", "GET", "/v1/nothing", undefined, 404, "No route for GET /v1/nothing"],
    ["oversized body", "PUT", "/v1/policies/x", { document: { version: "1", default: "deny", pad: "x".repeat(1_100_000) } }, 413, "Request body is larger than 1048576 bytes"],
  ];
  for (const [name, method, path, body, status, expected] of cases) {
    test(name, async () => {
      const headers: Record<string, string> = name === "wrong content type" ? { "content-type": "text/plain" } : name === "bad If-Match" ? { "if-match": "abc" } : {};
      const r = await call(method, path, name === "wrong content type" ? "x" : body, headers);
      assert.equal(r.status, status, r.text);
      assert.equal(r.type, "application/problem+json");
      if (typeof expected === "string") assert.match(r.body.detail, new RegExp(expected.replace(/[.*+?^${}()|[\]\\]/g, "\\$&")));
      else assert.deepEqual(r.body.issues, expected);
      assert.equal(typeof r.body.code, "string");
    });
  }
});

describe("authentication", () => {
  test("401 without a token and with a wrong one; health endpoints are open", async () => {
    const none = await fetch(`${gw.adminUrl}/v1/servers`);
    assert.deepEqual([none.status, ((await none.json()) as { detail: string }).detail], [401, "Missing admin token: send Authorization: Bearer <token>"]);
    const wrong = await fetch(`${gw.adminUrl}/v1/servers`, { headers: { authorization: "Bearer not-the-token" } });
    assert.deepEqual([wrong.status, ((await wrong.json()) as { detail: string }).detail], [401, "The admin token is not valid"]);
    assert.equal((await fetch(`${gw.adminUrl}/healthz`)).status, 200);
    assert.deepEqual(await (await fetch(`${gw.adminUrl}/readyz`)).json(), { status: "ready" });
  });

  test("the read-only token reads but cannot write", async () => {
    const headers = { authorization: "Bearer readonly-token-0123456789" };
    assert.equal((await fetch(`${gw.adminUrl}/v1/servers`, { headers })).status, 200);
    const put = await fetch(`${gw.adminUrl}/v1/policies/ro`, { method: "PUT", headers: { ...headers, "content-type": "application/json" }, body: JSON.stringify(POLICY) });
    assert.deepEqual([put.status, ((await put.json()) as { detail: string }).detail], [403, "The read-only token cannot change anything"]);
  });
});

test("/openapi.json describes every endpoint with the zod-generated schemas; /metrics is Prometheus text", async () => {
  const doc = (await call("GET", "/openapi.json")).body;
  assert.equal(doc.openapi, "3.1.0");
  assert.deepEqual(Object.keys(doc.paths).sort(), ["/healthz", "/metrics", "/openapi.json", "/readyz", "/v1/audit", "/v1/audit/export", "/v1/grants", "/v1/grants/{name}", "/v1/grants/{name}/rotate", "/v1/policies", "/v1/policies/{name}", "/v1/servers", "/v1/servers/{name}", "/v1/servers/{name}/tools", "/v1/servers/{name}/tools/refresh", "/v1/servers/{name}/tools/review", "/v1/approvals", "/v1/approvals/{id}", "/v1/approvals/{id}/approve", "/v1/approvals/{id}/deny", "/v1/webhooks", "/v1/webhooks/{name}", "/v1/identity-providers", "/v1/identity-providers/{name}", "/v1/identity/whoami"].sort());
  assert.deepEqual(doc.components.schemas.GrantSpec.required, ["name", "server"]);
  const metrics = await call("GET", "/metrics");
  assert.match(metrics.text, /^# HELP toolgate_decisions_total/m);
  assert.match(metrics.text, /^toolgate_stdio_processes 0$/m);
});
