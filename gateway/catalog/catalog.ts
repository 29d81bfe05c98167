import { createHash, randomUUID } from "node:crypto";
import type { Logger } from "pino";
import { classifyTool, type RiskCategory, type ToolDefinition } from "../../sdk/index.ts";
import type { AuditSink, RuntimeView, ServerTarget, ToolCatalogView } from "../contracts.ts";
import { canonicalJson } from "../store/canonical-json.ts";
import type { CatalogEntry, CatalogStore } from "./catalog-store.ts";

export interface CatalogDeps {
  store: CatalogStore;
  view: RuntimeView;
  audit: AuditSink;
  log: Logger;
  /** Lists an upstream's tools (gateway/catalog/list-upstream-tools.ts; a fake in unit tests). */
  listTools: (target: ServerTarget) => Promise<ToolDefinition[]>;
  onChanged?: (server: string, tool: string) => void;
  /** Re-reads every server's tools this often; 0 turns the timer off. */
  refreshMs: number;
  /** At most one refresh per server this often when agents' lists show definitions that differ (default 30 s). */
  observedRefreshMs?: number;
  clock?: () => number;
}

export interface Catalog extends ToolCatalogView {
  load(): Promise<void>;
  /** Re-reads one server's entries (or all) from the store: another replica changed them. */
  reload(server?: string): Promise<void>;
  /** Fetches the server's tools from the upstream now. Never throws: failures are logged and reported as false. */
  refresh(server: string): Promise<boolean>;
  tools(server: string): CatalogEntry[];
  review(server: string, tool?: string): Promise<number>;
  removeServer(server: string): Promise<void>;
  stop(): void;
}

/** The definition fields that make a tool what it is; a change to any of them is a change to review. */
export function definitionHash(tool: ToolDefinition & { title?: string; outputSchema?: unknown }): string {
  const { name, title, description, inputSchema, outputSchema, annotations } = tool;
  return createHash("sha256").update(canonicalJson({ name, title, description, inputSchema, outputSchema, annotations })).digest("hex");
}

/** `reviewedHash` of a tool nobody has accepted yet: first seen in an agent's tools/list, not by the gateway. */
const NEVER_REVIEWED = "";

function isToolDefinition(tool: unknown): tool is ToolDefinition {
  return typeof tool === "object" && tool !== null && typeof (tool as { name?: unknown }).name === "string" && (tool as { name: string }).name !== "";
}

/**
 * The tool catalog: every server's tools with their risk classification and review state. It belongs to the
 * gateway: only the gateway's own complete listing of a server (registration, list_changed, the timer, an explicit
 * refresh) changes or removes entries. Agents' tools/list results, which may be one page of many or tailored to
 * the agent's session, can only add a tool the catalog does not know yet, as never reviewed; a definition that
 * differs from the catalog's makes the gateway list the server itself (rate-limited). The proxy reads the catalog
 * from memory (`lookup`); writes go to the store.
 */
