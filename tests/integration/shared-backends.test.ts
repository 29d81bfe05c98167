import { after, before, test } from "node:test";
import assert from "node:assert/strict";
import { spawn } from "node:child_process";
import { ROOT } from "../helpers/cli.ts";
import { startPostgres, type TestPostgres } from "../helpers/postgres.ts";
import { startRedis, type TestRedis } from "../helpers/redis.ts";

/**
 * The same gateway suites that run on SQLite, run again with PostgreSQL for everything stored and Redis for
 * limit counters (tests/helpers/gateway.ts gives each gateway its own database). Each suite runs in its own
 * test process, as it does on SQLite.
 */
const SUITES = ["admin-api", "admin-hardening", "proxy-enforcement", "proxy-relay", "approvals", "catalog", "provider-grpc", "server-config", "identity-admin-api", "identity-tokens", "identity-whoami"];

let postgres: TestPostgres;
let redis: TestRedis;
before(async () => {
  postgres = await startPostgres();
  redis = await startRedis();
});
after(async () => {
  await postgres?.stop();
  await redis?.stop();
});

for (const suite of SUITES) {
  test(`tests/integration/${suite}.test.ts passes on PostgreSQL + Redis`, async () => {
    const child = spawn(process.execPath, ["--test", `tests/integration/${suite}.test.ts`], {
      cwd: ROOT,
      // Without NODE_TEST_CONTEXT the child is a test run of its own, not a file of ours.
      env: { ...process.env, NODE_TEST_CONTEXT: undefined, TOOLGATE_TEST_POSTGRES_URL: postgres.url, TOOLGATE_TEST_REDIS_URL: redis.url },
      stdio: ["ignore", "pipe", "pipe"],
    });
    let output = "";
    child.stdout.on("data", (d: Buffer) => (output += d.toString()));
    child.stderr.on("data", (d: Buffer) => (output += d.toString()));
    const code = await new Promise<number | null>((resolve) => child.once("exit", resolve));
    const summary = /ℹ pass (\d+)[\s\S]*ℹ fail (\d+)/.exec(output);
    assert.equal(code, 0, `the suite failed on PostgreSQL + Redis:\n${output.split("\n").filter((l) => /✖|not ok|Error|assert/i.test(l)).slice(0, 60).join("\n")}\n--- full output tail ---\n${output.slice(-4000)}`);
    assert.ok(summary && Number(summary[1]) > 0, `the suite ran no tests:\n${output.slice(-2000)}`);
  });
}
