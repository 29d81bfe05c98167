import { randomUUID } from "node:crypto";
import type { ServerResponse } from "node:http";
import { printable } from "../../sdk/index.ts";
import type { Approvals } from "../approvals/approvals.ts";
import type { Caller, GrantIdentity, ServerTarget } from "../contracts.ts";
import type { UpstreamAuthorization } from "../identity/upstream-authorization.ts";
import type { ProxyDeps } from "./create-proxy.ts";
import { currentGrant } from "./authenticate.ts";
import { gateToolCall, type Gate } from "./enforce.ts";
import { holdAnswer } from "./held-answer.ts";
import { holdForDecision } from "./hold.ts";
import { approvalRequiredMessage, argumentKeys, denialMessage, isFailedCall } from "./jsonrpc.ts";
import type { Exchange, PostOutcome, Upstream } from "./upstream.ts";

export type ToolCallDeps = Pick<ProxyDeps, "view" | "counters" | "audit" | "metrics" | "log" | "catalog"> & {
  approvals: Approvals | undefined;
  holdProgressMs: number;
  clock: () => number;
  /** The upstream's Authorization for the caller, asked again when a held call is forwarded (a token exchanged then). */
  upstreamAuthorization?: (target: ServerTarget, caller: Caller | undefined) => Promise<UpstreamAuthorization>;
};

/**
 * One tools/call: gate (policy, limits, approval; a held call is decided again when the approval arrives),
 * forward exactly the decided message, then settle the accounting. Once the request was written upstream its
 * limit slots and approval are spent; only a call that provably did not run gives them back.
 */
