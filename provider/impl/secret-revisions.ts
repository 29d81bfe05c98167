import { jsonEqual } from "../../sdk/index.ts";
import { isUnknown, UNKNOWN, type Props } from "./common.ts";

/**
 * What a refresh puts in place of a secret changed outside Pulumi (the gateway returns only its digest), so that the
 * refresh shows drift and the next `up` writes the program's value back.
 */
export const DRIFTED_SECRET = "(changed outside Pulumi)";

/**
 * Pulumi's preview shows a changed secret input as `[secret]`, exactly like an unchanged one, so a reviewer
 * cannot see that a credential changed. Each secret value therefore gets a revision number in a plain input
 * beside it: an unchanged value keeps its revision, a changed one gets the next, a new one starts at 1. The
 * preview then shows `~ headers.Authorization: 1 => 2`, which reveals that it changed and nothing else.
 * `before` are the previous inputs' values (plain text inside the provider), keyed like `after`.
 */
export function revisions(before: Record<string, unknown>, revisionsBefore: unknown, after: Record<string, unknown>): Record<string, number | string> {
  const previous = (revisionsBefore ?? {}) as Record<string, unknown>;
  const out: Record<string, number | string> = {};
  for (const [key, value] of Object.entries(after)) {
    const was = typeof previous[key] === "number" ? (previous[key] as number) : 1;
    if (isUnknown(value)) out[key] = UNKNOWN;
    else if (before[key] === undefined) out[key] = 1;
    else out[key] = jsonEqual(before[key], value) ? was : was + 1;
  }
  return out;
}

/** The revision of the one secret input `key`, kept in the plain input `<key>Revision` (see revisions). */
export function revisionOf(olds: Props, inputs: Props, key: string): number | string {
  return revisions({ [key]: olds[key] }, { [key]: olds[`${key}Revision`] }, { [key]: inputs[key] })[key]!;
}

/** Server credentials as flat entries: `headers.Authorization`, `env.TOKEN`, `secretArgs[0]`. */
export function credentialEntries(credentials: unknown): Record<string, unknown> {
  const c = (credentials ?? {}) as { headers?: Record<string, unknown>; env?: Record<string, unknown>; secretArgs?: unknown[] };
  const out: Record<string, unknown> = {};
  for (const [name, value] of Object.entries(c.headers ?? {})) out[`headers.${name}`] = value;
  for (const [name, value] of Object.entries(c.env ?? {})) out[`env.${name}`] = value;
  if (Array.isArray(c.secretArgs)) c.secretArgs.forEach((value, i) => (out[`secretArgs[${i}]`] = value));
  return out;
}
