import { compilePolicy, DEFAULT_MAX_IN_FLIGHT, parsePolicy } from "../sdk/index.ts";
import { DEFAULT_JWT_ALGORITHMS } from "../sdk/identity.ts";
import type { ActivePolicy, GrantIdentity, RuntimeView, ServerTarget, TrustedIdentityProvider } from "./contracts.ts";
import type { ConfigSnapshot, GrantRecord, IdentityProviderRecord, PolicyRecord, ServerRecord } from "./store/config-store.ts";

/**
 * The proxy's in-memory view of the configuration, updated synchronously by every admin write, so a
 * revocation or a policy edit applies to the very next request; with PostgreSQL, other replicas' writes
 * arrive through gateway/store/config-feed.ts. Policies are compiled once per version.
 */
export interface MutableRuntimeView extends RuntimeView {
  load(snapshot: ConfigSnapshot): void;
  setServer(record: ServerRecord): void;
  removeServer(name: string): void;
  setPolicy(record: PolicyRecord): void;
  removePolicy(name: string): void;
  setGrant(record: GrantRecord): void;
  removeGrant(name: string): void;
  setIdentityProvider(record: IdentityProviderRecord): void;
  removeIdentityProvider(name: string): void;
  /** Every identity provider (opaque tokens name none, so each one that can introspect is asked). */
  identityProviders(): TrustedIdentityProvider[];
}

/** Default tolerance for exp/nbf when an identity provider does not set clockSkewSeconds. */
export const DEFAULT_CLOCK_SKEW_SECONDS = 30;

export function createRuntimeView(): MutableRuntimeView {
  const servers = new Map<string, ServerTarget>();
  const policies = new Map<string, ActivePolicy>();
  const policyStamps = new Map<string, string>();
  const grantsByHash = new Map<string, GrantIdentity>();
  const hashByGrant = new Map<string, string>();
  /** Grants by identity: they hold no token, so they are found by name and by server. */
  const identityGrants = new Map<string, GrantIdentity>();
  const providers = new Map<string, TrustedIdentityProvider>();

  const view: MutableRuntimeView = {
    grantByTokenHash: (hash) => grantsByHash.get(hash),
    grant: (name) => {
      const hash = hashByGrant.get(name);
      return hash === undefined ? identityGrants.get(name) : grantsByHash.get(hash);
    },
    server: (name) => servers.get(name),
    policy: (name) => policies.get(name),
    identityProvider: (name) => providers.get(name),
    identityProviderByIssuer: (issuer) => {
      // Two providers with one issuer (written concurrently on two replicas): neither is trusted rather than whichever loaded first.
      const found = [...providers.values()].filter((p) => p.issuer === issuer);
      return found.length === 1 ? found[0] : undefined;
    },
    identityGrants: (server) => [...identityGrants.values()].filter((g) => g.server === server),
    identityProviders: () => [...providers.values()],

    load(snapshot) {
      // Reconciles rather than rebuilds, so a periodic re-sync does not recompile unchanged policies.
      const keep = (names: Iterable<string>, records: { name: string }[], remove: (name: string) => void) => {
        const present = new Set(records.map((r) => r.name));
        for (const name of [...names]) if (!present.has(name)) remove(name);
      };
      keep(servers.keys(), snapshot.servers, view.removeServer);
      keep(policies.keys(), snapshot.policies, view.removePolicy);
      keep([...hashByGrant.keys(), ...identityGrants.keys()], snapshot.grants, view.removeGrant);
      keep(providers.keys(), snapshot.identityProviders, view.removeIdentityProvider);
      snapshot.identityProviders.forEach(view.setIdentityProvider);
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
        tokenExchange: r.tokenExchange,
        approvers: r.approvers,
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
      const grant: GrantIdentity = { name: r.name, server: r.server, policy: r.policy, expiresAt: r.expiresAt ? Date.parse(r.expiresAt) : null };
      if (r.identity) {
        identityGrants.set(r.name, { ...grant, identity: r.identity });
        return;
      }
      grantsByHash.set(r.tokenHash, grant);
      hashByGrant.set(r.name, r.tokenHash);
    },
    removeGrant(name) {
      const hash = hashByGrant.get(name);
      if (hash !== undefined) grantsByHash.delete(hash);
      hashByGrant.delete(name);
      identityGrants.delete(name);
    },
    setIdentityProvider(r) {
      providers.set(r.name, {
        name: r.name,
        version: r.version,
        issuer: r.issuer,
        audiences: r.audiences,
        jwksUri: r.jwksUri,
        introspectionEndpoint: r.introspectionEndpoint,
        algorithms: r.algorithms ?? [...DEFAULT_JWT_ALGORITHMS],
        clockSkewSeconds: r.clockSkewSeconds ?? DEFAULT_CLOCK_SKEW_SECONDS,
        clientId: r.clientId,
        clientSecret: r.clientSecret,
      });
    },
    removeIdentityProvider(name) {
      providers.delete(name);
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