export function createCatalog(deps: CatalogDeps): Catalog {
  const clock = deps.clock ?? Date.now;
  const observedRefreshMs = deps.observedRefreshMs ?? 30_000;
  const byServer = new Map<string, Map<string, CatalogEntry>>();
  const pending = new Map<string, Promise<boolean>>();
  /** Updates of one server run one after another, so a change is detected (and audited) once. */
  const queues = new Map<string, Promise<void>>();
  /** When agents' lists last made the gateway refresh a server, and refreshes waiting for their turn. */
  const observedRefreshAt = new Map<string, number>();
  const observedRefreshTimers = new Map<string, NodeJS.Timeout>();
  /** Tools first seen in agents' lists and not stored yet: a reload from the store keeps them. */
  const unsaved = new Map<string, Map<string, CatalogEntry>>();
  let timer: NodeJS.Timeout | undefined;

  function enqueue(server: string, work: () => Promise<void>): Promise<void> {
    const run = (queues.get(server) ?? Promise.resolve()).then(work);
    const settled = run.catch(() => {});
    queues.set(server, settled);
    void settled.then(() => queues.get(server) === settled && queues.delete(server));
    return run;
  }

  function audit(server: string, method: string, tool: string, message: string, time: string): void {
    deps.audit.write({
      time, requestId: randomUUID(), grant: "", server, method, tool, decision: "event", rule: "", message,
      policy: null, policyVersion: null, argumentKeys: [], upstreamStatus: null, latencyMs: 0,
    });
  }

  function entryFor(server: string, tool: ToolDefinition, hash: string, old: CatalogEntry | undefined, reviewedHash: string, now: string): CatalogEntry {
    const c = classifyTool(tool);
    return {
      server,
      name: tool.name,
      definition: tool,
      hash,
      reviewedHash,
      category: c.category,
      severity: c.severity,
      evidence: c.evidence,
      firstSeen: old?.firstSeen ?? now,
      updatedAt: now,
      changedAt: old ? now : null,
    };
  }

  /** The gateway's own complete listing: the catalog becomes exactly these tools. */
  async function applyListing(server: string, tools: readonly ToolDefinition[]): Promise<void> {
    const now = new Date(clock()).toISOString();
    const before = byServer.get(server) ?? new Map<string, CatalogEntry>();
    const next = new Map<string, CatalogEntry>();
    let differs = false;
    for (const tool of tools) {
      if (!isToolDefinition(tool) || next.has(tool.name)) continue;
      const hash = definitionHash(tool);
      const old = before.get(tool.name);
      if (old && old.hash === hash) {
        next.set(tool.name, old);
        continue;
      }
      differs = true;
      // First seen by the gateway itself: accepted as it is (docs/catalog.md). Otherwise the last review stands.
      const entry = entryFor(server, tool, hash, old, old?.reviewedHash ?? hash, now);
      next.set(tool.name, entry);
      if (old) {
        deps.log.warn({ server, tool: tool.name }, "tool definition changed since it was reviewed");
        const reviewed = entry.reviewedHash === NEVER_REVIEWED ? "never reviewed" : `reviewed ${entry.reviewedHash.slice(0, 12)}`;
        audit(server, "catalog/tool_changed", tool.name, `definition changed (${old.hash.slice(0, 12)} → ${hash.slice(0, 12)}; ${reviewed})`, now);
        deps.onChanged?.(server, tool.name);
      }
    }
    if (!differs && next.size === before.size) return;
    byServer.set(server, next);
    await deps.store.replace(server, [...next.values()]);
  }

  function withUnsaved(server: string, entries: Map<string, CatalogEntry>): Map<string, CatalogEntry> {
    for (const e of unsaved.get(server)?.values() ?? []) if (!entries.has(e.name)) entries.set(e.name, e);
    return entries;
  }

  /** Stores tools first seen in an agent's list (already in memory), unless the store has them by now. */
  async function storeObserved(server: string, added: readonly CatalogEntry[]): Promise<void> {
    try {
      await storeAdded(server, added);
    } finally {
      const pending = unsaved.get(server);
      for (const e of added) if (pending?.get(e.name) === e) pending.delete(e.name);
      if (pending?.size === 0) unsaved.delete(server);
    }
  }

  async function storeAdded(server: string, added: readonly CatalogEntry[]): Promise<void> {
    const stored = await deps.store.forServer(server);
    const known = new Set(stored.map((e) => e.name));
    const fresh = added.filter((e) => !known.has(e.name));
    if (fresh.length === 0 || !byServer.has(server)) return;
    await deps.store.replace(server, [...stored, ...fresh]);
    // A complete listing or a reload may have replaced the in-memory entries meanwhile.
    const inMemory = byServer.get(server);
    for (const e of fresh) {
      if (!inMemory?.has(e.name)) inMemory?.set(e.name, e);
      deps.log.warn({ server, tool: e.name }, "tool first seen in an agent's tools/list; it is unreviewed until someone reviews it");
      audit(server, "catalog/tool_added", e.name, `first seen in an agent's tools/list (${e.hash.slice(0, 12)}); not reviewed`, e.firstSeen);
    }
  }

  /** Agents' lists showed a definition the catalog does not have: the gateway lists the server itself, at most once per interval. */
  function refreshForObserved(server: string): void {
    if (observedRefreshTimers.has(server)) return;
    const run = () => {
      observedRefreshTimers.delete(server);
      observedRefreshAt.set(server, clock());
      void catalog.refresh(server);
    };
    const wait = (observedRefreshAt.get(server) ?? -Infinity) + observedRefreshMs - clock();
    if (wait <= 0) return run();
    const t = setTimeout(run, wait);
    t.unref();
    observedRefreshTimers.set(server, t);
  }

  async function readAll(): Promise<void> {
    const fresh = new Map<string, Map<string, CatalogEntry>>();
    for (const e of await deps.store.all()) {
      let tools = fresh.get(e.server);
      if (!tools) fresh.set(e.server, (tools = new Map()));
      tools.set(e.name, e);
    }
    for (const server of unsaved.keys()) if (!fresh.has(server)) fresh.set(server, new Map());
    byServer.clear();
    for (const [server, tools] of fresh) byServer.set(server, withUnsaved(server, tools));
  }

  const catalog: Catalog = {
    async load() {
      await readAll();
      if (deps.refreshMs > 0) {
        timer = setInterval(() => {
          for (const server of byServer.keys()) void catalog.refresh(server);
        }, deps.refreshMs);
        timer.unref();
      }
    },

    reload(server) {
      if (server === undefined) return readAll();
      // In the server's queue, so a reload never interleaves with this replica's own update of it.
      return (queues.get(server) ?? Promise.resolve()).then(async () => {
        const entries = withUnsaved(server, new Map((await deps.store.forServer(server)).map((e) => [e.name, e])));
        if (entries.size === 0) byServer.delete(server);
        else byServer.set(server, entries);
      });
    },

    lookup(server, tool) {
      const e = byServer.get(server)?.get(tool);
      return e ? { category: e.category as RiskCategory, changed: e.hash !== e.reviewedHash } : undefined;
    },

    inputSchema: (server, tool) => (byServer.get(server)?.get(tool)?.definition as { inputSchema?: unknown } | undefined)?.inputSchema,

    observe(server, tools) {
      const now = new Date(clock()).toISOString();
      let known = byServer.get(server);
      const added: CatalogEntry[] = [];
      let differs = false;
      for (const tool of tools) {
        if (!isToolDefinition(tool)) continue;
        const hash = definitionHash(tool);
        const entry = known?.get(tool.name);
        if (entry) {
          if (entry.hash !== hash) differs = true;
          continue;
        }
        // In memory at once, so a call right after this list is already decided as unreviewed.
        const fresh = entryFor(server, tool, hash, undefined, NEVER_REVIEWED, now);
        if (!known) byServer.set(server, (known = new Map()));
        known.set(tool.name, fresh);
        if (!unsaved.has(server)) unsaved.set(server, new Map());
        unsaved.get(server)!.set(tool.name, fresh);
        added.push(fresh);
      }
      if (added.length > 0) {
        void enqueue(server, () => storeObserved(server, added)).catch((err: unknown) => deps.log.error({ err, server }, "catalog update failed"));
      }
      if (differs) refreshForObserved(server);
    },

    listChanged(server) {
      void catalog.refresh(server);
    },

    refresh(server) {
      // One fetch per server at a time; callers during a fetch share its result.
      const running = pending.get(server);
      if (running) return running;
      const work = (async () => {
        const target = deps.view.server(server);
        if (!target) return false;
        try {
          const tools = await deps.listTools(target);
          await enqueue(server, () => applyListing(server, tools));
          return true;
        } catch (err) {
          deps.log.warn({ server, err: err instanceof Error ? err.message : String(err) }, "could not list the upstream's tools");
          return false;
        } finally {
          pending.delete(server);
        }
      })();
      pending.set(server, work);
      return work;
    },

    tools(server) {
      return [...(byServer.get(server)?.values() ?? [])].sort((a, b) => (a.name < b.name ? -1 : 1));
    },

    async review(server, tool) {
      const now = new Date(clock()).toISOString();
      const n = await deps.store.review(server, tool, now);
      for (const e of byServer.get(server)?.values() ?? []) {
        if ((tool === undefined || e.name === tool) && e.reviewedHash !== e.hash) Object.assign(e, { reviewedHash: e.hash, updatedAt: now });
      }
      return n;
    },

    async removeServer(server) {
      byServer.delete(server);
      unsaved.delete(server);
      clearTimeout(observedRefreshTimers.get(server));
      observedRefreshTimers.delete(server);
      observedRefreshAt.delete(server);
      await deps.store.removeServer(server);
    },

    stop() {
      if (timer) clearInterval(timer);
      for (const t of observedRefreshTimers.values()) clearTimeout(t);
      observedRefreshTimers.clear();
    },
  };
  return catalog;
}
