import { parseArgs } from "node:util";
import { printable, ToolgateError, type CatalogTool, type CatalogToolList } from "../../sdk/index.ts";
import { displaySafeJson } from "../admin/safe-json.ts";
import { adminConnection, CONNECTION_OPTIONS } from "./admin-connection.ts";
import type { Command } from "./main.ts";

export const TOOLS_USAGE = `Usage: toolgate tools <server> [--refresh] [--review <tool> | --review-all] [--json] [--endpoint <url>] [--token <token>]

  Lists the server's tools from the gateway's catalog: risk category, severity, the evidence for it, and
  CHANGED when the definition changed since it was last reviewed.
  --refresh       re-read the tools from the upstream first
  --review <tool> accept the tool's current definition (a policy with pin: true allows it again)
  --review-all    accept every tool's current definition
  --json          print the catalog as JSON
Gateway from --endpoint/--token or TOOLGATE_ENDPOINT/TOOLGATE_TOKEN.
`;

/** `toolgate tools <server>`: the tool catalog of one server. */
export const toolsCommand: Command = async (argv, io) => {
  const { values, positionals } = parseArgs({
    args: argv,
    allowPositionals: true,
    strict: true,
    options: { ...CONNECTION_OPTIONS, refresh: { type: "boolean" }, review: { type: "string" }, "review-all": { type: "boolean" }, json: { type: "boolean" }, help: { type: "boolean", short: "h" } },
  });
  if (values.help) {
    io.stdout(TOOLS_USAGE);
    return 0;
  }
  if (positionals.length !== 1) throw new ToolgateError("invalid_input", "tools needs one server name (toolgate tools <server>)");
  const server = positionals[0]!;
  const path = `/v1/servers/${encodeURIComponent(server)}/tools`;
  const admin = adminConnection(values);
  if (values.review !== undefined || values["review-all"]) {
    const query = values.review !== undefined ? `?tool=${encodeURIComponent(values.review)}` : "";
    const r = await admin.postJson<{ reviewed: number }>(`${path}/review${query}`, {});
    io.stdout(`reviewed ${r.reviewed} tool definition${r.reviewed === 1 ? "" : "s"} of ${server}\n`);
    return 0;
  }
  const list = values.refresh ? await admin.postJson<CatalogToolList>(`${path}/refresh`, {}) : await admin.getJson<CatalogToolList>(path);
  if (values.json) {
    io.stdout(displaySafeJson(list, 2) + "\n");
    return 0;
  }
  io.stdout(table(list.items));
  return 0;
};

/** Tool names and evidence come from upstream servers: shown through printable(), so no control or bidi character acts. */
function table(tools: readonly CatalogTool[]): string {
  if (tools.length === 0) return "no tools in the catalog yet (try --refresh)\n";
  const rows = tools.map((t) => [t.name, t.category, t.severity, t.changed ? "CHANGED" : "", t.evidence.join("; ")].map(printable));
  const head = ["TOOL", "CATEGORY", "SEVERITY", "REVIEW", "EVIDENCE"];
  const widths = head.map((h, i) => Math.max(h.length, ...rows.map((r) => r[i]!.length)));
  const line = (cells: string[]) => cells.map((c, i) => (i === cells.length - 1 ? c : c.padEnd(widths[i]!))).join("  ").trimEnd() + "\n";
  return line(head) + rows.map(line).join("");
}
