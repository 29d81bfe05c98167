import { createHash, randomBytes, randomUUID } from "node:crypto";
import type { Logger } from "pino";
import { ToolgateError, type ApprovalRequirement } from "../../sdk/index.ts";
import type { AuditSink } from "../contracts.ts";
import { argumentKeys } from "../proxy/jsonrpc.ts";
import { canonicalJson } from "../store/canonical-json.ts";
import type { ApprovalQuery, ApprovalRecord, ApprovalStore } from "./approval-store.ts";

export type ApprovalEvent = "approval.requested" | "approval.approved" | "approval.denied" | "approval.expired";

export interface ApprovalsDeps {
  store: ApprovalStore;
  audit: AuditSink;
  log: Logger;
  /** Told about every request and decision (webhooks). Must not throw. */
  notify?: (event: ApprovalEvent, approval: ApprovalRecord) => void;
  clock?: () => number;
  /** How often expired approvals are swept (and reported); default 5 s. */
  sweepMs?: number;
  /** Most approvals one grant may have pending at once; past it, calls are refused without asking anyone. Default 20. */
  maxPendingPerGrant?: number;
}

export const DEFAULT_MAX_PENDING_PER_GRANT = 20;

export interface CallToApprove {
  grant: string;
  /** The caller's subject (access tokens): an approval is bound to it, so it serves only that person's call. */
  subject?: string;
  server: string;
  tool: string;
  args: unknown;
  policy: string;
  policyVersion: number;
  rule: string;
  requirement: ApprovalRequirement;
}

export type Admission =
  /** An approval for exactly this call was used up by this call. Restore it if the upstream fails. */
  | { kind: "consumed"; approval: ApprovalRecord }
  /** Waiting for a person (just requested, or an identical request already pending). */
  | { kind: "pending"; approval: ApprovalRecord; created: boolean }
  | { kind: "denied"; approval: ApprovalRecord };

export interface Approvals {
  /**
   * Finds or requests the approval for `call`. Throws ToolgateError `rate_limited` (nothing created) when the grant
   * already has `maxPendingPerGrant` approvals pending; its message is meant for the agent.
   */
  admit(call: CallToApprove): Promise<Admission>;
  restore(id: string): Promise<void>;
  /**
   * Waits until approval `id` is decided (on any replica), `until` (epoch ms) passes or `signal` aborts, and
   * returns it as it then is. Decisions made here wake the waiter at once; others are seen within a second.
   */
  waitForDecision(id: string, until: number, signal: AbortSignal): Promise<ApprovalRecord | undefined>;
  decide(id: string, to: "approved" | "denied", by: string, reason: string | null): Promise<ApprovalRecord>;
  get(id: string): Promise<ApprovalRecord | undefined>;
  list(query: ApprovalQuery): Promise<ApprovalRecord[]>;
  sweep(): Promise<void>;
  stop(): void;
}

/** What an approval is bound to: the grant, server, tool, exact arguments and the policy version that asked. */
export function approvalDigest(call: Pick<CallToApprove, "grant" | "subject" | "server" | "tool" | "args" | "policy" | "policyVersion">): string {
  const { grant, subject, server, tool, args, policy, policyVersion } = call;
  return createHash("sha256").update(canonicalJson({ grant, ...(subject !== undefined ? { subject } : {}), server, tool, args: args ?? {}, policy, policyVersion })).digest("hex");
}

/**
 * Human approval of tool calls (docs/approvals.md). A call that needs approval creates a pending approval bound
 * to its digest (or finds the identical pending one); once a person approves, the identical call passes exactly
 * once: `consume` is a compare-and-set, so two concurrent retries cannot both pass.
 */
