import { AdminApiError, ToolgateError, jsonEqual, type Issue } from "../../sdk/index.ts";
import type { AdminClient, Kind, Versioned } from "../../sdk/index.ts";

/** The value the engine puts where an input is not known yet (during preview). */
export const UNKNOWN = "04da6b54-80e4-46f7-96ec-b56ff0331ba9";

/** Version of the outputs this implementation writes; read/diff/update accept every earlier version. */
export const OUTPUTS_SCHEMA_VERSION = 1;

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
    if (k.startsWith("__") || outputOnly.includes(k) || v === undefined) continue;
    out[k] = v;
  }
  return out;
}

/**
 * The engine's diff for every kind: pure, a deep key-order-insensitive comparison of old outputs with new
 * inputs on `keys`; a new `name` replaces the object (deleted first: names are unique in the gateway).
 */
export function diffOn(keys: readonly string[]) {
  return async (_id: string, olds: Props, news: Props) => {
    const changed = changedKeys(olds, news, keys);
    return { changes: changed.length > 0, replaces: changed.includes("name") ? ["name"] : [], deleteBeforeReplace: true };
  };
}

/** Which of `keys` differ between old outputs and new inputs (deep, key-order-insensitive). */
function changedKeys(olds: Props, news: Props, keys: readonly string[]): string[] {
  return keys.filter((k) => !jsonEqual(olds[k] ?? null, news[k] ?? null));
}

/**
 * Creates `name` unless an object of that name exists that this stack does not own. Owned objects (e.g. left
 * by an interrupted `up`) and `adopt: true` are updated in place. Two stacks never silently share an object.
 */
export async function upsertOwned<T extends { owner?: string | null }>(
  client: AdminClient,
  kind: Kind,
  name: string,
  body: Props,
  owner: string,
  adopt: boolean,
): Promise<Versioned<T> & { created: boolean }> {
  try {
    return await client.put<T>(kind, name, body, { ifNoneMatch: "*" });
  } catch (error) {
    if (!(error instanceof AdminApiError) || error.status !== 412) throw error;
  }
  const existing = await client.get<T>(kind, name);
  if (existing && existing.value.owner !== owner && !adopt) {
    const by = existing.value.owner ? `by "${existing.value.owner}"` : "outside Pulumi";
    throw new ToolgateError(
      "conflict",
      `${singular(kind)} "${name}" already exists in the gateway and is managed ${by}. To take it over from this stack, set \`adopt: true\` on the resource; or pick another name.`,
    );
  }
  return client.put<T>(kind, name, body, existing?.etag ? { ifMatch: existing.etag } : {});
}

export function singular(kind: Kind): string {
  return { servers: "server", policies: "policy", grants: "grant", webhooks: "webhook" }[kind];
}

/** Errors shown by the Pulumi CLI: a readable message, no stack trace (the CLI prints `${e}: ${e.stack}`). */
export function forPulumi<T>(operation: string, name: string, work: () => Promise<T>): Promise<T> {
  return work().catch((error: unknown) => {
    if (error instanceof ToolgateError) {
      const wrapped = new Error(`toolgate: ${operation} "${name}": ${error.message}`);
      wrapped.stack = "";
      throw wrapped;
    }
    throw error;
  });
}
