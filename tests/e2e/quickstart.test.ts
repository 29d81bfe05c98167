import { test } from "node:test";
import assert from "node:assert/strict";
import { existsSync, mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { toolgate } from "../helpers/cli.ts";
import { pulumiBinDir } from "../helpers/pulumi.ts";

test("npm start -- --once: gateway, pulumi up of the quickstart, client config and the three-call demo", async () => {
  pulumiBinDir(); // installs (or reuses) the CLI first, outside the command's own output
  const dataDir = mkdtempSync(join(tmpdir(), "toolgate-quickstart-"));
  try {
    const args = ["quickstart", "--once", "--data-dir", dataDir, "--listen", "127.0.0.1:0", "--admin-listen", "127.0.0.1:0"];
    const first = await toolgate(args, { env: { PULUMI_CONFIG_PASSPHRASE: "toolgate-quickstart" } });
    assert.equal(first.code, 0, first.stdout + first.stderr);
    assert.match(first.stdout, /\+ 6 created/);
    const url = /^MCP URL: +(http:\/\/127\.0\.0\.1:\d+\/mcp\/files)$/m.exec(first.stdout)?.[1];
    const token = /^Grant token: +(tg_[A-Za-z0-9_-]+)/m.exec(first.stdout)?.[1];
    assert.ok(url && token, first.stdout);
    const config = JSON.parse(/^(\{\n[\s\S]*?\n\})$/m.exec(first.stdout)![1]!) as { mcpServers: Record<string, { url: string; headers: Record<string, string> }> };
    assert.deepEqual(config.mcpServers["toolgate-files"], { type: "http", url, headers: { Authorization: `Bearer ${token}` } });
    assert.match(first.stdout, /^allowed +read_text_file welcome\.md +-> # Welcome to the Toolgate quickstart$/m);
    assert.match(first.stdout, /^denied +write_file welcome\.md +-> \[POLICY DENIED\] Tool "write_file" is not permitted by policy$/m);
    assert.match(first.stdout, /^limited +list_directory \(call 3\) -> \[POLICY DENIED\] Rate limit reached: at most 2 calls per minute/m);
    assert.ok(existsSync(join(dataDir, "pulumi-state")));

    // Run again: the same stack, nothing to change, the same token.
    const second = await toolgate(args, { env: { PULUMI_CONFIG_PASSPHRASE: "toolgate-quickstart" } });
    assert.equal(second.code, 0, second.stdout + second.stderr);
    assert.match(second.stdout, /6 unchanged/);
    assert.equal(/^Grant token: +(tg_[A-Za-z0-9_-]+)/m.exec(second.stdout)?.[1], token);
  } finally {
    rmSync(dataDir, { recursive: true, force: true });
  }
});
