import { compilePolicy, DEFAULT_MAX_IN_FLIGHT, parsePolicy } from "../sdk/index.ts";
import type { ActivePolicy, GrantIdentity, RuntimeView, ServerTarget } from "./contracts.ts";
import type { GrantRecord, PolicyRecord, ServerRecord } from "./store/config-store.ts";

/**
 * The proxy's in-memory view of the configuration, updated synchronously by every admin write, so a
 * revocation or a policy edit applies to the very next request; with PostgreSQL, other replicas' writes
 * arrive through gateway/store/config-feed.ts. Policies are compiled once per version.
 */
export interface MutableRuntimeView extends RuntimeView {
  load(snapshot: { servers: ServerRecord[]; policies: PolicyRecord[]; grants: GrantRecord[] }): void;
  setServer(record: ServerRecord): void;
  removeServer(name: string): void;
  setPolicy(record: PolicyRecord): void;
  removePolicy(name: string): void;
  setGrant(record: GrantRecord): void;
  removeGrant(name: string): void;
}

export function createRuntimeView(): MutableRuntimeView {
  const servers = new Map<string, ServerTarget>();
  const policies = new Map<string, ActivePolicy>();
  const policyStamps = new Map<string, string>();
  const grantsByHash = new Map<string, GrantIdentity>();
  const hashByGrant = new Map<string, string>();

  const view: MutableRuntimeView = {
    grantByTokenHash: (hash) => grantsByHash.get(hash),
    grant: (name) => {
      const hash = hashByGrant.get(name);
      return hash === undefined ? undefined : grantsByHash.get(hash);
    },
    server: (name) => servers.get(name),
    policy: (name) => policies.get(name),

    load(snapshot) {
      // Reconciles rather than rebuilds, so a periodic re-sync does not recompile unchanged policies.
      const keep = (names: Iterable<string>, records: { name: string }[], remove: (name: string) => void) => {
        const present = new Set(records.map((r) => r.name));
        for (const name of [...names]) if (!present.has(name)) remove(name);
      };
      keep(servers.keys(), snapshot.servers, view.removeServer);
      keep(policies.keys(), snapshot.policies, view.removePolicy);
      keep(hashByGrant.keys(), snapshot.grants, view.removeGrant);
      snapshot.servers.forEach(view.setServer);
      snapshot.policies.forEach(view.setPolicy);
      snapshot.grants.forEach(view.setGrant);
    },
    setServer(r) {
      servers.set(r.name, {
        name: r.name,
        version: r.version,
        transport: toUpstream(r),
        timeoutMs: r.timeoutMs,
        totalTimeoutMs: r.totalTimeoutMs,
        maxInFlight: r.maxInFlight ?? DEFAULT_MAX_IN_FLIGHT,
        roots: r.roots,
      });
    },
    removeServer(name) {
      servers.delete(name);
    },
    setPolicy(r) {
      // A policy deleted and created again starts at version 1 again: the creation time tells them apart.
      const stamp = `${r.createdAt}#${r.version}`;
      if (policyStamps.get(r.name) === stamp) return;
      policies.set(r.name, { name: r.name, version: r.version, compiled: compilePolicy(parsePolicy(r.document), { name: r.name }) });
      policyStamps.set(r.name, stamp);
    },
    removePolicy(name) {
      policies.delete(name);
      policyStamps.delete(name);
    },
    setGrant(r) {
      view.removeGrant(r.name);
      grantsByHash.set(r.tokenHash, { name: r.name, server: r.server, policy: r.policy, expiresAt: r.expiresAt ? Date.parse(r.expiresAt) : null });
      hashByGrant.set(r.name, r.tokenHash);
    },
    removeGrant(name) {
      const hash = hashByGrant.get(name);
      if (hash !== undefined) grantsByHash.delete(hash);
      hashByGrant.delete(name);
    },
  };
  return view;
}

function toUpstream(r: ServerRecord): ServerTarget["transport"] {
  const t = r.transport;
  if (t.type === "streamable-http" || t.type === "sse") return { type: t.type, url: t.url, headers: t.headers ?? {} };
  return {
    type: "stdio",
    command: t.command,
    args: [...(t.args ?? []), ...(t.secretArgs ?? [])],
    env: t.env ?? {},
    ...(t.cwd ? { cwd: t.cwd } : {}),
    ...(t.user !== undefined ? { user: t.user } : {}),
    ...(t.group !== undefined ? { group: t.group } : {}),
    ...(t.stateful ? { stateful: true } : {}),
  };
}
