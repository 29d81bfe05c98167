import { jsonEqual } from "../../sdk/index.ts";
import { providers } from "../impl/index.ts";
import { UNKNOWN, type CheckFailure } from "../impl/common.ts";
import { kindOf, nameOfUrn, typeOfUrn, type NativeKind } from "./kinds.ts";
import { concealed, reveal, secretKeys, type Props } from "./secrets.ts";

/**
 * The resource calls of the native plugin, on `provider/impl` (one implementation for the dynamic and the native
 * resources). What the adapter adds is what a native resource has and a dynamic one has not:
 * - `name` defaults to the logical name in the URN;
 * - `owner` is never an input: `provider/impl` gets the resource's URN as the owner on create and update, and in
 *   diff on both sides, so an owner is never a change (an `import` whose step fails on any diff works);
 * - secrets arrive as envelopes: unwrapped for `provider/impl`, and every property that is secret by declaration
 *   or that held a secret on the way in is wrapped on the way out (the engine does not do it for this plugin);
 * - a preview of create or update answers without the gateway.
 */

export interface Diff {
  changes: boolean;
  replaces: string[];
  deleteBeforeReplace: boolean;
  /** Property → how it changes, for the engine's detailed diff. */
  detailed: Record<string, { kind: "add" | "delete" | "update"; replace: boolean }>;
}

function implOf(kind: NativeKind) {
  return providers[kind.impl];
}

function secretOnes(kind: NativeKind, ...from: Props[]): Set<string> {
  return new Set([...kind.secretProperties, ...from.flatMap((p) => [...secretKeys(p)])]);
}

function withoutOwner(props: Props): Props {
  const { owner: _owner, ...rest } = props;
  return rest;
}

export async function check(urn: string, olds: Props, news: Props): Promise<{ inputs: Props; failures: CheckFailure[] }> {
  const kind = kindOf(typeOfUrn(urn));
  const given = kind.toImpl(withoutOwner(news));
  const plain = reveal(given);
  const result = await implOf(kind).check(reveal(kind.toImpl(olds)), { ...plain, name: plain.name ?? nameOfUrn(urn), owner: urn });
  return { inputs: concealed(withoutOwner(result.inputs), secretOnes(kind, given)), failures: result.failures };
}

export async function diff(id: string, urn: string, olds: Props, news: Props): Promise<Diff> {
  const kind = kindOf(typeOfUrn(urn));
  const before: Props = { ...reveal(olds), owner: urn };
  const after: Props = { ...reveal(news), owner: urn };
  const result = await implOf(kind).diff(id, before, after);
  const detailed: Diff["detailed"] = {};
  const shown = [...result.changed, ...(result.changes ? kind.revisions.filter((k) => !jsonEqual(before[k] ?? null, after[k] ?? null)) : [])];
  for (const key of shown) {
    detailed[key] = { kind: before[key] === undefined ? "add" : after[key] === undefined ? "delete" : "update", replace: result.replaces.includes(key) };
  }
  return { changes: result.changes, replaces: result.replaces, deleteBeforeReplace: result.deleteBeforeReplace, detailed };
}

export async function create(urn: string, properties: Props, preview: boolean): Promise<{ id: string; outs: Props }> {
  const kind = kindOf(typeOfUrn(urn));
  if (preview) {
    const outs: Props = { ...properties, owner: urn };
    for (const key of kind.computed) if (outs[key] === undefined) outs[key] = UNKNOWN;
    return { id: "", outs: concealed(outs, secretOnes(kind, properties)) };
  }
  const result = await implOf(kind).create({ ...reveal(properties), owner: urn });
  return { id: result.id, outs: concealed(result.outs, secretOnes(kind, properties)) };
}

/**
 * Refresh (`properties` are the outputs in the state) and import (only the id: `properties` and `inputs` are
 * empty). Nothing found is an empty id. The inputs returned are what the program would say to get this object.
 */
export async function read(id: string, urn: string, properties: Props, inputs: Props): Promise<{ id: string; props: Props; inputs: Props }> {
  const kind = kindOf(typeOfUrn(urn));
  const result: { id?: string; props?: Props; inputs?: Props } = await implOf(kind).read(id, reveal(properties));
  if (!result.id || !result.props) return { id: "", props: {}, inputs: {} };
  const secrets = secretOnes(kind, properties, inputs);
  return { id: result.id, props: concealed(result.props, secrets), inputs: concealed(withoutOwner(result.inputs ?? {}), secrets) };
}

export async function update(id: string, urn: string, olds: Props, news: Props, preview: boolean): Promise<Props> {
  const kind = kindOf(typeOfUrn(urn));
  if (preview) {
    const outs: Props = { ...olds, ...news, owner: urn, version: UNKNOWN };
    for (const key of kind.unknownAfterUpdate(reveal(olds), reveal(news))) outs[key] = UNKNOWN;
    return concealed(outs, secretOnes(kind, olds, news));
  }
  const result = await implOf(kind).update(id, reveal(olds), { ...reveal(news), owner: urn });
  return concealed(result.outs, secretOnes(kind, olds, news));
}

export async function remove(id: string, urn: string, properties: Props): Promise<void> {
  const kind = kindOf(typeOfUrn(urn));
  await implOf(kind).delete(id, reveal(properties));
}
