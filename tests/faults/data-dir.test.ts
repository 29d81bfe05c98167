import { after, before, describe, test } from "node:test";
import assert from "node:assert/strict";
import { execFile } from "node:child_process";
import { randomBytes } from "node:crypto";
import { mkdtempSync, readFileSync, truncateSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { BIN, ROOT } from "../helpers/cli.ts";
import { startGateway, type TestGateway } from "../helpers/gateway.ts";
import { cannotMount, mountDisk, type TestDisk } from "./tmpfs.ts";

/**
 * A data dir that is damaged, empty, read-only or full: `toolgate serve` says in one line what is wrong
 * with which file and what to do, and exits 1 (never a stack trace, never a fresh empty store). While
 * running, a full disk reaches the admin API as 503 with the real SQLite error, and /readyz says so.
 */
const ADMIN_TOKEN = "tga_faults_" + randomBytes(16).toString("hex");

/** `toolgate serve` on `dataDir`, expected to refuse to start: a gateway that starts anyway is stopped after 15 s. */
function serve(dataDir: string): Promise<{ code: number | null; stderr: string }> {
  return new Promise((resolve) => {
    execFile(process.execPath, [BIN, "serve", "--data-dir", dataDir, "--listen", "127.0.0.1:0", "--admin-listen", "127.0.0.1:0"], { cwd: ROOT, env: { ...process.env, TOOLGATE_ADMIN_TOKEN: ADMIN_TOKEN }, timeout: 15_000 }, (error, _stdout, stderr) => {
      resolve({ code: error ? (typeof error.code === "number" ? error.code : null) : 0, stderr });
    });
  });
}
const POLICY = { document: { version: "1", default: "deny", tools: { search: {} } } };

/** A data dir in which a gateway ran: a store holding one policy. */
async function usedDataDir(dataDir = mkdtempSync(join(tmpdir(), "toolgate-faults-"))): Promise<string> {
  const gw = await startGateway({ dataDir, adminToken: ADMIN_TOKEN });
  await gw.admin.put("policies", "kept", POLICY);
  assert.equal(await gw.stop(), 0);
  return dataDir;
}

/** Waits until the gateway's output matches (a log line travels through a pipe after the response). */
async function logged(gw: TestGateway, pattern: RegExp): Promise<void> {
  for (let i = 0; i < 100 && !pattern.test(gw.logs()); i++) await new Promise((r) => setTimeout(r, 50));
  assert.match(gw.logs(), pattern);
}

describe("startup on a bad data dir", () => {
  test("a toolgate.db that is not a database: one line naming it, exit 1", async () => {
    const dataDir = mkdtempSync(join(tmpdir(), "toolgate-faults-"));
    writeFileSync(join(dataDir, "toolgate.db"), randomBytes(8192));
    const r = await serve(dataDir);
    assert.equal(r.stderr, `toolgate serve: ${dataDir}/toolgate.db: file is not a database (SQLITE_NOTADB): the database is damaged. Restore it from a backup (docs/operations.md), or move it away to start with an empty store\n`);
    assert.equal(r.code, 1);
  });

  test("a truncated toolgate.db (pages missing): one line naming it, exit 1", async () => {
    const dataDir = await usedDataDir();
    truncateSync(join(dataDir, "toolgate.db"), 3 * 4096);
    const r = await serve(dataDir);
    assert.equal(r.stderr, `toolgate serve: ${dataDir}/toolgate.db: database disk image is malformed (SQLITE_CORRUPT): the database is damaged. Restore it from a backup (docs/operations.md), or move it away to start with an empty store\n`);
    assert.equal(r.code, 1);
  });

  test("a zero-length toolgate.db is an error, not a fresh empty store", async () => {
    const dataDir = await usedDataDir();
    truncateSync(join(dataDir, "toolgate.db"), 0);
    const r = await serve(dataDir);
    assert.equal(r.stderr, `toolgate serve: ${dataDir}/toolgate.db is empty (0 bytes) instead of a gateway database: its servers, policies, grants and audit are missing. Restore it from a backup (docs/operations.md), or delete it to start with an empty store\n`);
    assert.equal(r.code, 1);
    assert.equal(readFileSync(join(dataDir, "toolgate.db")).length, 0, "the file was left as it was");
  });

  test("a zero-length generated secret.key is an error", async () => {
    const dataDir = await usedDataDir();
    writeFileSync(join(dataDir, "secret.key"), "");
    const r = await serve(dataDir);
    assert.equal(r.stderr, `toolgate serve: ${dataDir}/secret.key is empty: restore it from a backup, or delete it to have a new one generated\n`);
    assert.equal(r.code, 1);
  });
});

describe("a data dir on a disk that is read-only or full", { skip: cannotMount() }, () => {
  let disk: TestDisk;
  before(() => {
    disk = mountDisk(8 * 1024 * 1024);
  });
  after(() => disk?.unmount());

  test("read-only: one line naming the file that could not be written, exit 1", async () => {
    const dataDir = await usedDataDir(join(disk.dir, "ro"));
    disk.readOnly();
    try {
      const r = await serve(dataDir);
      assert.equal(r.stderr, `toolgate serve: ${dataDir}/gateway.lock: read-only file system (EROFS): the gateway must be able to read and write the data directory and its files; fix their permissions or mount, or choose another --data-dir\n`);
      assert.equal(r.code, 1);
    } finally {
      disk.readOnly(false);
    }
  });

  test("full: one line naming the file that could not be written, exit 1", async () => {
    const dataDir = await usedDataDir(join(disk.dir, "full"));
    disk.fill();
    try {
      assert.equal(disk.freeBytes(), 0);
      const r = await serve(dataDir);
      assert.equal(r.stderr, `toolgate serve: ${dataDir}/gateway.lock: no space left on device (ENOSPC): free space on the disk that holds the data directory, or choose another --data-dir\n`);
      assert.equal(r.code, 1);
    } finally {
      disk.unfill();
    }
  });

  test("full while running: the admin API answers 503 with SQLITE_FULL, the log has it, /readyz says the store is unwritable; all recover with space", async () => {
    const gw = await startGateway({ dataDir: join(disk.dir, "running"), adminToken: ADMIN_TOKEN });
    try {
      await gw.admin.put("policies", "small", POLICY);
      disk.fill();
      // Large enough that SQLite must grow its files on the full disk.
      const tools = Object.fromEntries(Array.from({ length: 20_000 }, (_, i) => [`tool_${i}`, {}]));
      const put = await fetch(`${gw.adminUrl}/v1/policies/large`, {
        method: "PUT",
        headers: { authorization: `Bearer ${ADMIN_TOKEN}`, "content-type": "application/json" },
        body: JSON.stringify({ document: { version: "1", default: "deny", tools } }),
      });
      assert.equal(put.status, 503);
      assert.deepEqual(await put.json(), {
        type: "https://toolgate.dev/problems/unavailable",
        title: "Service Unavailable",
        status: 503,
        code: "unavailable",
        detail: "The store (SQLite) cannot be used right now: database or disk is full (SQLITE_FULL)",
      });
      await logged(gw, /"store":"store \(SQLite\)","code":"SQLITE_FULL","reason":"database or disk is full","msg":"store operation failed"/);
      const ready = await fetch(`${gw.adminUrl}/readyz`);
      assert.equal(ready.status, 503);
      assert.deepEqual(await ready.json(), { status: "not ready", reason: "the store cannot be written: the disk that holds the data directory is full (0 bytes free)" });
      assert.equal((await gw.admin.get<{ version: number }>("policies", "small"))?.value.version, 1, "reads still work");

      disk.unfill();
      assert.deepEqual(await (await fetch(`${gw.adminUrl}/readyz`)).json(), { status: "ready" });
      assert.equal((await gw.admin.put<{ version: number }>("policies", "small", { document: { ...POLICY.document, default: "allow" } })).value.version, 2, "writes work again");
    } finally {
      disk.unfill();
      assert.equal(await gw.stop(), 0);
    }
  });
});
