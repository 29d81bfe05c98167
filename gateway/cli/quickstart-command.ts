import { spawn } from "node:child_process";
import { existsSync, mkdirSync } from "node:fs";
import { join, resolve } from "node:path";
import { parseArgs } from "node:util";
import { Client } from "@modelcontextprotocol/sdk/client/index.js";
import { StreamableHTTPClientTransport } from "@modelcontextprotocol/sdk/client/streamableHttp.js";
import type { CallToolResult } from "@modelcontextprotocol/sdk/types.js";
import { ToolgateError } from "../../sdk/index.ts";
import { resolveServeConfig } from "../config.ts";
import { createLogger, startGateway } from "../gateway.ts";
import { findProjectRoot } from "./project-root.ts";
import type { Command, CommandIO } from "./main.ts";

export const QUICKSTART_USAGE = `Usage: toolgate quickstart [options]    (npm start)

Starts the gateway, runs \`pulumi up\` of the quickstart project (Pulumi.yaml, program in examples/quickstart/),
prints the MCP URL, a grant token and a client config, shows an allowed, a denied and a rate-limited call,
then keeps the gateway running until Ctrl-C.

  --once                        exit after the demo instead of serving
  --listen <host:port>          proxy listener (default 127.0.0.1:8787)
  --admin-listen <host:port>    admin API listener (default 127.0.0.1:8788)
  --data-dir <dir>              gateway data and the quickstart's Pulumi state (default ./.toolgate)

Pulumi state is kept in <data-dir>/pulumi-state, encrypted with PULUMI_CONFIG_PASSPHRASE (default
"toolgate-quickstart": a demo value; set your own for anything real). The Pulumi CLI comes from
scripts/install-pulumi.sh (a pulumi on PATH, or one built from its Go modules on first run).
`;

const STACK = "quickstart";

/** `toolgate quickstart`: the main job of a fresh clone (`npm install && npm start`). */
export const quickstartCommand: Command = async (argv, io) => {
  const { values } = parseArgs({
    args: argv,
    strict: true,
    options: {
      once: { type: "boolean" },
      listen: { type: "string" },
      "admin-listen": { type: "string" },
      "data-dir": { type: "string" },
      help: { type: "boolean", short: "h" },
    },
  });
  if (values.help) {
    io.stdout(QUICKSTART_USAGE);
    return 0;
  }
  const root = findProjectRoot();
  if (!existsSync(join(root, "Pulumi.yaml")) || !existsSync(join(root, "examples", "quickstart", "index.ts"))) {
    throw new ToolgateError("config", `the quickstart runs from a clone of the toolgate repository; ${root} has no Pulumi.yaml and examples/quickstart/`);
  }
  const config = resolveServeConfig(
    { listen: values.listen, "admin-listen": values["admin-listen"], "data-dir": values["data-dir"] ?? join(root, ".toolgate"), "log-level": "warn" },
    process.env,
  );

  io.stdout("==> Pulumi CLI\n");
  const pulumiBin = await installPulumi(root, io);

  io.stdout(`==> Starting the gateway (data in ${config.dataDir})\n`);
  const gateway = await startGateway(config, createLogger(config.logLevel));
  try {
    const adminToken = gateway.adminToken;
    const env: NodeJS.ProcessEnv = {
      ...process.env,
      PATH: `${pulumiBin}:${process.env.PATH ?? ""}`,
      PULUMI_BACKEND_URL: `file://${resolve(config.dataDir, "pulumi-state")}`,
      PULUMI_CONFIG_PASSPHRASE: process.env.PULUMI_CONFIG_PASSPHRASE ?? "toolgate-quickstart",
      PULUMI_SKIP_UPDATE_CHECK: "1",
      PULUMI_DIY_BACKEND_NO_LEGACY_WARNING: "true",
      TOOLGATE_ENDPOINT: gateway.adminUrl,
      TOOLGATE_TOKEN: adminToken,
    };
    mkdirSync(resolve(config.dataDir, "pulumi-state"), { recursive: true });

    io.stdout(`==> pulumi up (stack "${STACK}", program examples/quickstart/)\n`);
    await runPulumi(["stack", "select", "--create", STACK, "--non-interactive"], root, env, io, { quiet: true });
    await runPulumi(["up", "--yes", "--skip-preview", "--refresh", "--stack", STACK, "--non-interactive", "--suppress-progress"], root, env, io);
    const outputs = JSON.parse(await runPulumi(["stack", "output", "--json", "--show-secrets", "--stack", STACK], root, env, io, { quiet: true })) as {
      mcpUrl: string;
      readerToken: string;
    };

    io.stdout(`
==> Ready
MCP URL:      ${outputs.mcpUrl}
Grant token:  ${outputs.readerToken}   (the "reader" grant; \`pulumi stack output --show-secrets\` shows it again)
Admin API:    ${gateway.adminUrl}   (token in ${join(config.dataDir, "admin-token")}${process.env.TOOLGATE_ADMIN_TOKEN ? ", or TOOLGATE_ADMIN_TOKEN" : ""})

Client config (e.g. .mcp.json / claude_desktop_config.json):
${JSON.stringify({ mcpServers: { "toolgate-files": { type: "http", url: outputs.mcpUrl, headers: { Authorization: `Bearer ${outputs.readerToken}` } } } }, null, 2)}

`);
    io.stdout("==> Demo: three calls through the gateway as the reader agent\n");
    await demo(outputs.mcpUrl, outputs.readerToken, io);

    if (values.once) return 0;
    io.stdout(`\nThe gateway is running (proxy ${gateway.proxyUrl}, admin API ${gateway.adminUrl}). Press Ctrl-C to stop.\n`);
    await new Promise<void>((done) => {
      process.once("SIGINT", () => done());
      process.once("SIGTERM", () => done());
    });
    return 0;
  } finally {
    await gateway.stop();
  }
};

