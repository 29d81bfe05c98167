// The PostgreSQL configuration feed on its own (gateway/store/config-feed.ts), against a real PostgreSQL: a replica
// whose full re-read fails right after the listener (re)connects must not refuse calls until the next periodic
// re-sync (30 s), which is what a pooled connection that died with a restarted server does to that first re-read.
import { after, before, test } from "node:test";
import assert from "node:assert/strict";
import pino from "pino";
import { startConfigFeed, type ConfigFeed } from "../../gateway/store/config-feed.ts";
import type { ConfigStore } from "../../gateway/store/config-store.ts";
import type { MutableRuntimeView } from "../../gateway/runtime-view.ts";
import type { Catalog } from "../../gateway/catalog/catalog.ts";
import { startPostgres, type TestPostgres } from "../helpers/postgres.ts";

let postgres: TestPostgres;
let url: string;

before(async () => {
  postgres = await startPostgres();
  url = await postgres.createDatabase();
});

after(async () => {
  await postgres?.stop();
});

test("a failed full re-read after connecting is tried again within seconds, not at the next 30 s re-sync", async (t) => {
  let snapshots = 0;
  let failuresLeft = 2;
  const store = {
    async snapshot() {
      snapshots++;
      if (failuresLeft-- > 0) throw new Error("Connection terminated unexpectedly");
      return { servers: [], policies: [], grants: [], identityProviders: [] };
    },
  } as unknown as ConfigStore;
  const loads: unknown[] = [];
  const view = { load: (s: unknown) => void loads.push(s) } as unknown as MutableRuntimeView;
  const catalog = { reload: async () => {} } as unknown as Catalog;
  const feed: ConfigFeed = await startConfigFeed({ url, store, view, catalog, log: pino({ level: "silent" }), resyncMs: 30_000, graceMs: 3_000 });
  t.after(() => feed.close());

  // Past the grace period: without the retry the replica would now say it cannot vouch for its view.
  await new Promise((r) => setTimeout(r, 4_500));
  assert.equal(feed.problem(), undefined, "the replica serves again once a re-read succeeds");
  assert.equal(loads.length, 1, "the view was loaded once, by the first re-read that succeeded");
  assert.equal(snapshots, 3, "two failed re-reads, then one that succeeded, and none after it");
});
