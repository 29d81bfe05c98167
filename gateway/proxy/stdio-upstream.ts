import { createInterface } from "node:readline";
import type { Logger } from "pino";
import type { ServerTarget } from "../contracts.ts";
import { describeFailure } from "./http-upstream.ts";
import { createSessionRouter, type Opened, type RoutedSession } from "./session-router.ts";
import { spawnServer, type StdioProcess } from "./stdio-process.ts";
import type { Exchange, Upstream, UpstreamContext } from "./upstream.ts";

export { sessionOwner as stdioSessionOwner } from "./session-router.ts";

export interface StdioLimits {
  /** Processes alive now across all stdio servers, and the most allowed. */
  active: number;
  max: number;
  /** Sessions each grant holds now, and the most one grant may hold. */
  perGrant: Map<string, number>;
  maxPerGrant: number;
}

export interface StdioOptions {
  /** Goes into every session id, so other replicas know where the session lives. */
  replicaId: string;
  limits: StdioLimits;
  idleMs: number;
  /** Children never start inside it (it holds the secret key and the database). */
  dataDir: string | undefined;
  log: Logger;
}

export type StdioTarget = ServerTarget & { transport: { type: "stdio" } };

/** A session's child process, and its stop once the gateway ended the session on purpose. */
interface Child {
  proc: StdioProcess;
  stopping: Promise<void> | undefined;
}

/**
 * Starts a process of `target` that counts in `limits.active` while alive, its stderr going to the debug log;
 * a string says why it could not start.
 */
export function startCounted(target: StdioTarget, limits: StdioLimits, dataDir: string | undefined, log: Logger): StdioProcess | string {
  let proc: StdioProcess;
  try {
    proc = spawnServer(target.transport, dataDir);
  } catch (error) {
    return `Upstream server "${target.name}" cannot start: ${(error as Error).message}`;
  }
  limits.active++;
  proc.onExit(() => limits.active--);
  drainStderr(proc, target.name, log);
  return proc;
}

export function drainStderr(proc: StdioProcess, server: string, log: Logger): void {
  createInterface({ input: proc.child.stderr, crlfDelay: Infinity }).on("line", (line) => log.debug({ server, stderr: line.slice(0, 500) }, "upstream stderr"));
}

/**
 * A stdio upstream: one child process (group) per MCP session, owned by the grant that started it; messages are
 * written to it as lines and read back line by line. Routing is session-router.ts's.
 */
export function createStdioUpstream(target: StdioTarget, options: StdioOptions, ctx: UpstreamContext): Upstream {
  const { limits } = options;
  const router = createSessionRouter<Child>(target, options, ctx, { open: start, write, stop, ready: (session) => session.link.stopping === undefined });

  function start(x: Exchange): Opened<Child> {
    if (limits.active >= limits.max) return { failure: "busy", detail: `Too many stdio sessions on this gateway (limit ${limits.max}, --max-stdio-processes); close idle sessions or raise the limit` };
    const held = limits.perGrant.get(x.grant) ?? 0;
    if (held >= limits.maxPerGrant) return { failure: "busy", detail: `Too many stdio sessions for grant "${x.grant}" (limit ${limits.maxPerGrant}, --max-stdio-per-grant); end a session (DELETE) first` };
    const proc = startCounted(target, limits, options.dataDir, options.log);
    if (typeof proc === "string") return { failure: "busy", detail: proc };
    limits.perGrant.set(x.grant, held + 1);
    const session = router.register(x, { proc, stopping: undefined });
    createInterface({ input: proc.child.stdout, crlfDelay: Infinity }).on("line", (line) => {
      if (line.trim()) router.receive(session, line);
    });
    proc.onExit((why) => end(session, why));
    return session;
  }

  function end(session: RoutedSession<Child>, why: string): void {
    const held = (limits.perGrant.get(session.grant) ?? 1) - 1;
    if (held > 0) limits.perGrant.set(session.grant, held);
    else limits.perGrant.delete(session.grant);
    if (session.link.stopping === undefined) {
      ctx.onError("crash");
      options.log.warn({ server: target.name, why }, "stdio upstream ended");
    }
    router.end(session, "crash", describeFailure(target, "crash", why));
  }

  /** Ends a session on purpose: its whole process group stops. */
  function stop(session: RoutedSession<Child>): Promise<void> {
    session.link.stopping ??= session.link.proc.stop();
    return session.link.stopping;
  }

  async function write(session: RoutedSession<Child>, body: string | Buffer) {
    session.link.proc.child.stdin.write(body + "\n");
    return { status: 202 };
  }

  return {
    post: router.post,
    get: router.get,
    delete: router.delete,
    async close() {
      await Promise.all(router.sessions().map(stop));
    },
  };
}
