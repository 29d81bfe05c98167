import { NAME_PATTERN } from "../../sdk/index.ts";
import type { AdminClient, Kind } from "../../sdk/index.ts";
import { isUnknown, singular, type CheckFailure } from "./common.ts";

/** The object's name is its identity in URLs and audit rows (DESIGN.md section 3). */
export function nameFailures(name: unknown): CheckFailure[] {
  if (isUnknown(name)) return [];
  if (typeof name !== "string" || !NAME_PATTERN.test(name)) {
    return [{ property: "name", reason: `name must be 1-63 characters of a-z, 0-9, ".", "_" or "-", starting with a letter or digit, got ${JSON.stringify(name)}` }];
  }
  return [];
}

/**
 * Deletes the object unless another stack has adopted it since (then it is left alone: it is theirs now).
 * A missing object counts as deleted.
 */
export async function deleteOwned(client: AdminClient, kind: Kind, name: string, owner: string | undefined): Promise<void> {
  const live = await client.get<{ owner?: string | null }>(kind, name);
  if (!live) return;
  if (owner && live.value.owner && live.value.owner !== owner) {
    process.stderr.write(`toolgate: not deleting ${singular(kind)} "${name}": it is now managed by "${live.value.owner}"\n`);
    return;
  }
  await client.delete(kind, name, live.etag ? { ifMatch: live.etag } : {});
}
