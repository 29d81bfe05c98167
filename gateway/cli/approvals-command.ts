import { userInfo } from "node:os";
import { parseArgs } from "node:util";
import { printable, ToolgateError, type ApprovalList, type ApprovalObject } from "../../sdk/index.ts";
import { displaySafeJson } from "../admin/safe-json.ts";
import { adminConnection, CONNECTION_OPTIONS } from "./admin-connection.ts";
import type { Command } from "./main.ts";

export const APPROVALS_USAGE = `Usage:
  toolgate approvals list [--status pending|approved|denied|consumed|expired|all] [--grant <name>] [--server <name>] [--tool <name>] [--json]
      Approvals, oldest first (default: pending).
  toolgate approvals show <id> [--json]
      One approval with the call's arguments.
  toolgate approvals approve <id> [--by <who>] [--reason <text>]
      The identical call then passes once. --by defaults to your user name.
  toolgate approvals deny <id> --reason <text> [--by <who>]
      The agent's next identical call is denied with this reason.
Gateway from --endpoint/--token or TOOLGATE_ENDPOINT/TOOLGATE_TOKEN.
`;

/** `toolgate approvals`: the approvers' inbox on the command line. */
export const approvalsCommand: Command = async (argv, io) => {
  const [sub, ...rest] = argv;
  const { values, positionals } = parseArgs({
    args: rest,
    allowPositionals: true,
    strict: true,
    options: { ...CONNECTION_OPTIONS, status: { type: "string" }, grant: { type: "string" }, server: { type: "string" }, tool: { type: "string" }, json: { type: "boolean" }, by: { type: "string" }, reason: { type: "string" } },
  });
  if (sub === undefined || sub === "--help" || sub === "-h") {
    io.stdout(APPROVALS_USAGE);
    return sub === undefined ? 2 : 0;
  }
  const admin = () => adminConnection(values);
  const id = () => {
    if (positionals.length !== 1) throw new ToolgateError("invalid_input", `${sub} needs one approval id (apr_…)`);
    return encodeURIComponent(positionals[0]!);
  };
  const by = values.by ?? (process.env.USER || userInfo().username);
  switch (sub) {
    case "list": {
      const status = values.status === "all" ? undefined : (values.status ?? "pending");
      const list = await admin().getJson<ApprovalList>("/v1/approvals", { status, grant: values.grant, server: values.server, tool: values.tool, limit: 500 });
      io.stdout(values.json ? displaySafeJson(list.items, 2) + "\n" : table(list.items));
      return 0;
    }
    case "show": {
      const a = await admin().getJson<ApprovalObject>(`/v1/approvals/${id()}`);
      io.stdout(values.json ? displaySafeJson(a, 2) + "\n" : details(a));
      return 0;
    }
    case "approve": {
      const a = await admin().postJson<ApprovalObject>(`/v1/approvals/${id()}/approve`, { by, ...(values.reason ? { reason: values.reason } : {}) });
      io.stdout(`approved ${a.id} (${printable(a.tool)} on ${a.server} for grant ${a.grant}); the identical call passes once until ${a.expiresAt}\n`);
      return 0;
    }
    case "deny": {
      if (!values.reason) throw new ToolgateError("invalid_input", "deny needs --reason: the agent is told it");
      const a = await admin().postJson<ApprovalObject>(`/v1/approvals/${id()}/deny`, { by, reason: values.reason });
      io.stdout(`denied ${a.id} (${printable(a.tool)} on ${a.server} for grant ${a.grant})\n`);
      return 0;
    }
    default:
      io.stderr(`toolgate approvals: unknown subcommand "${sub}"\n\n${APPROVALS_USAGE}`);
      return 2;
  }
};

/** Names and reasons come from agents and policies: shown through printable(), so no control or bidi character acts. */
function table(items: readonly ApprovalObject[]): string {
  if (items.length === 0) return "no approvals\n";
  const rows = items.map((a) => [a.id, a.status, a.grant, a.server, a.tool, a.expiresAt, a.reason].map(printable));
  const head = ["ID", "STATUS", "GRANT", "SERVER", "TOOL", "EXPIRES", "WHY"];
  const widths = head.map((h, i) => Math.max(h.length, ...rows.map((r) => r[i]!.length)));
  const line = (cells: string[]) => cells.map((c, i) => (i === cells.length - 1 ? c : c.padEnd(widths[i]!))).join("  ").trimEnd() + "\n";
  return line(head) + rows.map(line).join("");
}

function details(a: ApprovalObject): string {
  const p = printable;
  const lines = [
    `id:         ${p(a.id)}`,
    `status:     ${a.status}`,
    `call:       ${p(a.tool)} on server ${p(a.server)}, grant ${p(a.grant)}`,
    `arguments:  ${displaySafeJson(a.arguments, 2).replaceAll("\n", "\n            ")}`,
    `why:        ${p(a.reason)} (policy ${p(a.policy)} v${a.policyVersion})`,
    `requested:  ${a.createdAt}`,
    `expires:    ${a.expiresAt}`,
  ];
  if (a.decidedAt) lines.push(`decided:    ${a.decidedAt} by ${p(a.decidedBy ?? "")}${a.decisionReason ? `: ${p(a.decisionReason)}` : ""}`);
  if (a.consumedAt) lines.push(`used:       ${a.consumedAt}`);
  return lines.join("\n") + "\n";
}