export function createApprovals(deps: ApprovalsDeps): Approvals {
  const clock = deps.clock ?? Date.now;
  const maxPending = deps.maxPendingPerGrant ?? DEFAULT_MAX_PENDING_PER_GRANT;
  const iso = (ms: number) => new Date(ms).toISOString();
  /** Identical calls in this process are admitted one at a time, so one pending approval is created, not two. */
  const inFlight = new Map<string, Promise<unknown>>();
  /** One grant's new requests are created one at a time in this process, so the cap is exact here. */
  const creating = new Map<string, Promise<unknown>>();
  /** Held requests waiting on an approval id, woken when it is decided in this process. */
  const waiters = new Map<string, Set<() => void>>();
  const timer = setInterval(() => void approvals.sweep(), deps.sweepMs ?? 5000);
  timer.unref();

  function event(kind: ApprovalEvent, a: ApprovalRecord, message: string): void {
    deps.audit.write({
      time: iso(clock()), requestId: randomUUID(), grant: a.grant, server: a.server, method: kind.replace(".", "/"), tool: a.tool, decision: "event",
      rule: "", message, policy: a.policy, policyVersion: a.policyVersion, argumentKeys: argumentKeys(a.arguments), upstreamStatus: null, latencyMs: 0,
    });
    try {
      deps.notify?.(kind, a);
    } catch (err) {
      deps.log.error({ err }, "approval notification failed");
    }
  }

  async function admitOnce(call: CallToApprove, digest: string): Promise<Admission> {
    for (let attempt = 0; attempt < 3; attempt++) {
      const now = iso(clock());
      const live = await deps.store.findLive(digest, now);
      if (!live) break;
      if (live.status === "pending") return { kind: "pending", approval: live, created: false };
      if (live.status === "denied") return { kind: "denied", approval: live };
      if (await deps.store.consume(live.id, now)) return { kind: "consumed", approval: { ...live, status: "consumed", consumedAt: now } };
      // Someone else used it first: look again (it may be gone, or a newer request may exist).
    }
    return serialize(creating, call.grant, () => request(call, digest));
  }

  /** How many approvals `grant` has pending, counting up to `maxPending`. */
  async function pendingOf(grant: string): Promise<number> {
    let live = 0;
    for (let round = 0; round < 2; round++) {
      const now = iso(clock());
      const rows = await deps.store.list({ status: "pending", grant, limit: maxPending });
      live = rows.filter((a) => a.expiresAt > now).length;
      if (live === rows.length || rows.length < maxPending) return live;
      // Expired requests not yet swept hide newer ones from the count: sweep, then count again.
      await approvals.sweep();
    }
    return live;
  }

  async function request(call: CallToApprove, digest: string): Promise<Admission> {
    if ((await pendingOf(call.grant)) >= maxPending) {
      throw new ToolgateError(
        "rate_limited",
        `Grant "${call.grant}" already has ${maxPending} approvals pending, the most it may have, so no approval was requested for this call. ` +
          "Ask an approver to decide the pending ones, or retry once they expire.",
      );
    }
    const created = clock();
    const approval: ApprovalRecord = {
      id: "apr_" + randomBytes(12).toString("base64url"),
      digest,
      grant: call.grant,
      subject: call.subject ?? null,
      server: call.server,
      tool: call.tool,
      arguments: call.args ?? {},
      policy: call.policy,
      policyVersion: call.policyVersion,
      reason: call.requirement.reason,
      status: "pending",
      createdAt: iso(created),
      expiresAt: iso(created + call.requirement.timeoutMs),
      decidedAt: null,
      decidedBy: null,
      decisionReason: null,
      consumedAt: null,
    };
    await deps.store.create(approval);
    event("approval.requested", approval, `${approval.id} requested (${approval.reason}); expires ${approval.expiresAt}`);
    return { kind: "pending", approval, created: true };
  }

  const approvals: Approvals = {
    admit(call) {
      const digest = approvalDigest(call);
      return serialize(inFlight, digest, () => admitOnce(call, digest));
    },

    restore: (id) => deps.store.restore(id),

    async waitForDecision(id, until, signal) {
      for (;;) {
        const current = await deps.store.get(id);
        if (!current || current.status !== "pending" || clock() >= until || signal.aborted) return current;
        await new Promise<void>((resolve) => {
          const set = waiters.get(id) ?? new Set();
          waiters.set(id, set);
          const done = () => {
            clearTimeout(timer);
            signal.removeEventListener("abort", done);
            set.delete(done);
            if (set.size === 0 && waiters.get(id) === set) waiters.delete(id);
            resolve();
          };
          const timer = setTimeout(done, Math.max(0, Math.min(1_000, until - clock())));
          signal.addEventListener("abort", done);
          set.add(done);
        });
      }
    },

    async decide(id, to, by, reason) {
      const current = await deps.store.get(id);
      if (!current) throw new ToolgateError("not_found", `approval "${id}" does not exist`);
      const now = clock();
      if (current.status === "pending" && current.expiresAt <= iso(now)) await approvals.sweep();
      const timeoutMs = Date.parse(current.expiresAt) - Date.parse(current.createdAt);
      if (!(await deps.store.decide(id, to, by, reason, iso(now), iso(now + timeoutMs)))) {
        const latest = (await deps.store.get(id))!;
        throw new ToolgateError("conflict", `approval "${id}" is ${latest.status}${latest.decidedBy ? ` (by ${latest.decidedBy})` : ""}; only a pending approval can be ${to}`);
      }
      const decided = (await deps.store.get(id))!;
      for (const wake of [...(waiters.get(id) ?? [])]) wake();
      event(to === "approved" ? "approval.approved" : "approval.denied", decided, `${id} ${to} by ${by}${reason ? `: ${reason}` : ""}`);
      return decided;
    },

    get: (id) => deps.store.get(id),
    list: (q) => deps.store.list(q),

    async sweep() {
      try {
        for (const a of await deps.store.expireDue(iso(clock()))) event("approval.expired", { ...a, status: "expired" }, `${a.id} expired (${a.status === "pending" ? "nobody answered" : "approved but never used"})`);
      } catch (err) {
        deps.log.error({ err }, "approval sweep failed");
      }
    },

    stop: () => clearInterval(timer),
  };
  return approvals;
}

/** Runs `work` after every earlier piece of work queued under `key` has settled. */
async function serialize<T>(queues: Map<string, Promise<unknown>>, key: string, work: () => Promise<T>): Promise<T> {
  const previous = queues.get(key) ?? Promise.resolve();
  const run = previous.catch(() => {}).then(work);
  queues.set(key, run);
  try {
    return await run;
  } finally {
    if (queues.get(key) === run) queues.delete(key);
  }
}
