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

/**
 * The tool catalog: every server's tools with their risk classification and review state. Updated when a server
 * is registered, when the upstream says its tools changed, when any agent's tools/list passes through the proxy,
 * and on a timer. The proxy reads it from memory (`lookup`); writes go to the store.
 */
export function createCatalog(deps: CatalogDeps): Catalog {
  const clock = deps.clock ?? Date.now;
  const byServer = new Map<string, Map<string, CatalogEntry>>();
  const pending = new Map<string, Promise<boolean>>();
  /** Updates of one server run one after another, so a change is detected (and audited) once. */
  const queues = new Map<string, Promise<void>>();
  let timer: NodeJS.Timeout | undefined;

  function record(server: string, tools: readonly ToolDefinition[], source: string): Promise<void> {
    const run = (queues.get(server) ?? Promise.resolve()).then(() => apply(server, tools, source));
    const settled = run.catch(() => {});
    queues.set(server, settled);
    void settled.then(() => queues.get(server) === settled && queues.delete(server));
    return run;
  }

  async function apply(server: string, tools: readonly ToolDefinition[], source: string): Promise<void> {
    const now = new Date(clock()).toISOString();
    const before = byServer.get(server) ?? new Map<string, CatalogEntry>();
    const next = new Map<string, CatalogEntry>();
    let differs = before.size !== tools.length;
    for (const tool of tools) {
      if (typeof tool?.name !== "string" || next.has(tool.name)) continue;
      const hash = definitionHash(tool);
      const old = before.get(tool.name);
      if (old && old.hash === hash) {
        next.set(tool.name, old);
        continue;
      }
      differs = true;
      const c = classifyTool(tool);
      const entry: CatalogEntry = {
        server,
        name: tool.name,
        definition: tool,
        hash,
        reviewedHash: old?.reviewedHash ?? hash,
        category: c.category,
        severity: c.severity,
        evidence: c.evidence,
        firstSeen: old?.firstSeen ?? now,
        updatedAt: now,
        changedAt: old ? now : null,
      };
      next.set(tool.name, entry);
      if (old) {
        deps.log.warn({ server, tool: tool.name, source }, "tool definition changed since it was reviewed");
        deps.audit.write({
          time: now, requestId: randomUUID(), grant: "", server, method: "catalog/tool_changed", tool: tool.name, decision: "event", rule: "",
          message: `definition changed (${old.hash.slice(0, 12)} → ${hash.slice(0, 12)}; reviewed ${entry.reviewedHash.slice(0, 12)})`,
          policy: null, policyVersion: null, argumentKeys: [], upstreamStatus: null, latencyMs: 0,
        });
        deps.onChanged?.(server, tool.name);
      }
    }
    if (!differs) return;
    byServer.set(server, next);
    await deps.store.replace(server, [...next.values()]);
  }

  async function readAll(): Promise<void> {
    const fresh = new Map<string, Map<string, CatalogEntry>>();
    for (const e of await deps.store.all()) {
      let tools = fresh.get(e.server);
      if (!tools) fresh.set(e.server, (tools = new Map()));
      tools.set(e.name, e);
    }
    byServer.clear();
    for (const [server, tools] of fresh) byServer.set(server, tools);
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
        const entries = await deps.store.forServer(server);
        if (entries.length === 0) byServer.delete(server);
        else byServer.set(server, new Map(entries.map((e) => [e.name, e])));
      });
    },

    lookup(server, tool) {
      const e = byServer.get(server)?.get(tool);
      return e ? { category: e.category as RiskCategory, changed: e.hash !== e.reviewedHash } : undefined;
    },

    observe(server, tools) {
      void record(server, tools as ToolDefinition[], "tools/list").catch((err: unknown) => deps.log.error({ err, server }, "catalog update failed"));
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
          await record(server, await deps.listTools(target), "refresh");
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
      await deps.store.removeServer(server);
    },

    stop() {
      if (timer) clearInterval(timer);
    },
  };
  return catalog;
}
