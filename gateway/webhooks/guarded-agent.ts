import { isIP } from "node:net";
import { Agent, buildConnector } from "undici";
import type { WebhookTargets } from "./webhook-targets.ts";

/**
 * An undici Agent for webhook deliveries. Every new connection resolves its host once through `targets`, which
 * refuses addresses the operator has not allowed, and connects to the address that was checked: a DNS answer that
 * changes between the check and the connection (DNS rebinding) cannot redirect it. TLS still sends the host name
 * (SNI) and verifies the certificate against it. Redirects are not followed (undici's default).
 */
export function createGuardedAgent(targets: WebhookTargets, options: { connectTimeoutMs?: number } = {}): Agent {
  const connect = buildConnector({ timeout: options.connectTimeoutMs ?? 10_000 });
  return new Agent({
    connect(opts, callback) {
      targets.resolve(opts.hostname).then(
        ([first]) => {
          const byName = isIP(opts.hostname) === 0;
          const servername = opts.protocol === "https:" && byName ? (opts.servername ?? opts.hostname) : opts.servername;
          connect({ ...opts, hostname: first!.address, ...(servername ? { servername } : {}) }, callback);
        },
        (error: Error) => callback(error, null),
      );
    },
  });
}
