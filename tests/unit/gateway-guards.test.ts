import { test } from "node:test";
import assert from "node:assert/strict";
import { existsSync, mkdtempSync, readFileSync, writeFileSync } from "node:fs";
import type { IncomingMessage } from "node:http";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { lockDataDir } from "../../gateway/data-dir.ts";
import { createOriginPolicy } from "../../gateway/proxy/security.ts";

function request(host: string, origin?: string, localAddress = "127.0.0.1"): IncomingMessage {
  return { headers: { host, ...(origin ? { origin } : {}) }, socket: { localAddress } } as unknown as IncomingMessage;
}

test("on a loopback listener, any 127.0.0.0/8 address or localhost is a fine Host; a DNS name is not", () => {
  const policy = createOriginPolicy([]);
  for (const host of ["127.0.0.1:8787", "127.0.0.2:8787", "localhost:8787", "[::1]:8787"]) assert.equal(policy.check(request(host, undefined, host.startsWith("127.0.0.2") ? "127.0.0.2" : "127.0.0.1")), undefined, host);
  assert.match(policy.check(request("attacker.example:8787")) ?? "", /DNS rebinding protection/);
  assert.match(policy.check(request("127.0.0.1.attacker.example")) ?? "", /DNS rebinding protection/);
  assert.equal(policy.check(request("gateway.internal:8787", undefined, "10.0.0.5")), undefined, "non-loopback listeners accept any Host");
});

test("a data-dir lock naming this very process is stale (a container restarted with the same pid) and is taken over", () => {
  const dir = mkdtempSync(join(tmpdir(), "toolgate-lock-"));
  writeFileSync(join(dir, "gateway.lock"), String(process.pid));
  const unlock = lockDataDir(dir);
  assert.equal(readFileSync(join(dir, "gateway.lock"), "utf8"), String(process.pid));
  unlock();
  assert.equal(existsSync(join(dir, "gateway.lock")), false);
});

test("a data-dir lock held by another live process is respected", () => {
  const dir = mkdtempSync(join(tmpdir(), "toolgate-lock-"));
  writeFileSync(join(dir, "gateway.lock"), String(process.ppid));
  assert.throws(() => lockDataDir(dir), new RegExp(`in use by another gateway \\(pid ${process.ppid}\\)`));
});
