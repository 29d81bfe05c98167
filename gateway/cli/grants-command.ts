import { readFile } from "node:fs/promises";
import { text } from "node:stream/consumers";
import { parseArgs } from "node:util";
import { printable, ToolgateError } from "../../sdk/index.ts";
import { displaySafeJson } from "../admin/safe-json.ts";
import type { WhoamiReport } from "../identity/whoami.ts";
import { adminConnection } from "./admin-connection.ts";
import type { Command } from "./main.ts";

export const GRANTS_USAGE = `Usage:
  toolgate grants whoami --server <name> (--token - | --token-file <path> | --token <access token>) [--json]
      Which grant and policy a bearer gets on the server, and why: the identity provider that accepted it
      (issuer, audience, expiry), the claims that mattered, each grant by identity with the conditions that
      held or failed, or the refusal a call with it gets. The gateway checks it with the proxy's own code;
      the token is never logged or echoed. "--token -" (or "--token-file -") reads it from stdin, so it stays
      out of your shell history.
      Exit code: 0 when the token gets a grant, 3 when it gets none.
Gateway from --endpoint/--admin-token or TOOLGATE_ENDPOINT/TOOLGATE_TOKEN (--token is the token to check here).
`;

/** Exit code when the checked token gets no grant (refused, no match, tie): scripts can tell it from a failure to ask. */
const NO_GRANT = 3;

/** `toolgate grants`: questions about grants. */
export const grantsCommand: Command = async (argv, io) => {
  const [sub, ...rest] = argv;
  if (sub === undefined || sub === "--help" || sub === "-h") {
    io.stdout(GRANTS_USAGE);
    return sub === undefined ? 2 : 0;
  }
  if (sub !== "whoami") {
    io.stderr(`toolgate grants: unknown subcommand "${sub}"\n\n${GRANTS_USAGE}`);
    return 2;
  }
  const { values, positionals } = parseArgs({
    args: rest,
    allowPositionals: true,
    strict: true,
    options: { endpoint: { type: "string" }, "admin-token": { type: "string" }, server: { type: "string" }, token: { type: "string" }, "token-file": { type: "string" }, json: { type: "boolean" }, help: { type: "boolean", short: "h" } },
  });
  if (values.help) {
    io.stdout(GRANTS_USAGE);
    return 0;
  }
  if (positionals.length > 0) throw new ToolgateError("invalid_input", `whoami takes no positional arguments (got ${positionals.length}); pass the token with --token - (stdin), --token-file or --token`);
  if (!values.server) throw new ToolgateError("invalid_input", "whoami needs --server <name>: the server whose audience and grants the token is checked against");
  const token = await tokenFrom(values.token, values["token-file"]);
  const admin = adminConnection({ endpoint: values.endpoint, token: values["admin-token"] });
  const report = await admin.postJson<WhoamiReport>("/v1/identity/whoami", { token, server: values.server });
  io.stdout(values.json ? displaySafeJson(report, 2) + "\n" : describe(report));
  return report.result.ok ? 0 : NO_GRANT;
};

/** The token from exactly one of --token / --token-file; "-" reads stdin. Surrounding whitespace (a file's newline) is dropped. */
async function tokenFrom(flag: string | undefined, file: string | undefined): Promise<string> {
  if ((flag === undefined) === (file === undefined)) throw new ToolgateError("invalid_input", "whoami needs exactly one of --token - (read from stdin), --token-file <path> or --token <access token>");
  let raw: string;
  if (flag === "-" || file === "-") raw = await text(process.stdin);
  else if (file !== undefined) {
    try {
      raw = await readFile(file, "utf8");
    } catch (error) {
      throw new ToolgateError("invalid_input", `--token-file ${file} cannot be read: ${(error as NodeJS.ErrnoException).code ?? (error as Error).message}`);
    }
  } else raw = flag!;
  const token = raw.trim();
  if (token === "") throw new ToolgateError("invalid_input", `the token ${file !== undefined ? `in ${file === "-" ? "stdin" : file}` : flag === "-" ? "on stdin" : "given"} is empty`);
  return token;
}

/** The report in words. Claims, names and messages come from tokens and configuration: shown through printable(). */
export function describe(r: WhoamiReport): string {
  const p = printable;
  const lines = [`server:   ${p(r.server)} (resource ${p(r.resource)})`];
  const t = r.token;
  if (t?.kind === "grant-token") lines.push(`token:    a grant token of grant ${p(t.grant)}`);
  else if (t?.kind === "access-token") {
    const audience = t.audience === r.resource ? `${p(t.audience)} (the server's resource URL)` : `${p(t.audience)} (one of the provider's audiences)`;
    lines.push(
      `token:    an access token (${t.via === "jwt" ? "JWT, signature checked with the provider's keys" : "opaque, checked by introspection"}) accepted by identity provider ${p(t.identityProvider)}`,
      `  issuer:   ${p(t.issuer)}`,
      `  audience: ${audience}`,
      `  expires:  ${t.expiresAt ?? "no expiry given"}`,
      `  subject:  ${p(t.subject)}${t.clientId ? ` (client ${p(t.clientId)})` : ""}`,
    );
  } else lines.push("token:    not accepted");
  const claims = Object.entries(r.claims);
  if (claims.length > 0) {
    lines.push("claims that mattered:");
    const width = Math.max(...claims.map(([k]) => p(k).length));
    for (const [k, v] of claims) lines.push(`  ${p(k).padEnd(width)}  ${p(JSON.stringify(v))}`);
  }
  if (t?.kind === "access-token") {
    if (r.grants.length === 0) lines.push(`grants:   none of server ${p(r.server)} is for identity provider ${p(t.identityProvider)}`);
    else lines.push("grants checked (most specific first):");
    for (const g of r.grants) {
      const rank = g.specificity.subject ? "subject" : `${g.specificity.conditions} condition${g.specificity.conditions === 1 ? "" : "s"}`;
      const state = g.expired ? "expired" : g.matches ? "matches" : "no match";
      lines.push(`  ${p(g.name)}: ${state} (policy ${g.policy === null ? "none" : p(g.policy)}; specificity: ${rank})`);
      for (const c of g.conditions) lines.push(`    ${c.holds ? "holds " : "FAILS "} ${p(c.condition)}`);
    }
  }
  const res = r.result;
  if (res.ok) lines.push(`result:   grant ${p(res.grant)}, ${res.policy ? `policy ${p(res.policy.name)} v${res.policy.version}` : "no policy (every call is denied)"}`);
  else lines.push(`result:   no grant (${res.status} ${res.reason}): ${p(res.message)}`);
  return lines.join("\n") + "\n";
}
