import { jsonEqual } from "../../sdk/index.ts";
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
import { CONFIG_CHANNEL, type Postgres, type Queryable } from "./postgres.ts";
import type { Sealer } from "./seal.ts";

/** What a config write announces on CONFIG_CHANNEL: every replica re-reads that object. */
export interface ConfigChange {
  kind: "server" | "policy" | "grant" | "webhook" | "identity-provider" | "catalog";
  name: string;
}

/** Config writes from all replicas take this lock, so a read-check-write is as atomic as SQLite's. */
const CONFIG_LOCK = 7_360_401_118;

type Table = "servers" | "policies" | "grants" | "webhooks" | "identity_providers";

/**
 * Servers, policies, grants and webhooks in PostgreSQL: the same contract as the SQLite store. Every
 * write runs under one advisory lock and announces itself with NOTIFY in the same transaction, so
 * other replicas hear of it only once it is committed.
 */
export function createPgConfigStore(db: Postgres, sealer: Sealer, clock: () => Date = () => new Date()): ConfigStore {
  const now = () => clock().toISOString();

  async function row(c: Queryable, table: Table, name: string): Promise<Row | undefined> {
    return (await c.query<Row>(`SELECT * FROM ${table} WHERE name = $1`, [name])).rows[0];
  }
  const getServer = async (c: Queryable, name: string) => {
    const r = await row(c, "servers", name);
    return r ? serverFromRow(r, sealer) : undefined;
  };
  const getPolicy = async (c: Queryable, name: string) => {
    const r = await row(c, "policies", name);
    return r ? policyFromRow(r) : undefined;
  };
  const getGrant = async (c: Queryable, name: string) => {
    const r = await row(c, "grants", name);
    return r ? grantFromRow(r) : undefined;
  };
  const getWebhook = async (c: Queryable, name: string) => {
    const r = await row(c, "webhooks", name);
    return r ? webhookFromRow(r, sealer) : undefined;
  };

  const getIdentityProvider = async (c: Queryable, name: string) => {
    const r = await row(c, "identity_providers", name);
    return r ? identityProviderFromRow(r, sealer) : undefined;
  };

  /** One config write: serialized across replicas, announced on commit. */
  function write<T>(change: ConfigChange, work: (c: Queryable) => Promise<T>): Promise<T> {
    return db.transaction(async (c) => {
      await c.query("SELECT pg_advisory_xact_lock($1)", [CONFIG_LOCK]);
      const result = await work(c);
      await c.query("SELECT pg_notify($1, $2)", [CONFIG_CHANNEL, JSON.stringify(change)]);
      return result;
    });
  }

  function remove(table: Table, kind: ConfigChange["kind"], name: string, pre: Preconditions | undefined): Promise<boolean> {
    return write({ kind, name }, async (c) => {
      const existing = await row(c, table, name);
      checkPreconditions(kind, name, existing ? { version: Number(existing.version) } : undefined, pre);
      if (!existing) return false;
      await c.query(`DELETE FROM ${table} WHERE name = $1`, [name]);
      return true;
    });
  }

  async function list<T>(table: Table, limit: number, after: string, map: (r: Row) => T): Promise<T[]> {
    return (await db.pool.query<Row>(`SELECT * FROM ${table} WHERE name COLLATE "C" > $1 ORDER BY name COLLATE "C" LIMIT $2`, [after, limit])).rows.map(map);
  }

  return {
    getServer: (name) => getServer(db.pool, name),
    putServer(spec, pre) {
      return write({ kind: "server", name: spec.name }, async (c): Promise<WriteResult<ServerRecord>> => {
        const stored = await row(c, "servers", spec.name);
        const { existing, fields, same } = serverFields(spec, stored, sealer);
        const replay = replayOf(existing, stored?.write_key, pre);
        if (replay) return replay;
        for (const ref of serverIdentityProviders(spec)) if (!(await row(c, "identity_providers", ref.name))) throw missingIdentityProvider(ref.path, ref.name);
        checkPreconditions("server", spec.name, existing, pre);
        if (same) return { record: existing!, created: false, changed: false };
        const writeKey = pre?.idempotencyKey ?? null;
        if (existing) {
          await c.query("UPDATE servers SET spec = $1, credentials = $2, credentials_digest = $3, owner = $4, write_key = $5, version = version + 1, updated_at = $6 WHERE name = $7", [...fields, writeKey, now(), spec.name]);
          return { record: (await getServer(c, spec.name))!, created: false, changed: true };
        }
        const at = now();
        await c.query("INSERT INTO servers (name, spec, credentials, credentials_digest, owner, write_key, version, created_at, updated_at) VALUES ($1, $2, $3, $4, $5, $6, 1, $7, $7)", [spec.name, ...fields, writeKey, at]);
        return { record: (await getServer(c, spec.name))!, created: true, changed: true };
      });
    },
    deleteServer: (name, pre) => remove("servers", "server", name, pre),
    listServers: (limit, after = "") => list("servers", limit, after, (r) => serverFromRow(r, sealer)),

    getPolicy: (name) => getPolicy(db.pool, name),
    putPolicy(spec, pre) {
      return write({ kind: "policy", name: spec.name }, async (c): Promise<WriteResult<PolicyRecord>> => {
        const stored = await row(c, "policies", spec.name);
        const existing = stored ? policyFromRow(stored) : undefined;
        const replay = replayOf(existing, stored?.write_key, pre);
        if (replay) return replay;
        checkPreconditions("policy", spec.name, existing, pre);
        const owner = spec.owner === undefined ? (existing?.owner ?? null) : spec.owner;
        const writeKey = pre?.idempotencyKey ?? null;
        if (existing) {
          if (jsonEqual(existing.document, spec.document) && owner === existing.owner) return { record: existing, created: false, changed: false };
          await c.query("UPDATE policies SET document = $1, owner = $2, write_key = $3, version = version + 1, updated_at = $4 WHERE name = $5", [JSON.stringify(spec.document), owner, writeKey, now(), spec.name]);
          return { record: (await getPolicy(c, spec.name))!, created: false, changed: true };
        }
        const at = now();
        await c.query("INSERT INTO policies (name, document, owner, write_key, version, created_at, updated_at) VALUES ($1, $2, $3, $4, 1, $5, $5)", [spec.name, JSON.stringify(spec.document), owner, writeKey, at]);
        return { record: (await getPolicy(c, spec.name))!, created: true, changed: true };
      });
    },
    deletePolicy: (name, pre) => remove("policies", "policy", name, pre),
    listPolicies: (limit, after = "") => list("policies", limit, after, policyFromRow),

    getGrant: (name) => getGrant(db.pool, name),
    putGrant(spec, newTokenHash, pre) {
      return write({ kind: "grant", name: spec.name }, async (c): Promise<WriteResult<GrantRecord>> => {
        const stored = await row(c, "grants", spec.name);
        const existing = stored ? grantFromRow(stored) : undefined;
        const replay = replayOf(existing, stored?.write_key, pre);
        if (replay) return replay;
        if (!(await row(c, "servers", spec.server))) throw missingReference("server", spec.server);
        if (spec.policy && !(await row(c, "policies", spec.policy))) throw missingReference("policy", spec.policy);
        if (spec.identity && !(await row(c, "identity_providers", spec.identity.identityProvider))) throw missingIdentityProvider("/identity/identityProvider", spec.identity.identityProvider);
        checkPreconditions("grant", spec.name, existing, pre);
        const { fields, same } = grantFields(spec, existing);
        if (same) return { record: existing!, created: false, changed: false };
        const writeKey = pre?.idempotencyKey ?? null;
        if (existing) {
          await c.query("UPDATE grants SET server = $1, policy = $2, expires_at = $3, description = $4, owner = $5, identity = $6, write_key = $7, version = version + 1, updated_at = $8 WHERE name = $9", [...fields, writeKey, now(), spec.name]);
          return { record: (await getGrant(c, spec.name))!, created: false, changed: true };
        }
        const at = now();
        await c.query("INSERT INTO grants (name, server, policy, expires_at, description, owner, identity, token_hash, write_key, version, created_at, updated_at) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, 1, $10, $10)", [spec.name, ...fields, newTokenHash, writeKey, at]);
        return { record: (await getGrant(c, spec.name))!, created: true, changed: true };
      });
    },
    rotateGrant(name, tokenHash, pre) {
      return write({ kind: "grant", name }, async (c) => {
        const existing = await getGrant(c, name);
        checkPreconditions("grant", name, existing, pre);
        if (!existing) return undefined;
        await c.query("UPDATE grants SET token_hash = $1, write_key = NULL, version = version + 1, updated_at = $2 WHERE name = $3", [tokenHash, now(), name]);
        return getGrant(c, name);
      });
    },
    deleteGrant: (name, pre) => remove("grants", "grant", name, pre),
    listGrants: (limit, after = "") => list("grants", limit, after, grantFromRow),

    getIdentityProvider: (name) => getIdentityProvider(db.pool, name),
    putIdentityProvider(spec, pre) {
      return write({ kind: "identity-provider", name: spec.name }, async (c): Promise<WriteResult<IdentityProviderRecord>> => {
        const stored = await row(c, "identity_providers", spec.name);
        const { existing, fields, same } = identityProviderFields(spec, stored, sealer);
        const replay = replayOf(existing, stored?.write_key, pre);
        if (replay) return replay;
        checkPreconditions("identity provider", spec.name, existing, pre);
        if (same) return { record: existing!, created: false, changed: false };
        const writeKey = pre?.idempotencyKey ?? null;
        if (existing) {
          await c.query("UPDATE identity_providers SET spec = $1, client_secret = $2, client_secret_digest = $3, owner = $4, write_key = $5, version = version + 1, updated_at = $6 WHERE name = $7", [...fields, writeKey, now(), spec.name]);
          return { record: (await getIdentityProvider(c, spec.name))!, created: false, changed: true };
        }
        const at = now();
        await c.query("INSERT INTO identity_providers (name, spec, client_secret, client_secret_digest, owner, write_key, version, created_at, updated_at) VALUES ($1, $2, $3, $4, $5, $6, 1, $7, $7)", [spec.name, ...fields, writeKey, at]);
        return { record: (await getIdentityProvider(c, spec.name))!, created: true, changed: true };
      });
    },
    deleteIdentityProvider(name, pre) {
      return write({ kind: "identity-provider", name }, async (c) => {
        const existing = await row(c, "identity_providers", name);
        checkPreconditions("identity provider", name, existing ? { version: Number(existing.version) } : undefined, pre);
        if (!existing) return false;
        const grants = (await c.query<Row>("SELECT * FROM grants WHERE identity IS NOT NULL")).rows.map(grantFromRow);
        const servers = (await c.query<Row>("SELECT * FROM servers")).rows.map((r) => serverFromRow(r, sealer));
        const inUse = identityProviderInUse(name, grants, servers);
        if (inUse) throw inUse;
        await c.query("DELETE FROM identity_providers WHERE name = $1", [name]);
        return true;
      });
    },
    listIdentityProviders: (limit, after = "") => list("identity_providers", limit, after, (r) => identityProviderFromRow(r, sealer)),

    getWebhook: (name) => getWebhook(db.pool, name),
    putWebhook(spec, pre) {
      return write({ kind: "webhook", name: spec.name }, async (c): Promise<WriteResult<WebhookRecord>> => {
        const stored = await row(c, "webhooks", spec.name);
        const existing = stored ? webhookFromRow(stored, sealer) : undefined;
        const replay = replayOf(existing, stored?.write_key, pre);
        if (replay) return replay;
        checkPreconditions("webhook", spec.name, existing, pre);
        const { fields, same } = webhookFields(spec, existing, sealer);
        if (same) return { record: existing!, created: false, changed: false };
        const writeKey = pre?.idempotencyKey ?? null;
        if (existing) {
          await c.query("UPDATE webhooks SET url = $1, events = $2, secret = $3, secret_digest = $4, description = $5, owner = $6, write_key = $7, version = version + 1, updated_at = $8 WHERE name = $9", [...fields, writeKey, now(), spec.name]);
          return { record: (await getWebhook(c, spec.name))!, created: false, changed: true };
        }
        const at = now();
        await c.query("INSERT INTO webhooks (name, url, events, secret, secret_digest, description, owner, write_key, version, created_at, updated_at) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, 1, $9, $9)", [spec.name, ...fields, writeKey, at]);
        return { record: (await getWebhook(c, spec.name))!, created: true, changed: true };
      });
    },
    deleteWebhook: (name, pre) => remove("webhooks", "webhook", name, pre),
    listWebhooks: (limit, after = "") => list("webhooks", limit, after, (r) => webhookFromRow(r, sealer)),

    async snapshot() {
      // One REPEATABLE READ transaction: servers, policies and grants from the same instant.
      return db.transaction(async (c) => {
        await c.query("SET TRANSACTION ISOLATION LEVEL REPEATABLE READ READ ONLY");
        const all = async (table: Table) => (await c.query<Row>(`SELECT * FROM ${table}`)).rows;
        return {
          servers: (await all("servers")).map((r) => serverFromRow(r, sealer)),
          policies: (await all("policies")).map(policyFromRow),
          grants: (await all("grants")).map(grantFromRow),
          identityProviders: (await all("identity_providers")).map((r) => identityProviderFromRow(r, sealer)),
        };
      });
    },
    async ping() {
      await db.pool.query("SELECT 1");
    },
    // The pool belongs to the backend (gateway/store/backends.ts), which closes it.
    async close() {},
  };
}
