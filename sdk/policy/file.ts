import { readFile } from "node:fs/promises";
import { LineCounter, parseDocument, visit, type Document } from "yaml";
import { ToolgateError } from "../errors.ts";

/**
 * Parses policy text written as JSON or YAML (YAML 1.2, so JSON is read as-is). Duplicate keys are an
 * error rather than "last one wins", so a reviewed file means exactly what it says.
 */
export function parsePolicyText(text: string, source = "<input>"): unknown {
  const lines = new LineCounter();
  const doc = parseDocument(text, { uniqueKeys: true, prettyErrors: true, strict: true, lineCounter: lines });
  if (doc.errors.length > 0) {
    const first = doc.errors[0]!;
    const where = first.linePos?.[0] ? `:${first.linePos[0].line}:${first.linePos[0].col}` : "";
    const message = first.message.split("\n")[0]!.replace(/ at line \d+, column \d+:?$/, "");
    throw new ToolgateError("parse_error", `${source}${where}: ${message}`);
  }
  try {
    return doc.toJS({ maxAliasCount: 100 });
  } catch (error) {
    // Aliases are resolved only here: one that names no anchor, or too many (an alias bomb).
    const at = unresolvedAlias(doc);
    const where = at === undefined ? "" : `:${lines.linePos(at).line}:${lines.linePos(at).col}`;
    throw new ToolgateError("parse_error", `${source}${where}: ${(error as Error).message}`);
  }
}

function unresolvedAlias(doc: Document): number | undefined {
  let offset: number | undefined;
  visit(doc, {
    Alias(_key, node) {
      if (node.resolve(doc) !== undefined) return undefined;
      offset = node.range?.[0];
      return visit.BREAK;
    },
  });
  return offset;
}

/** Reads and parses a JSON or YAML policy file (not yet validated: see `validatePolicy`). */
export async function readPolicyFile(path: string): Promise<unknown> {
  let text: string;
  try {
    text = await readFile(path, "utf8");
  } catch (error) {
    throw new ToolgateError("not_found", `${path}: cannot read file (${(error as NodeJS.ErrnoException).code ?? "error"})`, { cause: error });
  }
  return parsePolicyText(text, path);
}
