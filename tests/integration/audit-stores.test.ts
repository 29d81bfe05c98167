import { after, before, describe, test } from "node:test";
import assert from "node:assert/strict";
import pino from "pino";
import type { AuditEntry } from "../../gateway/contracts.ts";
import { createAuditLog, type AuditStore } from "../../gateway/store/audit-log.ts";
import { parseAuditRetention, startAuditPruner } from "../../gateway/store/audit-retention.ts";
import { createPgAuditBackend } from "../../gateway/store/pg-audit.ts";
import { openPostgres, type Postgres } from "../../gateway/store/postgres.ts";
import { createSqliteAuditBackend } from "../../gateway/store/sqlite-audit.ts";
import { openDatabase } from "../../gateway/store/sqlite.ts";
import { startPostgres, type TestPostgres } from "../helpers/postgres.ts";

const silent = pino({ level: "silent" });
const DAY = 86_400_000;
const NOW = Date.parse("2026-06-30T12:00:00Z");

function entry(overrides: Partial<AuditEntry> = {}): AuditEntry {
  return {
    time: new Date(NOW).toISOString(), requestId: "r", grant: "agent", server: "bank", method: "tools/call", tool: "search", decision: "allow",
    rule: "", message: "", policy: "p", policyVersion: 1, argumentKeys: ["q"], upstreamStatus: 200, latencyMs: 1, ...overrides,
  };
}

test("--audit-retention accepts an age, a row count or both, and names what is wrong otherwise", () => {
  assert.deepEqual(parseAuditRetention("30d"), { maxAgeMs: 30 * DAY });
  assert.deepEqual(parseAuditRetention("12h"), { maxAgeMs: 12 * 3_600_000 });
  assert.deepEqual(parseAuditRetention("1000000rows"), { maxRows: 1_000_000 });
  assert.deepEqual(parseAuditRetention("90d, 5000rows"), { maxAgeMs: 90 * DAY, maxRows: 5000 });
  for (const bad of ["30", "0d", "30days", "1e6rows", "30d,40d", ""]) {
    assert.equal(parseAuditRetention(bad), `--audit-retention (TOOLGATE_AUDIT_RETENTION) must be an age like "30d" or "12h", a row count like "1000000rows", or both ("90d,1000000rows"), got ${JSON.stringify(bad)}`);
  }
});

/** The same behaviour on every audit backend. */
function describeAuditStore(name: string, open: () => Promise<{ audit: AuditStore; close(): Promise<void> }>) {
  describe(`${name} audit log`, () => {
    let audit: AuditStore;
    let close: () => Promise<void>;
    before(async () => ({ audit, close } = await open()));
    after(() => close());

    test("long tool names, messages, rule ids and key lists are cut, with a marker", async () => {
      const keys = Array.from({ length: 100 }, (_, i) => `k${i}`);
      audit.write(entry({ requestId: "long", tool: "t".repeat(5000), message: "m".repeat(10_000), rule: "r".repeat(1000), argumentKeys: [...keys.slice(0, 99), "x".repeat(500)] }));
      const [row] = (await audit.query({ limit: 1000 })).filter((r) => r.requestId === "long");
      assert.equal(row!.tool, "t".repeat(256) + "…[truncated]");
      assert.equal(row!.message, "m".repeat(2048) + "…[truncated]");
      assert.equal(row!.rule, "r".repeat(512) + "…[truncated]");
      assert.deepEqual(row!.argumentKeys, [...keys.slice(0, 64), "…[+36 more]"]);
      audit.write(entry({ requestId: "short", tool: "search", message: "ok" }));
      const [short] = (await audit.query({ limit: 1000 })).filter((r) => r.requestId === "short");
      assert.deepEqual([short!.tool, short!.message, short!.argumentKeys], ["search", "ok", ["q"]], "values within the limits are unchanged");
    });

    test("retention by age prunes older rows in batches and keeps the rest", async () => {
      for (let i = 0; i < 7; i++) audit.write(entry({ requestId: `old-${i}`, time: new Date(NOW - 40 * DAY + i).toISOString() }));
      audit.write(entry({ requestId: "recent", time: new Date(NOW - 29 * DAY).toISOString() }));
      await audit.flush();
      const pruner = startAuditPruner(audit, { maxAgeMs: 30 * DAY }, silent, { batch: 3, clock: () => NOW });
      const deleted = await pruner.run();
      await pruner.stop();
      const left = (await audit.query({ limit: 1000 })).map((r) => r.requestId);
      assert.equal(deleted, 7);
      assert.deepEqual(left.filter((id) => id.startsWith("old-")), []);
      assert.ok(left.includes("recent"));
    });

    test("rows are found by the caller's subject; grant-token rows (no subject) are not", async () => {
      audit.write(entry({ requestId: "by-alice", grant: "payments-team", subject: "alice" }));
      audit.write(entry({ requestId: "by-bob", grant: "payments-team", subject: "bob" }));
      audit.write(entry({ requestId: "by-token", grant: "payments-team" }));
      await audit.flush();
      const alice = await audit.query({ subject: "alice", limit: 1000 });
      assert.deepEqual(alice.map((r) => [r.requestId, r.subject]), [["by-alice", "alice"]]);
      assert.deepEqual((await audit.query({ subject: "alice", grant: "other", limit: 1000 })).map((r) => r.requestId), []);
    });

    test("retention by rows keeps the newest n", async () => {
      for (let i = 0; i < 10; i++) audit.write(entry({ requestId: `row-${i}` }));
      await audit.flush();
      const pruner = startAuditPruner(audit, { maxRows: 4 }, silent, { batch: 2, clock: () => NOW });
      await pruner.run();
      await pruner.stop();
      assert.deepEqual((await audit.query({ limit: 1000 })).map((r) => r.requestId), ["row-6", "row-7", "row-8", "row-9"]);
    });
  });
}

describeAuditStore("SQLite", async () => {
  const db = openDatabase(":memory:");
  const audit = createAuditLog(createSqliteAuditBackend(db));
  return { audit, close: async () => (await audit.close(), db.close()) };
});

let postgres: TestPostgres | undefined;
let pgDb: Postgres | undefined;
after(async () => {
  await pgDb?.close();
  await postgres?.stop();
});
describeAuditStore("PostgreSQL", async () => {
  postgres = await startPostgres();
  pgDb = await openPostgres(await postgres.createDatabase(), silent);
  const audit = createAuditLog(createPgAuditBackend(pgDb));
  return { audit, close: () => audit.close() };
});
