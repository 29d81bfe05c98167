import type { Logger } from "pino";
import type { Dispatcher } from "undici";
import type { ServerTarget } from "../contracts.ts";
import { mediaType } from "../http/media-type.ts";
import { connectDetail, describeFailure, failureOf, provablyNotSent } from "./http-upstream.ts";
import { upstreamErrorMessage } from "./jsonrpc.ts";
import { createSessionRouter, type Opened, type RoutedSession, type Written } from "./session-router.ts";
import { SseSplitter } from "./sse.ts";
import type { Exchange, Upstream, UpstreamContext } from "./upstream.ts";

export type SseTarget = ServerTarget & { transport: { type: "sse" } };

export interface SseOptions {
  /** Goes into every session id (the stdio scheme, `tgs_<replica>.<random>`), so other replicas forward to it. */
  replicaId: string;
  /** How long a session without requests keeps its upstream connection. */
  idleMs: number;
  /** Sessions (upstream connections) one grant may hold on this server at once. */
  maxPerGrant: number;
  dispatcher: Dispatcher;
  log: Logger;
}

/** A session's upstream connection. */
interface Connection {
  /** Where messages are POSTed (the server's `endpoint` event), once it came. */
  endpoint: { origin: string; path: string } | undefined;
  /** Ends the upstream GET, and with it the upstream session. */
  abort: AbortController;
}

/**
 * A legacy HTTP+SSE upstream (MCP 2024-11-05, deprecated by the spec), relayed to Streamable HTTP agents. Each
 * agent session is one upstream connection: `initialize` opens `GET <url>`, the server's `endpoint` event says
 * where to POST, and every answer and server message arrives on that stream. Routing is session-router.ts's.
 * The connection is closed on DELETE, idle, revocation and shutdown.
 */
