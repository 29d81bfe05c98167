import { parseArgs } from "node:util";
import { z } from "zod";
import { compilePolicy, limitDenial, readPolicyFile, RISK_CATEGORIES, ToolgateError, type CompiledPolicy, type Decision } from "../../sdk/index.ts";
import { zodIssues } from "../../sdk/issues.ts";
import type { CommandIO } from "./main.ts";
import { loadPolicy } from "./policy-command.ts";

const CaseSchema = z.strictObject({
  name: z.string().optional(),
  tool: z.string().min(1),
  args: z.record(z.string(), z.unknown()).optional(),
  expect: z.enum(["allow", "deny", "approval"], { error: (i) => `expect must be "allow", "deny" or "approval", got ${JSON.stringify(i.input)}` }),
  rule: z.string().optional(),
  grant: z.string().optional(),
  server: z.string().optional(),
  now: z.iso.datetime({ offset: true }).optional(),
  /** The tool's risk category, as the gateway's catalog would give it (for `risk` rules). */
  category: z.enum(RISK_CATEGORIES, { error: (i) => `category must be one of ${RISK_CATEGORIES.join(", ")}, got ${JSON.stringify(i.input)}` }).optional(),
  /** The tool's definition changed since review (for `pin`). */
  changed: z.boolean().optional(),
  /** Make the call this many times within one window; `expect` is about the last one. Exercises limits. */
  times: z.number().int().min(1).max(100_000).optional(),
});
type Case = z.output<typeof CaseSchema>;

const CasesFileSchema = z.union([z.array(CaseSchema), z.strictObject({ cases: z.array(CaseSchema) })]);

/** `toolgate policy test <policy> <cases>`: runs each case through the compiled policy; exit 1 on any failure. */
export async function testCommand(argv: string[], io: CommandIO): Promise<number> {
  const { positionals } = parseArgs({ args: argv, allowPositionals: true, strict: true, options: {} });
  if (positionals.length !== 2) throw new ToolgateError("invalid_input", "test needs a policy file and a cases file");
  const [policyFile, casesFile] = positionals as [string, string];
  const policy = compilePolicy(await loadPolicy(policyFile));
  const cases = await loadCases(casesFile);
  let passed = 0;
  let failed = 0;
  cases.forEach((c, i) => {
    const label = c.name ?? `#${i + 1} ${c.tool}`;
    const got = run(policy, c);
    const ruleOk = c.rule === undefined || c.rule === got.rule;
    if (got.effect === c.expect && ruleOk) {
      passed++;
      io.stdout(`PASS  ${label}: ${got.effect}${got.effect !== "allow" ? `, rule ${got.rule}` : ""}\n`);
    } else {
      failed++;
      const want = `${c.expect}${c.rule !== undefined ? ` (rule ${JSON.stringify(c.rule)})` : ""}`;
      const have = `${got.effect}${got.effect !== "allow" ? ` (rule ${JSON.stringify(got.rule)}: ${got.message})` : ""}`;
      io.stdout(`FAIL  ${label}: expected ${want}, got ${have}\n`);
    }
  });
  io.stdout(`${passed} passed, ${failed} failed\n`);
  return failed > 0 ? 1 : 0;
}

async function loadCases(file: string): Promise<Case[]> {
  const raw = await readPolicyFile(file);
  const parsed = CasesFileSchema.safeParse(raw);
  if (!parsed.success) {
    const issues = zodIssues(parsed.error, { input: raw, pickUnionBranch: (v) => (Array.isArray(v) ? 0 : 1) });
    throw new ToolgateError("invalid_input", `${file} is not a valid cases file:\n${issues.map((e) => `  ${file}: ${e.path || "/"}: ${e.message}`).join("\n")}`);
  }
  const cases = Array.isArray(parsed.data) ? parsed.data : parsed.data.cases;
  if (cases.length === 0) throw new ToolgateError("invalid_input", `${file} has no cases`);
  return cases;
}

/** Decides the case `times` times against fresh in-memory counters; returns the last decision. */
function run(policy: CompiledPolicy, c: Case): Decision {
  const counters = new Map<string, number>();
  const now = c.now === undefined ? Date.now() : Date.parse(c.now);
  let decision: Decision | undefined;
  for (let i = 0; i < (c.times ?? 1); i++) {
    decision = policy.decide({ tool: c.tool, args: c.args ?? {}, grant: c.grant ?? "test-grant", server: c.server ?? "test-server", now, ...(c.category ? { category: c.category } : {}), ...(c.changed !== undefined ? { changed: c.changed } : {}) });
    if (decision.effect === "allow") {
      const full = decision.reservations.find((r) => (counters.get(r.key) ?? 0) + 1 > r.max);
      if (full) decision = limitDenial(full);
      else for (const r of decision.reservations) counters.set(r.key, (counters.get(r.key) ?? 0) + 1);
    }
  }
  return decision!;
}
