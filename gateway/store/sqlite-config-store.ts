import type { DatabaseSync, StatementSync } from "node:sqlite";
import { jsonEqual, type GrantSpec } from "../../sdk/index.ts";
import type { ConfigStore, GrantRecord, IdentityProviderRecord, PolicyRecord, Preconditions, ServerRecord, WebhookRecord, WriteResult } from "./config-store.ts";
import {
  checkPreconditions,
  grantFields,
  webhookFields,
  grantFromRow,
  identityProviderFields,
  identityProviderFromRow,
  identityProviderInUse,
  missingIdentityProvider,
  missingReference,
  policyFromRow,
  replayOf,
  serverFields,
  serverFromRow,
  serverIdentityProviders,
  webhookFromRow,
  type Row,
} from "./config-rows.ts";
import type { Sealer } from "./seal.ts";
import { transaction } from "./sqlite.ts";

type Table = "servers" | "policies" | "grants" | "webhooks" | "identity_providers";

export function createSqliteConfigStore(db: DatabaseSync, sealer: Sealer, clock: () => Date = () => new Date()): ConfigStore {
  const statements = new Map<string, StatementSync>();
  const q = (sql: string) => {
    let s = statements.get(sql);
    if (!s) statements.set(sql, (s = db.prepare(sql)));
    return s;
  };

  const now = () => clock().toISOString();
  const lastWriteKey = (table: Table, name: string) => (q(`SELECT write_key FROM ${table} WHERE name = ?`).get(name) as Row | undefined)?.write_key;

  // ---- servers
  const getServer = (name: string) => {
    const r = q("SELECT * FROM servers WHERE name = ?").get(name) as Row | undefined;
    return r ? serverFromRow(r, sealer) : undefined;
  };

  // ---- policies
  const getPolicy = (name: string) => {
    const r = q("SELECT * FROM policies WHERE name = ?").get(name) as Row | undefined;
    return r ? policyFromRow(r) : undefined;
  };

  // ---- grants
  const getGrant = (name: string) => {
    const r = q("SELECT * FROM grants WHERE name = ?").get(name) as Row | undefined;
    return r ? grantFromRow(r) : undefined;
  };

  // ---- webhooks
  const getWebhook = (name: string) => {
    const r = q("SELECT * FROM webhooks WHERE name = ?").get(name) as Row | undefined;
    return r ? webhookFromRow(r, sealer) : undefined;
  };

  // ---- identity providers
  const getIdentityProvider = (name: string) => {
    const r = q("SELECT * FROM identity_providers WHERE name = ?").get(name) as Row | undefined;
    return r ? identityProviderFromRow(r, sealer) : undefined;
  };

  function remove(table: Table, kind: string, name: string, pre: Preconditions | undefined, get: (n: string) => { version: number } | undefined): boolean {
    return transaction(db, () => {
      const existing = get(name);
      checkPreconditions(kind, name, existing, pre);
      if (!existing) return false;
      q(`DELETE FROM ${table} WHERE name = ?`).run(name);
      return true;
    });
  }

  return {
    async getIdentityProvider(name) {
      return getIdentityProvider(name);
    },
    async putIdentityProvider(spec, pre) {
      return transaction(db, (): WriteResult<IdentityProviderRecord> => {
        const stored = q("SELECT * FROM identity_providers WHERE name = ?").get(spec.name) as Row | undefined;
        const { existing, fields, same } = identityProviderFields(spec, stored, sealer);
        const replay = replayOf(existing, stored?.write_key, pre);
        if (replay) return replay;
        checkPreconditions("identity provider", spec.name, existing, pre);
        if (same) return { record: existing!, created: false, changed: false };
        const writeKey = pre?.idempotencyKey ?? null;
        if (existing) {
          q("UPDATE identity_providers SET spec = ?, client_secret = ?, client_secret_digest = ?, owner = ?, write_key = ?, version = version + 1, updated_at = ? WHERE name = ?").run(...fields, writeKey, now(), spec.name);
          return { record: getIdentityProvider(spec.name)!, created: false, changed: true };
        }
        const at = now();
        q("INSERT INTO identity_providers (name, spec, client_secret, client_secret_digest, owner, write_key, version, created_at, updated_at) VALUES (?, ?, ?, ?, ?, ?, 1, ?, ?)").run(spec.name, ...fields, writeKey, at, at);
        return { record: getIdentityProvider(spec.name)!, created: true, changed: true };
      });
    },
    async deleteIdentityProvider(name, pre) {
      return transaction(db, () => {
        const existing = getIdentityProvider(name);
        checkPreconditions("identity provider", name, existing, pre);
        if (!existing) return false;
        const inUse = identityProviderInUse(name, (q("SELECT * FROM grants WHERE identity IS NOT NULL").all() as Row[]).map(grantFromRow), (q("SELECT * FROM servers").all() as Row[]).map((r) => serverFromRow(r, sealer)));
        if (inUse) throw inUse;
        q("DELETE FROM identity_providers WHERE name = ?").run(name);
        return true;
      });
    },
    async listIdentityProviders(limit, after = "") {
      return (q("SELECT * FROM identity_providers WHERE name > ? ORDER BY name LIMIT ?").all(after, limit) as Row[]).map((r) => identityProviderFromRow(r, sealer));
    },

    async getWebhook(name) {
      return getWebhook(name);
    },
    async putWebhook(spec, pre) {
      return transaction(db, (): WriteResult<WebhookRecord> => {
        const existing = getWebhook(spec.name);
        const replay = replayOf(existing, lastWriteKey("webhooks", spec.name), pre);
        if (replay) return replay;
        checkPreconditions("webhook", spec.name, existing, pre);
        const { fields, same } = webhookFields(spec, existing, sealer);
        if (same) return { record: existing!, created: false, changed: false };
        const writeKey = pre?.idempotencyKey ?? null;
        if (existing) {
          q("UPDATE webhooks SET url = ?, events = ?, secret = ?, secret_digest = ?, description = ?, owner = ?, write_key = ?, version = version + 1, updated_at = ? WHERE name = ?").run(...fields, writeKey, now(), spec.name);
          return { record: getWebhook(spec.name)!, created: false, changed: true };
        }
        const at = now();
        q("INSERT INTO webhooks (name, url, events, secret, secret_digest, description, owner, write_key, version, created_at, updated_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?, 1, ?, ?)").run(spec.name, ...fields, writeKey, at, at);
        return { record: getWebhook(spec.name)!, created: true, changed: true };
      });
    },
    async deleteWebhook(name, pre) {
      return remove("webhooks", "webhook", name, pre, getWebhook);
    },
    async listWebhooks(limit, after = "") {
      return (q("SELECT * FROM webhooks WHERE name > ? ORDER BY name LIMIT ?").all(after, limit) as Row[]).map((r) => webhookFromRow(r, sealer));
    },

    async getServer(name) {
      return getServer(name);
    },
    async putServer(spec, pre) {
      return transaction(db, (): WriteResult<ServerRecord> => {
        const stored = q("SELECT * FROM servers WHERE name = ?").get(spec.name) as Row | undefined;
        const { existing, fields, same } = serverFields(spec, stored, sealer);
        const replay = replayOf(existing, stored?.write_key, pre);
        if (replay) return replay;
        for (const ref of serverIdentityProviders(spec)) if (!getIdentityProvider(ref.name)) throw missingIdentityProvider(ref.path, ref.name);
        checkPreconditions("server", spec.name, existing, pre);
        if (same) return { record: existing!, created: false, changed: false };
        const writeKey = pre?.idempotencyKey ?? null;
        if (existing) {
          q("UPDATE servers SET spec = ?, credentials = ?, credentials_digest = ?, owner = ?, write_key = ?, version = version + 1, updated_at = ? WHERE name = ?").run(...fields, writeKey, now(), spec.name);
          return { record: getServer(spec.name)!, created: false, changed: true };
        }
        const at = now();
        q("INSERT INTO servers (name, spec, credentials, credentials_digest, owner, write_key, version, created_at, updated_at) VALUES (?, ?, ?, ?, ?, ?, 1, ?, ?)").run(spec.name, ...fields, writeKey, at, at);
        return { record: getServer(spec.name)!, created: true, changed: true };
      });
    },
    async deleteServer(name, pre) {
      return remove("servers", "server", name, pre, getServer);
    },
    async listServers(limit, after = "") {
      return (q("SELECT * FROM servers WHERE name > ? ORDER BY name LIMIT ?").all(after, limit) as Row[]).map((r) => serverFromRow(r, sealer));
    },

    async getPolicy(name) {
      return getPolicy(name);
    },
    async putPolicy(spec, pre) {
      return transaction(db, (): WriteResult<PolicyRecord> => {
        const existing = getPolicy(spec.name);
        const replay = replayOf(existing, lastWriteKey("policies", spec.name), pre);
        if (replay) return replay;
        checkPreconditions("policy", spec.name, existing, pre);
        const owner = spec.owner === undefined ? (existing?.owner ?? null) : spec.owner;
        const writeKey = pre?.idempotencyKey ?? null;
        if (existing) {
          if (jsonEqual(existing.document, spec.document) && owner === existing.owner) return { record: existing, created: false, changed: false };
          q("UPDATE policies SET document = ?, owner = ?, write_key = ?, version = version + 1, updated_at = ? WHERE name = ?").run(JSON.stringify(spec.document), owner, writeKey, now(), spec.name);
          return { record: getPolicy(spec.name)!, created: false, changed: true };
        }
        const at = now();
        q("INSERT INTO policies (name, document, owner, write_key, version, created_at, updated_at) VALUES (?, ?, ?, ?, 1, ?, ?)").run(spec.name, JSON.stringify(spec.document), owner, writeKey, at, at);
        return { record: getPolicy(spec.name)!, created: true, changed: true };
      });
    },
    async deletePolicy(name, pre) {
      return remove("policies", "policy", name, pre, getPolicy);
    },
    async listPolicies(limit, after = "") {
      return (q("SELECT * FROM policies WHERE name > ? ORDER BY name LIMIT ?").all(after, limit) as Row[]).map(policyFromRow);
    },

    async getGrant(name) {
      return getGrant(name);
    },
    async putGrant(spec: GrantSpec, newTokenHash, pre) {
      return transaction(db, (): WriteResult<GrantRecord> => {
        const existing = getGrant(spec.name);
        const replay = replayOf(existing, lastWriteKey("grants", spec.name), pre);
        if (replay) return replay;
        if (!getServer(spec.server)) throw missingReference("server", spec.server);
        if (spec.policy && !getPolicy(spec.policy)) throw missingReference("policy", spec.policy);
        if (spec.identity && !getIdentityProvider(spec.identity.identityProvider)) throw missingIdentityProvider("/identity/identityProvider", spec.identity.identityProvider);
        checkPreconditions("grant", spec.name, existing, pre);
        const { fields, same } = grantFields(spec, existing);
        if (same) return { record: existing!, created: false, changed: false };
        const writeKey = pre?.idempotencyKey ?? null;
        if (existing) {
          q("UPDATE grants SET server = ?, policy = ?, expires_at = ?, description = ?, owner = ?, identity = ?, write_key = ?, version = version + 1, updated_at = ? WHERE name = ?").run(...fields, writeKey, now(), spec.name);
          return { record: getGrant(spec.name)!, created: false, changed: true };
        }
        const at = now();
        q("INSERT INTO grants (name, server, policy, expires_at, description, owner, identity, token_hash, write_key, version, created_at, updated_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, 1, ?, ?)").run(spec.name, ...fields, newTokenHash, writeKey, at, at);
        return { record: getGrant(spec.name)!, created: true, changed: true };
      });
    },
    async rotateGrant(name, tokenHash, pre) {
      return transaction(db, () => {
        const existing = getGrant(name);
        checkPreconditions("grant", name, existing, pre);
        if (!existing) return undefined;
        q("UPDATE grants SET token_hash = ?, write_key = NULL, version = version + 1, updated_at = ? WHERE name = ?").run(tokenHash, now(), name);
        return getGrant(name);
      });
    },
    async deleteGrant(name, pre) {
      return remove("grants", "grant", name, pre, getGrant);
    },
    async listGrants(limit, after = "") {
      return (q("SELECT * FROM grants WHERE name > ? ORDER BY name LIMIT ?").all(after, limit) as Row[]).map(grantFromRow);
    },

    async snapshot() {
      return {
        servers: (q("SELECT * FROM servers").all() as Row[]).map((r) => serverFromRow(r, sealer)),
        policies: (q("SELECT * FROM policies").all() as Row[]).map(policyFromRow),
        grants: (q("SELECT * FROM grants").all() as Row[]).map(grantFromRow),
        identityProviders: (q("SELECT * FROM identity_providers").all() as Row[]).map((r) => identityProviderFromRow(r, sealer)),
      };
    },
    async ping() {
      q("SELECT 1").get();
    },
    async close() {
      statements.clear();
    },
  };
}
