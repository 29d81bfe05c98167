import pg from "pg";
import type { Logger } from "pino";
import type { Catalog } from "../catalog/catalog.ts";
import type { MutableRuntimeView } from "../runtime-view.ts";
import type { ConfigStore } from "./config-store.ts";
import type { ConfigChange } from "./pg-config-store.ts";
import { CONFIG_CHANNEL } from "./postgres.ts";

export interface ConfigFeed {
  /** Why this replica cannot vouch that its configuration is current, or undefined when it can. */
  problem(): string | undefined;
  close(): Promise<void>;
}

export interface ConfigFeedOptions {
  url: string;
  store: ConfigStore;
  view: MutableRuntimeView;
  catalog: Catalog;
  log: Logger;
  /** Full re-read of the configuration this often, in case a notification was lost (default 30 s). */
  resyncMs?: number;
  /** How long PostgreSQL may be silent on the listener before the replica stops serving (default 3 s). */
  graceMs?: number;
}

/**
 * Keeps this replica's view in step with writes made through any replica: LISTEN on the channel every
 * config write NOTIFYs on commit, then re-read the object named. On (re)connect and every `resyncMs`,
 * everything is re-read. The listener is probed every second; once PostgreSQL has not answered it for
 * longer than `graceMs`, `problem()` says so and the proxy refuses calls: a replica that cannot hear
 * revocations must not keep serving (fail closed). The clock starts at the last answer, not when the
 * connection is declared lost, so a frozen server is refused within `graceMs` of its last word.
 */
export async function startConfigFeed(options: ConfigFeedOptions): Promise<ConfigFeed> {
  const { store, view, catalog, log } = options;
  const graceMs = options.graceMs ?? 3_000;
  let client: pg.Client | undefined;
  let connected = false;
  /** When PostgreSQL last answered on the listener (a notification, a heartbeat), once the view is current. */
  let lastHeard = Date.now();
  /** Heard since the last (re)connect and its full re-read: only then does an answer vouch for the view. */
  let current = false;
  let lostLogged = false;
  let closed = false;
  let reconnectTimer: NodeJS.Timeout | undefined;
  let queue: Promise<void> = Promise.resolve();

  /** Changes apply one at a time, in the order they were heard. */
  function enqueue(work: () => Promise<void>): Promise<void> {
    queue = queue.then(work).catch((err: unknown) => log.warn({ err: { message: (err as Error).message } }, "could not apply a configuration change; the next re-sync will"));
    return queue;
  }

  async function apply(change: ConfigChange): Promise<void> {
    switch (change.kind) {
      case "server": {
        const r = await store.getServer(change.name);
        if (r) view.setServer(r);
        else view.removeServer(change.name);
        return;
      }
      case "policy": {
        const r = await store.getPolicy(change.name);
        if (r) view.setPolicy(r);
        else view.removePolicy(change.name);
        return;
      }
      case "grant": {
        const r = await store.getGrant(change.name);
        if (r) view.setGrant(r);
        else view.removeGrant(change.name);
        return;
      }
      case "identity-provider": {
        const r = await store.getIdentityProvider(change.name);
        if (r) view.setIdentityProvider(r);
        else view.removeIdentityProvider(change.name);
        return;
      }
      case "catalog":
        return catalog.reload(change.name);
      case "webhook":
        return; // The notifier reads webhooks from the store at each delivery.
    }
  }

  let resyncQueued = false;
  /** One full re-read waiting in the queue at most. */
  function queueResync(): void {
    if (resyncQueued) return;
    resyncQueued = true;
    void enqueue(() => {
      resyncQueued = false;
      return resync();
    });
  }

  async function resync(): Promise<void> {
    const listening = client;
    view.load(await store.snapshot());
    await catalog.reload();
    // Read in full while this listener was up: from now on its answers vouch for the view.
    if (listening && listening === client) {
      current = true;
      lastHeard = Date.now();
    }
  }

  function scheduleReconnect(): void {
    if (closed || reconnectTimer) return;
    reconnectTimer = setTimeout(() => {
      reconnectTimer = undefined;
      void connect();
    }, 500);
    reconnectTimer.unref();
  }

  function lost(why: string): void {
    if (!connected) return;
    connected = false;
    current = false;
    lostLogged = true;
    log.warn({ reason: why }, "lost the configuration feed from PostgreSQL; reconnecting");
    void client?.end().catch(() => {});
    client = undefined;
    scheduleReconnect();
  }

  async function connect(): Promise<void> {
    const c = new pg.Client({ connectionString: options.url, keepAlive: true, connectionTimeoutMillis: 3_000, application_name: "toolgate-feed" });
    c.on("error", (err) => c === client && lost(err.message));
    c.on("end", () => c === client && lost("connection closed"));
    c.on("notification", (n) => {
      if (current) lastHeard = Date.now();
      if (n.channel !== CONFIG_CHANNEL || !n.payload) return;
      void enqueue(() => apply(JSON.parse(n.payload!) as ConfigChange));
    });
    try {
      await c.connect();
      await c.query(`LISTEN ${CONFIG_CHANNEL}`);
      client = c;
      connected = true;
      // Whatever changed while nobody listened is picked up here; only then is the view current again.
      await enqueue(resync);
      if (lostLogged && current) log.info("configuration feed restored");
      if (current) lostLogged = false;
    } catch (error) {
      void c.end().catch(() => {});
      if (!closed) log.debug({ err: { message: (error as Error).message } }, "configuration feed: PostgreSQL not reachable yet");
      scheduleReconnect();
    }
  }

  // A dead peer does not always close the socket: probe the listener, and re-read everything now and then.
  let ticks = 0;
  const resyncEvery = Math.max(1, Math.round((options.resyncMs ?? 30_000) / 1_000));
  const heartbeat = setInterval(() => {
    if (!client || !connected) return;
    const probe = client.query("SELECT 1");
    const timeout = setTimeout(() => lost("heartbeat timed out"), 2_000);
    probe.then(() => {
      clearTimeout(timeout);
      if (current) lastHeard = Date.now();
    }, (err: Error) => {
      clearTimeout(timeout);
      lost(err.message);
    });
    // Until a full re-read after (re)connecting succeeds the replica refuses calls: try again every second, not
    // only every resyncMs (a pooled connection that died with the server fails the first re-read after a restart).
    if (++ticks % resyncEvery === 0 || !current) queueResync();
  }, 1_000);
  heartbeat.unref();

  await connect();

  return {
    problem() {
      if (Date.now() - lastHeard <= graceMs) return undefined;
      return "the configuration store (PostgreSQL) is unreachable, so this replica cannot be sure its grants and policies are current";
    },
    async close() {
      closed = true;
      clearInterval(heartbeat);
      clearTimeout(reconnectTimer);
      connected = false;
      await client?.end().catch(() => {});
      await queue;
    },
  };
}
