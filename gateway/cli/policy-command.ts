import { parseArgs } from "node:util";
import { readPolicyFile, validatePolicy, ToolgateError, type PolicyDocument } from "../../sdk/index.ts";
import type { Command, CommandIO } from "./main.ts";
import { explainCommand } from "./policy-explain.ts";
import { testCommand } from "./policy-test.ts";
import { diffCommand } from "./policy-diff.ts";

export const POLICY_USAGE = `Usage:
  toolgate policy validate <file...>
      Exit 0 when every file is valid; otherwise print "file: /pointer: message" lines and exit 1.
  toolgate policy explain <file> --tool <name> [--args '<json>'] [--grant <name>] [--server <name>] [--now <iso>]
                         [--category <risk category>] [--changed]
      Print the decision for one call and every rule walked.
  toolgate policy explain <file> --method <method> [--params '<json>']
      Print the decision for a resources/read, resources/subscribe, prompts/get, completion/complete or roots/list request.
  toolgate policy test <policy> <cases>
      Run a cases file (YAML or JSON list of {tool, args, expect: allow|deny|approval, rule?, name?, times?, category?, changed?});
      exit 1 on a failure.
  toolgate policy diff <old> <new> [--format text|markdown|json] [--fail-on-looser]
      Semantic diff for review: one line per change, marked stricter or LOOSER. --fail-on-looser exits 2 if anything got looser.
  toolgate policy suggest <server> [--out <file>] [--cases <file>] [--endpoint <url>] [--token <token>]
      A starting policy from the gateway's tool catalog of <server> (YAML, with each tool's risk in comments),
      and optionally a cases file for \`policy test\`. Gateway from --endpoint/--token or TOOLGATE_ENDPOINT/TOOLGATE_TOKEN.
`;

export const policyCommand: Command = async (argv, io) => {
  const [sub, ...rest] = argv;
  switch (sub) {
    case "validate":
      return validateCommand(rest, io);
    case "explain":
      return explainCommand(rest, io);
    case "test":
      return testCommand(rest, io);
    case "diff":
      return diffCommand(rest, io);
    case "suggest":
      return (await import("./policy-suggest.ts")).suggestCommand(rest, io);
    case undefined:
    case "--help":
    case "-h":
      io.stdout(POLICY_USAGE);
      return sub === undefined ? 2 : 0;
    default:
      io.stderr(`toolgate policy: unknown subcommand "${sub}"\n\n${POLICY_USAGE}`);
      return 2;
  }
};

async function validateCommand(argv: string[], io: CommandIO): Promise<number> {
  const { positionals } = parseArgs({ args: argv, allowPositionals: true, strict: true, options: {} });
  if (positionals.length === 0) throw new ToolgateError("invalid_input", "validate needs at least one policy file");
  let failed = false;
  for (const file of positionals) {
    const result = await loadAndValidate(file);
    if ("parseError" in result) {
      io.stdout(`${result.parseError}\n`);
      failed = true;
      continue;
    }
    for (const w of result.warnings) io.stdout(`${file}: ${w.path || "/"}: warning: ${w.message}\n`);
    if (result.ok) io.stdout(`${file}: valid\n`);
    else {
      failed = true;
      for (const e of result.errors) io.stdout(`${file}: ${e.path || "/"}: ${e.message}\n`);
    }
  }
  return failed ? 1 : 0;
}

async function loadAndValidate(file: string): Promise<ReturnType<typeof validatePolicy> | { parseError: string }> {
  try {
    return validatePolicy(await readPolicyFile(file));
  } catch (error) {
    if (error instanceof ToolgateError) return { parseError: error.message };
    throw error;
  }
}

/** Reads a policy file and returns the valid document, or throws one error listing every problem. */
export async function loadPolicy(file: string): Promise<PolicyDocument> {
  const result = validatePolicy(await readPolicyFile(file));
  if (result.ok) return result.document;
  throw new ToolgateError("invalid_policy", `${file} is not a valid policy:\n${result.errors.map((e) => `  ${file}: ${e.path || "/"}: ${e.message}`).join("\n")}`);
}
