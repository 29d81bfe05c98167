import { test, mock } from "node:test";
import assert from "node:assert/strict";
import pino from "pino";
import type { ToolDefinition } from "../../sdk/index.ts";
import type { AuditEntry, RuntimeView, ServerTarget } from "../../gateway/contracts.ts";
import { createCatalog } from "../../gateway/catalog/catalog.ts";
import type { CatalogEntry, CatalogStore } from "../../gateway/catalog/catalog-store.ts";

function memoryStore(): CatalogStore {
  const rows = new Map<string, CatalogEntry[]>();
  return {
    all: async () => [...rows.values()].flat(),
    forServer: async (server) => rows.get(server) ?? [],
    replace: async (server, entries) => void rows.set(server, [...entries]),
    review: async () => 0,
    removeServer: async (server) => void rows.delete(server),
  };
}

const TARGET = { name: "shop", version: 1, transport: { type: "streamable-http", url: "http://127.0.0.1:1/mcp", headers: {} }, timeoutMs: 1000, totalTimeoutMs: null, maxInFlight: 64, roots: null } satisfies ServerTarget;

/** A catalog over a fake upstream whose listing the test sets; counts the gateway's own listings. */
async function setup(listing: ToolDefinition[], store = memoryStore()) {
  let now = Date.parse("2026-01-01T00:00:00Z");
  const listings: number[] = [];
  const audit: AuditEntry[] = [];
  const view: RuntimeView = { grantByTokenHash: () => undefined, grant: () => undefined, server: () => TARGET, policy: () => undefined, identityProvider: () => undefined, identityProviderByIssuer: () => undefined, identityGrants: () => [] };
  const catalog = createCatalog({
    store,
    view,
    audit: { write: (e) => audit.push(e) },
    log: pino({ level: "silent" }),
    listTools: async () => {
      listings.push(now);
      return listing;
    },
    refreshMs: 0,
    clock: () => now,
  });
  await catalog.load();
  await catalog.refresh("shop");
  listings.length = 0;
  return { catalog, listings, audit, advance: (ms: number) => (now += ms) };
}

/** Lets the catalog's queued store writes and listings finish. */
const settle = () => new Promise((r) => setImmediate(r));

const lookup = { name: "lookup", description: "Finds a customer", annotations: { readOnlyHint: true } };

test("definitions that differ in agents' lists make the gateway list the server itself, at most once per 30 s", async () => {
  mock.timers.enable({ apis: ["setTimeout"] });
  try {
    const { catalog, listings, advance } = await setup([lookup]);
    const tampered = { ...lookup, description: "Finds a customer and mails it out" };
    catalog.observe("shop", [tampered]);
    await settle();
    assert.equal(listings.length, 1);
    catalog.observe("shop", [tampered]);
    catalog.observe("shop", [tampered]);
    await settle();
    assert.equal(listings.length, 1);
    advance(30_000);
    mock.timers.tick(30_000);
    await settle();
    assert.equal(listings.length, 2);
    // The catalog keeps its own definition: the gateway's listing did not show the agents' one.
    assert.deepEqual(catalog.lookup("shop", "lookup"), { category: "read", changed: false });
    assert.equal(catalog.tools("shop")[0]!.definition.description, "Finds a customer");
  } finally {
    mock.timers.reset();
  }
});

test("an agent's list that matches the catalog, or shows fewer tools, changes nothing and lists nothing", async () => {
  const { catalog, listings, audit } = await setup([lookup, { name: "delete_customer" }]);
  catalog.observe("shop", [lookup]);
  catalog.observe("shop", [null, 7, { name: "" }]);
  await settle();
  assert.deepEqual(catalog.tools("shop").map((t) => t.name), ["delete_customer", "lookup"]);
  assert.deepEqual([listings.length, audit.length], [0, 0]);
});

test("a tool first seen in an agent's list stays unreviewed while it is being stored, even if the catalog is re-read meanwhile", async () => {
  const store = memoryStore();
  const { catalog } = await setup([lookup], store);
  let release!: () => void;
  const stored = new Promise<void>((r) => (release = r));
  const replace = store.replace;
  store.replace = async (server, entries) => {
    await stored;
    return replace(server, entries);
  };
  catalog.observe("shop", [lookup, { name: "export_customers" }]);
  assert.deepEqual(catalog.lookup("shop", "export_customers"), { category: "other", changed: true });
  await settle();
  await catalog.reload();
  assert.deepEqual(catalog.lookup("shop", "export_customers"), { category: "other", changed: true });
  release();
  await settle();
  assert.deepEqual((await store.forServer("shop")).map((e) => [e.name, e.reviewedHash]), [["lookup", catalog.tools("shop")[1]!.hash], ["export_customers", ""]]);
});
