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

/**
 * The path of a key named `__proto__` in a document, which Pulumi's engine drops on the way to the provider (its
 * protobuf Struct conversion assigns keys to plain objects): a tool of that name would silently lose its rules.
 */
export function protoKeyPath(value: unknown, path = ""): string | undefined {
  if (value === null || typeof value !== "object") return undefined;
  // Only plain data: outputs and resources are not walked (and cannot carry such a key as data).
  const proto = Object.getPrototypeOf(value);
  if (!Array.isArray(value) && proto !== Object.prototype && proto !== null) return undefined;
  for (const key of Object.keys(value)) {
    if (key === "__proto__") return `${path}/__proto__`;
    const found = protoKeyPath((value as Record<string, unknown>)[key], `${path}/${key}`);
    if (found) return found;
  }
  return undefined;
}

/** The document, or a stand-in that fails `check` when Pulumi would silently drop part of it. */
export function passable(document: PolicyDocumentInput): PolicyDocumentInput {
  const path = protoKeyPath(document);
  if (path === undefined) return document;
  return loadFailure("document", `the key "__proto__" at ${path} cannot pass through Pulumi (its engine drops keys of that name, and with them the rules under it); rename the tool on the server or manage this policy with the admin API`);
}
