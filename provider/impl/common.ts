import { AdminApiError, ToolgateError, jsonEqual, type Issue } from "../../sdk/index.ts";
import type { Kind } from "../../sdk/index.ts";
import { sameStack } from "./ownership.ts";

/** The value the engine puts where an input is not known yet (during preview). */
export const UNKNOWN = "04da6b54-80e4-46f7-96ec-b56ff0331ba9";

/** Version of the outputs this implementation writes; read/diff/update accept every earlier version. */
export const OUTPUTS_SCHEMA_VERSION = 2;

/** Outputs of every kind that are never inputs. */
const COMMON_OUTPUT_ONLY = ["ownedAs"];

export type Props = Record<string, unknown>;

export interface CheckFailure {
  property: string;
  reason: string;
}

export function isUnknown(value: unknown): boolean {
  if (value === UNKNOWN) return true;
  if (Array.isArray(value)) return value.some(isUnknown);
  if (value !== null && typeof value === "object") return Object.values(value).some(isUnknown);
  return false;
}

/** `/document/tools/a.b/limits/0` → `document.tools["a.b"].limits[0]`: Pulumi's property path syntax. */
export function propertyPath(pointer: string, prefix = ""): string {
  const segments = pointer.split("/").slice(1).map((s) => s.replaceAll("~1", "/").replaceAll("~0", "~"));
  let out = prefix;
  for (const s of segments) {
    if (/^\d+$/.test(s)) out += `[${s}]`;
    else if (/^[A-Za-z_$][\w$]*$/.test(s)) out += out ? `.${s}` : s;
    else out += `[${JSON.stringify(s)}]`;
  }
  return out;
}

export function toFailures(issues: readonly Issue[], prefix = ""): CheckFailure[] {
  return issues.map((i) => ({ property: propertyPath(i.path, prefix) || prefix || "inputs", reason: i.message }));
}

/** Inputs without the engine's internal keys, and without the given output-only keys. */
export function inputsOf(props: Props, outputOnly: readonly string[] = []): Props {
  const out: Props = {};
  for (const [k, v] of Object.entries(props)) {
    if (k.startsWith("__") || outputOnly.includes(k) || COMMON_OUTPUT_ONLY.includes(k) || v === undefined) continue;
    out[k] = v;
  }
  return out;
}

/**
 * The engine's diff for every kind: pure, a deep key-order-insensitive comparison of old outputs with new
 * inputs on `keys`; a new `name` replaces the object (deleted first: names are unique in the gateway).
 * Owners of the same stack are no change: an owner written by an earlier version (the stack only) or before an
 * alias (the old URN) is still this stack's; the next real update records the current URN.
 */
export function diffOn(keys: readonly string[]) {
  return async (_id: string, olds: Props, news: Props) => {
    const changed = changedKeys(olds, news, keys);
    // `changed` is for the native provider's detailed diff; the dynamic provider server ignores it.
    return { changes: changed.length > 0, changed, replaces: changed.includes("name") ? ["name"] : [], deleteBeforeReplace: true };
  };
}

/** Which of `keys` differ between old outputs and new inputs (deep, key-order-insensitive). */
function changedKeys(olds: Props, news: Props, keys: readonly string[]): string[] {
  return keys.filter((k) => !(k === "owner" && sameStack(olds[k], news[k])) && !jsonEqual(olds[k] ?? null, news[k] ?? null));
}

export function singular(kind: Kind): string {
  return { servers: "server", policies: "policy", grants: "grant", webhooks: "webhook", "identity-providers": "identity provider" }[kind];
}

/** Errors shown by the Pulumi CLI: a readable message, no stack trace (the CLI prints `${e}: ${e.stack}`). */
export function forPulumi<T>(operation: string, name: string, work: () => Promise<T>): Promise<T> {
  return work().catch((error: unknown) => {
    if (error instanceof ToolgateError) {
      const wrapped = new Error(`toolgate: ${operation} "${name}": ${error.message}${referenceHint(error)}`);
      wrapped.stack = "";
      throw wrapped;
    }
    throw error;
  });
}

/**
 * A grant naming a server or policy that does not exist (yet): the usual cause is a name given as a string, which
 * does not make Pulumi create that resource first.
 */
function referenceHint(error: ToolgateError): string {
  if (!(error instanceof AdminApiError) || error.status !== 422) return "";
  const missing = error.issues.find((i) => (i.path === "/policy" || i.path === "/server") && i.message.endsWith("does not exist"));
  if (!missing) return "";
  const kind = missing.path.slice(1);
  const example = kind === "policy" ? "`policy: readOnly` (the Policy resource) rather than `policy: \"read-only\"`" : "`server: stripe` (the McpServer resource) rather than `server: \"stripe\"`";
  return `\nIf this program creates that ${kind}, pass the resource instead of its name, e.g. ${example}: Pulumi then creates it before the grant.`;
}
