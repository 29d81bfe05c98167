import { parseArgs } from "node:util";
import { diffPolicies, ToolgateError, type PolicyChange } from "../../sdk/index.ts";
import type { CommandIO } from "./main.ts";
import { loadPolicy } from "./policy-command.ts";

const MARK = { looser: "LOOSER", stricter: "stricter", neutral: "neutral" } as const;

/** `toolgate policy diff <old> <new>`: one line per semantic change, each marked stricter or LOOSER. */
export async function diffCommand(argv: string[], io: CommandIO): Promise<number> {
  const { positionals, values } = parseArgs({
    args: argv,
    allowPositionals: true,
    strict: true,
    options: { format: { type: "string", default: "text" }, "fail-on-looser": { type: "boolean", default: false } },
  });
  if (positionals.length !== 2) throw new ToolgateError("invalid_input", "diff needs two policy files: <old> <new>");
  const format = values.format;
  if (format !== "text" && format !== "markdown" && format !== "json") {
    throw new ToolgateError("invalid_input", `--format must be text, markdown or json, got ${JSON.stringify(format)}`);
  }
  const [oldFile, newFile] = positionals as [string, string];
  const changes = diffPolicies(await loadPolicy(oldFile), await loadPolicy(newFile));
  io.stdout(render(changes, format, oldFile, newFile));
  return values["fail-on-looser"] && changes.some((c) => c.direction === "looser") ? 2 : 0;
}

function render(changes: PolicyChange[], format: "text" | "markdown" | "json", oldFile: string, newFile: string): string {
  const looser = changes.filter((c) => c.direction === "looser").length;
  if (format === "json") {
    return JSON.stringify({ old: oldFile, new: newFile, looser, stricter: changes.filter((c) => c.direction === "stricter").length, changes }, null, 2) + "\n";
  }
  if (format === "markdown") {
    const head = `### Policy diff: \`${oldFile}\` → \`${newFile}\`\n\n`;
    if (changes.length === 0) return `${head}No semantic changes.\n`;
    const summary = looser > 0 ? `**${looser} change${looser === 1 ? "" : "s"} make the policy LOOSER.** Review before merging.\n\n` : `No change makes the policy looser.\n\n`;
    const rows = changes.map((c) => `| ${c.direction === "looser" ? "**LOOSER**" : MARK[c.direction]} | \`${c.path}\` | ${c.description.replaceAll("|", "\\|")} |`);
    return `${head}${summary}| | rule | change |\n|---|---|---|\n${rows.join("\n")}\n`;
  }
  if (changes.length === 0) return "no semantic changes\n";
  return changes.map((c) => `${MARK[c.direction].padEnd(8)} ${c.path}: ${c.description}`).join("\n") + "\n";
}
