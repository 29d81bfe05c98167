/**
 * A policy file that cannot be read or parsed must fail `pulumi preview` as a check failure on the Policy's
 * `document` (`policies/a.yaml:5:3: Map keys must be unique`), next to every other problem, not as a stack
 * trace from the program. So `Policy.fromFile` returns a stand-in document holding the message under a key
 * no policy can have (one key per file, so spreading two files keeps both), and `check` reports it.
 */
import type { PolicyDocumentInput } from "../sdk/index.ts";

const PREFIX = "toolgate: cannot load ";

export function loadFailure(path: string, message: string): PolicyDocumentInput {
  return { [`${PREFIX}${path}`]: message } as unknown as PolicyDocumentInput;
}

/** The messages of every file that failed to load into this document. */
export function loadFailures(document: unknown): string[] {
  if (document === null || typeof document !== "object" || Array.isArray(document)) return [];
  return Object.entries(document).flatMap(([key, message]) => (key.startsWith(PREFIX) && typeof message === "string" ? [message] : []));
}
