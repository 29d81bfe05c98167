import { parseArgs } from "node:util";
import { compilePolicy, limitDeniedMessage, RISK_CATEGORIES, ToolgateError, type RiskCategory } from "../../sdk/index.ts";
import type { CommandIO } from "./main.ts";
import { loadPolicy } from "./policy-command.ts";
import { parseJsonOption, parseTimeOption } from "./options.ts";

/** `toolgate policy explain <file> --tool T --args '<json>'`: the decision for one call and the rules walked. */
export async function explainCommand(argv: string[], io: CommandIO): Promise<number> {
  const { positionals, values } = parseArgs({
    args: argv,
    allowPositionals: true,
    strict: true,
    options: {
      tool: { type: "string" },
      args: { type: "string", default: "{}" },
      grant: { type: "string", default: "example-grant" },
      server: { type: "string", default: "example-server" },
      now: { type: "string" },
      category: { type: "string" },
      changed: { type: "boolean" },
    },
  });
  const [file] = positionals;
  if (!file || positionals.length > 1) throw new ToolgateError("invalid_input", "explain needs exactly one policy file");
  if (!values.tool) throw new ToolgateError("invalid_input", "explain needs --tool <name>");
  const args = parseJsonOption("--args", values.args);
  const now = values.now === undefined ? Date.now() : parseTimeOption("--now", values.now);
  const category = values.category;
  if (category !== undefined && !(RISK_CATEGORIES as readonly string[]).includes(category)) {
    throw new ToolgateError("invalid_input", `--category must be one of ${RISK_CATEGORIES.join(", ")}, got ${JSON.stringify(category)}`);
  }
  const policy = compilePolicy(await loadPolicy(file));
  const { decision, steps } = policy.explain({
    tool: values.tool, args, grant: values.grant, server: values.server, now,
    ...(category ? { category: category as RiskCategory } : {}),
    ...(values.changed ? { changed: true } : {}),
  });
  io.stdout(`decision: ${decision.effect.toUpperCase()}\n`);
  if (decision.effect === "deny") io.stdout(`rule: ${decision.rule}\nmessage: [POLICY DENIED] ${decision.message}\n`);
  if (decision.effect === "approval") io.stdout(`rule: ${decision.rule}\nmessage: [APPROVAL REQUIRED] ${decision.message}; an approval is valid for ${decision.approval.timeoutMs / 1000} s\n`);
  io.stdout(`rules walked:\n`);
  for (const s of steps) io.stdout(`  ${s.outcome.padEnd(8)} ${s.rule || "(allowed)"}  ${s.detail}\n`);
  if (decision.effect === "allow" && decision.reservations.length > 0) {
    io.stdout(`when a counter is full the call is denied with, e.g.:\n  ${decision.reservations[0]!.rule}: [POLICY DENIED] ${limitDeniedMessage(decision.reservations[0]!)}\n`);
  }
  return 0;
}