export async function relayToolCall(deps: ToolCallDeps, x: Exchange, grant: GrantIdentity, target: ServerTarget, upstream: Upstream, started: number, interrupt: AbortSignal, caller?: Caller): Promise<void> {
  const params = x.message.params!;
  const tool = params.name as string;
  const args = params.arguments;
  const decide = (who: GrantIdentity) => {
    const policy = who.policy === null ? undefined : deps.view.policy(who.policy);
    return gateToolCall(who, target.name, policy, tool, args, deps.counters, deps.clock(), deps.catalog.lookup(target.name, tool), deps.approvals, caller);
  };
  let gate: Gate = await decide(grant);
  let writer: ServerResponse = x.res;
  let wasHeld = false;
  while (!gate.allowed && gate.pending?.mode === "hold") {
    wasHeld = true;
    const held = await holdForDecision(deps.approvals!, x.req, x.res, x.message, gate.pending.approval, deps.holdProgressMs, interrupt);
    if (held.writer) writer = held.writer;
    if (held.interrupted === "gone") return; // The agent went away; the approval stays for a retry.
    if (held.interrupted) {
      gate = { allowed: false, policy: gate.policy, decision: { effect: "deny", rule: gate.decision.rule, message: `The call was not run: ${held.interrupted}. Approval ${gate.pending.approval.id} stays as it is.`, reservations: [] } };
      break;
    }
    if (held.approval && (held.approval.status === "pending" || held.approval.status === "expired")) {
      const a = held.approval;
      gate = { allowed: false, policy: gate.policy, decision: { effect: "deny", rule: gate.decision.rule, message: `Approval ${a.id} expired at ${a.expiresAt}: nobody decided in time`, reservations: [] } };
      break;
    }
    // Decided: the grant and the policy are read again, so a revocation or a policy edit made meanwhile wins.
    const now = currentGrant(deps.view, x.tokenHash, grant.name, deps.clock());
    if (!now) {
      gate = { allowed: false, policy: gate.policy, decision: { effect: "deny", rule: gate.decision.rule, message: `Grant "${grant.name}" was revoked, rotated or expired while the call waited for approval, so it was not run`, reservations: [] } };
      break;
    }
    if (caller?.expiresAt !== undefined && caller.expiresAt <= deps.clock()) {
      gate = { allowed: false, policy: gate.policy, decision: { effect: "deny", rule: gate.decision.rule, message: `The caller's access token expired at ${new Date(caller.expiresAt).toISOString()} while the call waited for approval, so it was not run; call again with a fresh token (approval ${gate.pending.approval.id} stays as it is)`, reservations: [] } };
      break;
    }
    gate = await decide(now);
  }
  let authorization = x.authorization;
  if (wasHeld && gate.allowed && deps.upstreamAuthorization) {
    // The token exchanged when the call arrived may have expired during the hold: the cache gives one still valid, or a new one.
    const upstreamAuth = await deps.upstreamAuthorization(target, caller);
    if (upstreamAuth.ok) authorization = upstreamAuth.authorization;
    else {
      await refund(deps, gate, target.name);
      gate = { allowed: false, policy: gate.policy, decision: { effect: "deny", rule: "token_exchange", message: `The call was approved but not run: ${upstreamAuth.message}`, reservations: [] } };
    }
  }
  const audit = (decision: "allow" | "deny", rule: string, text: string, upstreamStatus: number | null) =>
    deps.audit.write({
      time: new Date(started).toISOString(),
      requestId: randomUUID(),
      grant: grant.name,
      subject: caller?.subject ?? null,
      server: target.name,
      method: "tools/call",
      tool,
      decision,
      rule,
      message: text,
      policy: gate.policy?.name ?? grant.policy,
      policyVersion: gate.policy?.version ?? null,
      argumentKeys: argumentKeys(args),
      upstreamStatus,
      latencyMs: deps.clock() - started,
    });
  if (!gate.allowed) {
    const pending = gate.pending?.approval;
    const out = pending
      ? approvalRequiredMessage(x.id, gate.decision.message, gate.pending!.shape, { approvalId: pending.id, status: pending.status, expiresAt: pending.expiresAt }, x.era)
      : denialMessage(x.id, gate.decision.message, x.era);
    if (!writer.writableEnded && !writer.destroyed) writer.writeHead(200, { "content-type": "application/json", "content-length": Buffer.byteLength(out) }).end(out);
    deps.metrics.decision("deny", gate.decision.rule, target.name);
    audit("deny", gate.decision.rule, gate.decision.message, null);
    return;
  }
  deps.metrics.decision("allow", "", target.name);
  // A call that holds something it may give back (slots, an approval) has its answer wait for the refund, so an
  // agent that retries at once finds them back; a call that holds nothing is answered as it comes.
  const releaseAnswer = gate.reservations.length > 0 || gate.approval ? holdAnswer(writer) : undefined;
  let outcome: PostOutcome;
  try {
    outcome = await upstream.post({ ...x, res: writer, ...(authorization !== undefined ? { authorization } : {}) });
    if (gaveNoEffect(outcome)) await refund(deps, gate, target.name);
  } finally {
    releaseAnswer?.();
  }
  const approved = gate.approval ? `approved call (${gate.approval.id}, by ${printable(gate.approval.decidedBy ?? "")})` : "";
  audit("allow", "", outcome.failure ? `${approved ? `${approved}; ` : ""}upstream ${outcome.failure}` : approved, outcome.status);
}

/** Did the call provably not run: never written upstream, or answered with a failure by the upstream itself? */
function gaveNoEffect(outcome: PostOutcome): boolean {
  if (!outcome.written) return true;
  return outcome.response !== undefined && isFailedCall(outcome.response);
}

async function refund(deps: ToolCallDeps, gate: Gate & { allowed: true }, server: string): Promise<void> {
  if (gate.reservations.length > 0) {
    // A release that cannot reach the counter store leaves the slot taken: stricter, never looser.
    await deps.counters.release(gate.reservations).catch((err: unknown) => deps.log.warn({ err: { message: (err as Error).message }, server }, "could not give back a limit slot"));
  }
  if (gate.approval) await deps.approvals!.restore(gate.approval.id).catch((err: unknown) => deps.log.warn({ err: { message: (err as Error).message }, approval: gate.approval!.id }, "could not make an approval usable again"));
}
