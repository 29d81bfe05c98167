import { ToolgateError } from "../../sdk/index.ts";

/** A subcommand: gets its arguments, writes to the given streams, returns the exit code. */
export type Command = (argv: string[], io: CommandIO) => Promise<number>;

export interface CommandIO {
  stdout: (text: string) => void;
  stderr: (text: string) => void;
}

const COMMANDS: Record<string, { summary: string; load: () => Promise<Command> }> = {
  policy: { summary: "validate, explain, test and diff policy documents", load: async () => (await import("./policy-command.ts")).policyCommand },
  quickstart: { summary: "the quickstart: gateway + pulumi up + a demo (what npm start runs)", load: async () => (await import("./quickstart-command.ts")).quickstartCommand },
  approvals: { summary: "list, show, approve and deny tool calls waiting for a person", load: async () => (await import("./approvals-command.ts")).approvalsCommand },
  tools: { summary: "a server's tools from the catalog: risk, evidence, changes; review them", load: async () => (await import("./tools-command.ts")).toolsCommand },
  grants: { summary: "whoami: which grant and policy a token gets on a server, and why", load: async () => (await import("./grants-command.ts")).grantsCommand },
  serve: { summary: "run the gateway (proxy + admin API)", load: async () => (await import("./serve-command.ts")).serveCommand },
};

export const USAGE = `toolgate: MCP tool-call policy, managed as code

Usage: toolgate <command> [options]

Commands:
${Object.entries(COMMANDS).map(([name, c]) => `  ${name.padEnd(10)}${c.summary}`).join("\n")}

Run 'toolgate <command> --help' for a command's options.
`;

const defaultIO: CommandIO = {
  stdout: (t) => void process.stdout.write(t),
  stderr: (t) => void process.stderr.write(t),
};

/** Entry point of the `toolgate` binary. Errors become one readable line and exit code 1, never a stack trace. */
export async function run(argv: string[], io: CommandIO = defaultIO): Promise<number> {
  const [name, ...rest] = argv;
  if (name === undefined || name === "--help" || name === "-h" || name === "help") {
    io.stdout(USAGE);
    return 0;
  }
  const command = COMMANDS[name];
  if (!command) {
    io.stderr(`toolgate: unknown command "${name}"\n\n${USAGE}`);
    return 2;
  }
  try {
    return await (await command.load())(rest, io);
  } catch (error) {
    if (error instanceof ToolgateError) {
      io.stderr(`toolgate ${name}: ${error.message}\n`);
      return 1;
    }
    if (error instanceof TypeError && (error as NodeJS.ErrnoException).code === "ERR_PARSE_ARGS_UNKNOWN_OPTION") {
      io.stderr(`toolgate ${name}: ${error.message}\n`);
      return 2;
    }
    throw error;
  }
}
