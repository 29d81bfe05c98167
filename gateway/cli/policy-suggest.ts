import { writeFile } from "node:fs/promises";
import { parseArgs } from "node:util";
import { stringify } from "yaml";
import { suggestPolicy, ToolgateError, type CatalogToolList } from "../../sdk/index.ts";
import { adminConnection, CONNECTION_OPTIONS } from "./admin-connection.ts";
import type { CommandIO } from "./main.ts";

/** `toolgate policy suggest <server>`: a starting policy from the server's classified tools. */
export async function suggestCommand(argv: string[], io: CommandIO): Promise<number> {
  const { values, positionals } = parseArgs({ args: argv, allowPositionals: true, strict: true, options: { ...CONNECTION_OPTIONS, out: { type: "string" }, cases: { type: "string" } } });
  if (positionals.length !== 1) throw new ToolgateError("invalid_input", "suggest needs one server name");
  const server = positionals[0]!;
  const admin = adminConnection(values);
  const list = await admin.getJson<CatalogToolList>(`/v1/servers/${encodeURIComponent(server)}/tools`);
  if (list.items.length === 0) throw new ToolgateError("not_found", `the catalog has no tools for server "${server}" yet; run \`toolgate tools ${server} --refresh\``);
  const suggestion = suggestPolicy(server, list.items);
  if (values.out) {
    await writeFile(values.out, suggestion.yaml);
    io.stdout(`wrote ${values.out} (${list.items.length} tools)\n`);
  } else io.stdout(suggestion.yaml);
  if (values.cases) {
    await writeFile(values.cases, stringify({ cases: suggestion.cases }));
    io.stdout(`wrote ${values.cases} (${suggestion.cases.length} cases)\n`);
  }
  return 0;
}
