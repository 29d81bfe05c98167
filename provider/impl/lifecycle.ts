import { AdminApiError, NAME_PATTERN, ToolgateError } from "../../sdk/index.ts";
import type { AdminClient, Kind, Versioned } from "../../sdk/index.ts";
import { isUnknown, singular, type CheckFailure, type Props } from "./common.ts";
import { idempotencyKey } from "./config.ts";
import { aliasSnippet, describeOwner, relation } from "./ownership.ts";

/** The object's name is its identity in URLs and audit rows (DESIGN.md section 3). */
export function nameFailures(name: unknown): CheckFailure[] {
  if (isUnknown(name)) return [];
  if (typeof name !== "string" || !NAME_PATTERN.test(name)) {
    return [{ property: "name", reason: `name must be 1-63 characters of a-z, 0-9, ".", "_" or "-", starting with a letter or digit, got ${JSON.stringify(name)}` }];
  }
  return [];
}

interface Owned {
  owner?: string | null;
}

/**
 * Creates `name` for the resource whose URN is `owner`. An object of that name that exists already is
 * - this resource's (a create whose answer was lost, an interrupted `up`), or this stack's from before owners named
 *   the resource: written in place;
 * - another resource's of this stack: refused with the `aliases` to add, since a rename without an alias would
 *   create over the live object and then delete it;
 * - another stack's, or made by hand: refused.
 * `adopt: true` takes over any of them. `adopted` says the object was not this resource's before.
 */
export async function createOwned<T extends Owned>(client: AdminClient, kind: Kind, name: string, body: Props, owner: string, adopt: boolean): Promise<Versioned<T> & { created: boolean; adopted: boolean }> {
  const key = idempotencyKey(owner, "create", body);
  try {
    return { ...(await client.put<T>(kind, name, body, { ifNoneMatch: "*", idempotencyKey: key })), adopted: false };
  } catch (error) {
    if (!(error instanceof AdminApiError) || error.status !== 412) throw error;
  }
  const existing = await client.get<T>(kind, name);
  if (!existing) return { ...(await client.put<T>(kind, name, body, { ifNoneMatch: "*", idempotencyKey: key })), adopted: false };
  const was = relation(existing.value.owner, owner);
  if (!adopt && was === "sibling") throw renamed(kind, name, existing.value.owner!, owner);
  if (!adopt && (was === "foreign" || was === "none")) throw conflict(kind, name, existing.value.owner);
  const written = await client.put<T>(kind, name, body, { ...ifMatch(existing), idempotencyKey: idempotencyKey(owner, "create over", body) });
  return { ...written, adopted: was !== "self" && was !== "stack" };
}

/**
 * Updates `name` if no other stack has taken it over since (then it fails as a create would, unless `adopt: true`),
 * with If-Match on the version just read, so a write in between is not overwritten. An object deleted outside
 * Pulumi is written back.
 */
export async function updateOwned<T extends Owned>(client: AdminClient, kind: Kind, name: string, body: Props, owner: string, adopt: boolean): Promise<Versioned<T>> {
  const key = idempotencyKey(owner, "update", body);
  const live = await client.get<T>(kind, name);
  if (!live) return client.put<T>(kind, name, body, { ifNoneMatch: "*", idempotencyKey: key });
  if (!adopt && relation(live.value.owner, owner) === "foreign") throw conflict(kind, name, live.value.owner);
  return client.put<T>(kind, name, body, { ...ifMatch(live), idempotencyKey: key });
}

/**
 * Deletes the object unless someone else manages it now: another stack that adopted it, or another resource of
 * this stack it was renamed to. Then only the resource leaves this stack's state, with a warning: failing would
 * block every later `up` of the stack, and the object is not this resource's to delete. A missing object counts
 * as deleted. `props` are the resource's outputs: `ownedAs` (or, in older state, `owner`) is what it wrote.
 */
export async function deleteOwned(client: AdminClient, kind: Kind, name: string, props: Props): Promise<void> {
  const self = (props.ownedAs ?? props.owner) as string | undefined;
  const live = await client.get<Owned>(kind, name);
  if (!live) return;
  if (self && live.value.owner && live.value.owner !== self) {
    process.stderr.write(`toolgate: not deleting ${singular(kind)} "${name}": it is managed ${describeOwner(live.value.owner)} now; only this resource leaves the stack\n`);
    return;
  }
  await client.delete(kind, name, ifMatch(live));
}

function ifMatch(v: Versioned<unknown>): { ifMatch?: string } {
  return v.etag ? { ifMatch: v.etag } : {};
}

function conflict(kind: Kind, name: string, owner: string | null | undefined): ToolgateError {
  return new ToolgateError(
    "conflict",
    `${singular(kind)} "${name}" exists in the gateway and is managed ${describeOwner(owner)}. To take it over from this stack, set \`adopt: true\` on the resource; or pick another name.`,
  );
}

function renamed(kind: Kind, name: string, owner: string, self: string): ToolgateError {
  return new ToolgateError(
    "conflict",
    `${singular(kind)} "${name}" is managed by another resource of this stack, ${owner}. If this resource is that one renamed (or moved to another parent), ` +
      `tell Pulumi with the \`aliases\` option so it moves the state instead of creating the object over and then deleting it: add ${aliasSnippet(owner, self)} ` +
      `to this resource's options. To take the object over from that resource instead, set \`adopt: true\`.`,
  );
}
