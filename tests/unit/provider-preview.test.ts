import { test, before, mock } from "node:test";
import assert from "node:assert/strict";
import * as pulumi from "@pulumi/pulumi";
import { freePort } from "../helpers/free-port.ts";

/** A program run as `pulumi preview` runs it (mocked engine, dry run). */
before(async () => {
  await pulumi.runtime.setMocks({ newResource: (args) => ({ id: args.name, state: args.inputs }), call: () => ({}) }, "shop", "dev", true);
});

const known = <T>(o: pulumi.Output<T>) => (o as unknown as { isKnown: Promise<boolean> }).isKnown;

test("getServerTools in a preview that cannot reach the gateway: unknown tools and a warning, not a failed preview", async () => {
  const port = await freePort(); // nothing listens there
  process.env.TOOLGATE_ENDPOINT = `http://127.0.0.1:${port}`;
  process.env.TOOLGATE_TOKEN = "tga_unit_preview_token";
  const warnings: string[] = [];
  mock.method(console, "warn", (line: string) => void warnings.push(line));
  try {
    const { getServerTools } = await import("../../provider/index.ts");
    const tools = getServerTools({ server: "files" });
    assert.equal(await known(tools), false);
    assert.equal(warnings.length, 1, warnings.join("\n"));
    assert.match(warnings[0]!, /getServerTools: the tools of server "files" are unknown in this preview: .*could not reach the gateway at http:\/\/127\.0\.0\.1:\d+.*`pulumi up` reads them from the gateway\./);
    assert.doesNotMatch(warnings[0]!, /tga_unit_preview_token/);
  } finally {
    mock.restoreAll();
    delete process.env.TOOLGATE_ENDPOINT;
    delete process.env.TOOLGATE_TOKEN;
  }
});

test("getServerTools in a preview without endpoint or token (a pull request from a fork): unknown, with the reason", async () => {
  const warnings: string[] = [];
  mock.method(console, "warn", (line: string) => void warnings.push(line));
  try {
    const { getServerTools } = await import("../../provider/index.ts");
    const tools = getServerTools({ server: "files" });
    assert.equal(await known(tools), false);
    assert.deepEqual(warnings, [
      'warning: [runtime] getServerTools: the tools of server "files" are unknown in this preview: no gateway endpoint: set toolgate:endpoint or TOOLGATE_ENDPOINT. `pulumi up` reads them from the gateway.',
    ]);
  } finally {
    mock.restoreAll();
  }
});
