import { parseArgs } from "node:util";
import { compilePolicy, limitDeniedMessage, printable, RISK_CATEGORIES, ToolgateError, type CompiledPolicy, type RiskCategory, type TraceStep } from "../../sdk/index.ts";
import type { CommandIO } from "./main.ts";
import { loadPolicy } from "./policy-command.ts";
import { parseJsonOption, parseTimeOption } from "./options.ts";

/**
 * `toolgate policy explain <file> --tool T --args '<json>'`: the decision for one call and the rules walked.
 * `--method M --params '<json>'` explains another request instead (resources/read, prompts/get, completion/complete,
 * or roots/list for the policy's client_roots).
 */
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
      method: { type: "string" },
      params: { type: "string", default: "{}" },
    },
  });
  const [file] = positionals;
  if (!file || positionals.length > 1) throw new ToolgateError("invalid_input", "explain needs exactly one policy file");
  if (values.method !== undefined && values.method !== "tools/call") {
    if (values.tool !== undefined) throw new ToolgateError("invalid_input", "explain takes --tool (a tools/call) or --method, not both");
    const params = parseJsonOption("--params", values.params);
    explainRequest(compilePolicy(await loadPolicy(file)), values.method, params, io);
    return 0;
  }
  if (!values.tool) throw new ToolgateError("invalid_input", "explain needs --tool <name> (or --method <method> --params '<json>' for other requests)");
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
  printSteps(steps, io);
  if (decision.effect === "allow" && decision.reservations.length > 0) {
    io.stdout(`when a counter is full the call is denied with, e.g.:\n  ${decision.reservations[0]!.rule}: [POLICY DENIED] ${limitDeniedMessage(decision.reservations[0]!)}\n`);
  }
  return 0;
}

function printSteps(steps: readonly TraceStep[], io: CommandIO): void {
  io.stdout(`rules walked:\n`);
  for (const s of steps) io.stdout(`  ${s.outcome.padEnd(8)} ${s.rule || "(allowed)"}  ${s.detail}\n`);
}

const ROOTS = {
  allow: "relayed: the gateway passes the agent's answer to the server's roots/list (client_roots: allow)",
  deny: "not relayed: servers never see the agent's roots (client_roots: deny)",
  undefined: "the policy is silent (no client_roots): the gateway's default applies, not relayed for stdio servers, relayed for HTTP servers",
} as const;

function explainRequest(policy: CompiledPolicy, method: string, params: unknown, io: CommandIO): void {
  if (method === "roots/list") {
    io.stdout(`client roots: ${ROOTS[policy.clientRoots ?? "undefined"]}\n`);
    return;
  }
  const { decision, steps } = policy.explainRequest({ method, params });
  io.stdout(`decision: ${decision.effect.toUpperCase()}\n`);
  if (decision.effect === "deny") io.stdout(`rule: ${decision.rule}\nmessage: ${printable(decision.message)}\n`);
  io.stdout(`request: ${printable(method)}\n`);
  printSteps(steps, io);
}
