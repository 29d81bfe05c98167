import { randomBytes } from "node:crypto";
import type { Logger } from "pino";
import { request } from "undici";
import { SDK_VERSION, signWebhook } from "../../sdk/index.ts";
import type { ApprovalRecord } from "../approvals/approval-store.ts";
import type { ApprovalEvent } from "../approvals/approvals.ts";
import { argumentKeys } from "../proxy/jsonrpc.ts";
import type { ConfigStore, WebhookRecord } from "../store/config-store.ts";
import { createGuardedAgent } from "./guarded-agent.ts";
import { WebhookTargetError, type WebhookTargets } from "./webhook-targets.ts";

export interface WebhookNotifierDeps {
  store: Pick<ConfigStore, "listWebhooks">;
  log: Logger;
  /** The admin listener's URL, for the link to the approvals page. */
  adminUrl: () => string;
  /** Which addresses deliveries may reach (checked again on every connection). */
  targets: WebhookTargets;
  attempts?: number;
  baseDelayMs?: number;
  timeoutMs?: number;
}

export interface WebhookNotifier {
  notify(event: ApprovalEvent, approval: ApprovalRecord): void;
  /** Waits for deliveries under way (bounded), for tests and shutdown. */
  idle(): Promise<void>;
}

/**
 * Delivers approval events to every subscribed webhook: a signed JSON POST (docs/approvals.md#webhooks), retried
 * with exponential backoff and jitter on network errors, 408, 429 and 5xx (honouring Retry-After). Deliveries are
 * kept in memory: one that is still retrying when the gateway stops is lost (the audit log has the event).
 * Argument values are never sent; approvers open the link to see them. Every attempt is a new delivery with its own
 * signed id (`Toolgate-Delivery`), so receivers can refuse replays; the event `id` in the body stays the same.
 * A target the operator has not allowed (see webhook-targets.ts) is not retried.
 */
export function createWebhookNotifier(deps: WebhookNotifierDeps): WebhookNotifier {
  const attempts = deps.attempts ?? 5;
  const baseDelayMs = deps.baseDelayMs ?? 1000;
  const running = new Set<Promise<void>>();
  const dispatcher = createGuardedAgent(deps.targets);

  async function subscribers(event: ApprovalEvent): Promise<WebhookRecord[]> {
    const out: WebhookRecord[] = [];
    let after: string | undefined;
    for (;;) {
      const page = await deps.store.listWebhooks(500, after);
      out.push(...page.filter((w) => w.events.includes(event)));
      if (page.length < 500) return out;
      after = page.at(-1)!.name;
    }
  }

  async function deliver(hook: WebhookRecord, event: ApprovalEvent, body: string, id: string): Promise<void> {
    for (let attempt = 1; attempt <= attempts; attempt++) {
      const timestamp = Math.floor(Date.now() / 1000);
      const delivery = "dlv_" + randomBytes(12).toString("base64url");
      let retryAfterMs: number | undefined;
      let outcome: string;
      try {
        const res = await request(hook.url, {
          method: "POST",
          body,
          dispatcher,
          headersTimeout: deps.timeoutMs ?? 10_000,
          bodyTimeout: deps.timeoutMs ?? 10_000,
          headers: {
            "content-type": "application/json",
            "user-agent": `toolgate/${SDK_VERSION}`,
            "toolgate-event": event,
            "toolgate-delivery": delivery,
            "toolgate-timestamp": String(timestamp),
            "toolgate-signature": signWebhook(hook.secret, timestamp, delivery, body),
          },
        });
        await res.body.dump();
        if (res.statusCode >= 200 && res.statusCode < 300) {
          deps.log.info({ webhook: hook.name, event, eventId: id, delivery, attempt }, "webhook delivered");
          return;
        }
        outcome = `HTTP ${res.statusCode}`;
        if (res.statusCode < 500 && res.statusCode !== 408 && res.statusCode !== 429) {
          deps.log.warn({ webhook: hook.name, event, eventId: id, delivery, status: res.statusCode }, "webhook refused the delivery; not retrying");
          return;
        }
        const retryAfter = Number(res.headers["retry-after"]);
        if (Number.isFinite(retryAfter) && retryAfter >= 0) retryAfterMs = Math.min(retryAfter * 1000, 60_000);
      } catch (error) {
        if (error instanceof WebhookTargetError) {
          deps.log.error({ webhook: hook.name, event, eventId: id, delivery, reason: error.message }, "webhook target is not allowed; not delivering");
          return;
        }
        outcome = (error as { code?: string }).code ?? (error as Error).message;
      }
      if (attempt === attempts) {
        deps.log.error({ webhook: hook.name, event, eventId: id, delivery, attempts, outcome }, "webhook delivery failed; giving up");
        return;
      }
      const backoff = baseDelayMs * 2 ** (attempt - 1) * (0.5 + Math.random());
      deps.log.warn({ webhook: hook.name, event, eventId: id, delivery, attempt, outcome }, "webhook delivery failed; retrying");
      await new Promise((r) => setTimeout(r, retryAfterMs ?? backoff));
    }
  }

  return {
    notify(event, a) {
      const id = "evt_" + randomBytes(12).toString("base64url");
      const body = JSON.stringify({
        id,
        event,
        time: new Date().toISOString(),
        approval: {
          id: a.id, status: a.status, grant: a.grant, server: a.server, tool: a.tool, reason: a.reason, argumentKeys: argumentKeys(a.arguments),
          policy: a.policy, createdAt: a.createdAt, expiresAt: a.expiresAt, decidedBy: a.decidedBy, decisionReason: a.decisionReason,
        },
        links: { approval: `${deps.adminUrl()}/ui/#${a.id}` },
      });
      const work = subscribers(event)
        .then((hooks) => Promise.all(hooks.map((h) => deliver(h, event, body, id))))
        .then(() => {})
        .catch((err: unknown) => deps.log.error({ err, event }, "webhook notification failed"));
      running.add(work);
      void work.finally(() => running.delete(work));
    },
    async idle() {
      while (running.size > 0) await Promise.all([...running]);
    },
  };
}