export function createSseUpstream(target: SseTarget, options: SseOptions, ctx: UpstreamContext): Upstream {
  if (!Number.isInteger(options.maxPerGrant) || options.maxPerGrant < 1) throw new Error(`options.maxPerGrant must be a positive integer, got ${options.maxPerGrant}`);
  if (!(options.idleMs > 0)) throw new Error(`options.idleMs must be a positive number of milliseconds, got ${options.idleMs}`);
  const url = new URL(target.transport.url);
  const configured = Object.fromEntries(Object.entries(target.transport.headers).map(([k, v]) => [k.toLowerCase(), v]));
  const { dispatcher, log } = options;
  const perGrant = new Map<string, number>();
  let inFlight = 0;
  const router = createSessionRouter<Connection>(target, options, ctx, {
    open,
    write,
    stop: async (session) => end(session),
    ready: (session) => session.link.endpoint !== undefined,
  });

  async function open(x: Exchange): Promise<Opened<Connection>> {
    const held = perGrant.get(x.grant) ?? 0;
    if (held >= options.maxPerGrant) return { failure: "busy", detail: `Too many sessions for grant "${x.grant}" on server "${target.name}" (limit ${options.maxPerGrant}); end a session (DELETE) first` };
    perGrant.set(x.grant, held + 1);
    const session = router.register(x, { endpoint: undefined, abort: new AbortController() });
    let response: Dispatcher.ResponseData;
    try {
      response = await dispatcher.request({
        origin: url.origin,
        path: url.pathname + url.search,
        method: "GET",
        headers: { ...configured, accept: "text/event-stream" },
        signal: session.link.abort.signal,
        headersTimeout: target.timeoutMs,
        bodyTimeout: 0,
      });
    } catch (error) {
      end(session);
      return { failure: failureOf(error), detail: connectDetail(error) };
    }
    const type = mediaType(response.headers["content-type"] as string | undefined);
    if (response.statusCode !== 200 || type !== "text/event-stream") {
      end(session);
      await response.body.dump().catch(() => {});
      return response.statusCode !== 200 ? { failure: "status", detail: `HTTP ${response.statusCode} to the event stream request` } : { failure: "protocol", detail: `answered the event stream request with content type "${type || "none"}"` };
    }
    const endpoint = new Promise<string | undefined>((resolve) => {
      const timer = setTimeout(() => resolve(`sent no endpoint event within ${target.timeoutMs} ms (timeoutMs)`), target.timeoutMs);
      const splitter = new SseSplitter((event) => {
        const data = event.data();
        if (data === undefined) return undefined;
        const name = eventName(event.raw);
        if (name === "endpoint" && session.link.endpoint === undefined) {
          clearTimeout(timer);
          resolve(setEndpoint(session.link, data));
        } else if (name === "message") router.receive(session, data);
        return undefined;
      });
      void (async () => {
        let why = "ended its event stream";
        try {
          for await (const chunk of response.body) splitter.push(chunk as Buffer);
        } catch {
          why = "dropped its event stream";
        }
        clearTimeout(timer);
        resolve(why);
        if (session.link.endpoint !== undefined && !session.ended) {
          ctx.onError("closed");
          log.warn({ server: target.name, why }, "sse upstream session ended");
          end(session, `Upstream server "${target.name}" ${why}; start a new session`);
        }
      })();
    });
    const refused = await endpoint;
    if (refused !== undefined) {
      end(session);
      return { failure: "protocol", detail: refused };
    }
    return session;
  }

  /** Takes the server's endpoint: same origin as `url` only, so the configured headers never go elsewhere. */
  function setEndpoint(connection: Connection, data: string): string | undefined {
    const at = URL.canParse(data.trim(), url.href) ? new URL(data.trim(), url) : undefined;
    if (!at) return "sent an endpoint event that is not a URL";
    if (at.origin !== url.origin) return `sent an endpoint on another origin (${at.origin}); it must be ${url.origin}`;
    connection.endpoint = { origin: at.origin, path: at.pathname + at.search };
    return undefined;
  }

  /**
   * Ends a session and closes its upstream connection; calls still waiting get `failure` as their answer (by
   * default the gateway ended it on purpose: DELETE, idle, revocation, shutdown).
   */
  function end(session: RoutedSession<Connection>, failure = `Upstream server "${target.name}" session was closed by the gateway`): void {
    if (session.ended) return;
    const held = (perGrant.get(session.grant) ?? 1) - 1;
    if (held > 0) perGrant.set(session.grant, held);
    else perGrant.delete(session.grant);
    router.end(session, "closed", failure);
    session.link.abort.abort();
  }

  /** POSTs one message to the session's endpoint. */
  async function write(session: RoutedSession<Connection>, body: string | Buffer): Promise<Written> {
    try {
      const response = await dispatcher.request({
        origin: session.link.endpoint!.origin,
        path: session.link.endpoint!.path,
        method: "POST",
        headers: { ...configured, "content-type": "application/json" },
        body,
        headersTimeout: target.timeoutMs,
        bodyTimeout: target.timeoutMs,
      });
      await response.body.dump();
      const status = response.statusCode;
      if (status >= 200 && status < 300) return { status };
      return { status, failure: "status", detail: describeFailure(target, "status", `HTTP ${status} to the message POST`), written: true };
    } catch (error) {
      const kind = failureOf(error);
      return { status: null, failure: kind, detail: describeFailure(target, kind, connectDetail(error)), written: !provablyNotSent(error) };
    }
  }

  return {
    async post(x) {
      if (x.kind !== "request") return router.post(x);
      if (inFlight >= target.maxInFlight) {
        ctx.onError("busy");
        x.res.writeHead(200, { "content-type": "application/json", "retry-after": "1" }).end(upstreamErrorMessage(x.id, x.era, describeFailure(target, "busy"), "busy"));
        return { status: null, failure: "busy", written: false };
      }
      inFlight++;
      try {
        return await router.post(x);
      } finally {
        inFlight--;
      }
    },
    get: router.get,
    delete: router.delete,
    async close() {
      for (const session of router.sessions()) end(session, `Upstream server "${target.name}" session was closed: the gateway is shutting down`);
    },
  };
}

/** The type of one complete event (its last `event` field; "message" without one), as an EventSource reads it. */
function eventName(raw: Buffer): string {
  let name = "";
  for (const line of raw.toString("utf8").split(/\r\n|\r|\n/)) if (line.startsWith("event:")) name = line.slice(line.startsWith("event: ") ? 7 : 6);
  return name || "message";
}