async function installPulumi(root: string, io: CommandIO): Promise<string> {
  const out = await runProcess("bash", [join(root, "scripts", "install-pulumi.sh")], root, process.env, (line) => io.stderr(`${line}\n`));
  if (out.code !== 0) throw new ToolgateError("config", "could not make the Pulumi CLI available (see the messages above)");
  return out.stdout.trim().split("\n").at(-1)!;
}

async function runPulumi(args: string[], cwd: string, env: NodeJS.ProcessEnv, io: CommandIO, options: { quiet?: boolean } = {}): Promise<string> {
  const out = await runProcess("pulumi", args, cwd, env, (line) => io.stderr(`${line}\n`), options.quiet ? undefined : (line) => io.stdout(`${line}\n`));
  if (out.code !== 0) throw new ToolgateError("config", `pulumi ${args[0]} failed (exit ${out.code})`);
  return out.stdout;
}

/** Runs a command, streaming stderr (and optionally stdout) line by line; resolves with the exit code and stdout. */
function runProcess(command: string, args: string[], cwd: string, env: NodeJS.ProcessEnv, onStderr: (line: string) => void, onStdout?: (line: string) => void): Promise<{ code: number; stdout: string }> {
  return new Promise((done, fail) => {
    const child = spawn(command, args, { cwd, env, stdio: ["ignore", "pipe", "pipe"] });
    let stdout = "";
    const lines = (stream: NodeJS.ReadableStream, each: (line: string) => void) => {
      let rest = "";
      stream.on("data", (chunk: Buffer) => {
        const parts = (rest + chunk.toString()).split("\n");
        rest = parts.pop()!;
        parts.forEach(each);
      });
      stream.on("end", () => rest && each(rest));
    };
    child.stdout.on("data", (chunk: Buffer) => (stdout += chunk.toString()));
    if (onStdout) lines(child.stdout, onStdout);
    lines(child.stderr, onStderr);
    child.once("error", (error) => fail(new ToolgateError("config", `could not run ${command}: ${error.message}`)));
    child.once("close", (code) => done({ code: code ?? 1, stdout }));
  });
}

async function demo(mcpUrl: string, token: string, io: CommandIO): Promise<void> {
  const client = new Client({ name: "toolgate-quickstart", version: "1.0.0" });
  await client.connect(new StreamableHTTPClientTransport(new URL(mcpUrl), { requestInit: { headers: { Authorization: `Bearer ${token}` } } }));
  try {
    const dir = (await call(client, "list_allowed_directories", {})).text.split("\n").find((l) => l.startsWith("/")) ?? ".";
    const read = await call(client, "read_text_file", { path: `${dir}/welcome.md` });
    io.stdout(`allowed   read_text_file welcome.md  -> ${read.text.split("\n")[0]}\n`);
    const write = await call(client, "write_file", { path: `${dir}/welcome.md`, content: "overwritten" });
    io.stdout(`denied    write_file welcome.md      -> ${write.text}\n`);
    for (let attempt = 1; attempt <= 3; attempt++) {
      const listing = await call(client, "list_directory", { path: dir });
      if (listing.denied) {
        io.stdout(`limited   list_directory (call ${attempt}) -> ${listing.text}\n`);
        break;
      }
      io.stdout(`allowed   list_directory (call ${attempt}) -> ${listing.text.split("\n").length} entries\n`);
    }
  } finally {
    await client.close();
  }
}

async function call(client: Client, name: string, args: Record<string, unknown>): Promise<{ text: string; denied: boolean }> {
  const result = (await client.callTool({ name, arguments: args })) as CallToolResult;
  const text = result.content.map((c) => (c.type === "text" ? c.text : `[${c.type}]`)).join("\n");
  return { text, denied: result.isError === true && text.startsWith("[POLICY DENIED]") };
}
