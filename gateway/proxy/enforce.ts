import { limitDenial, NO_POLICY_DECISION, RULE_NO_POLICY, ToolgateError, type Decision, type Reservation, type RiskCategory } from "../../sdk/index.ts";
import type { ActivePolicy, Caller, CounterStore, GrantIdentity, ReserveResult } from "../contracts.ts";
import type { ApprovalRecord } from "../approvals/approval-store.ts";
import type { Approvals } from "../approvals/approvals.ts";

export type Gate =
  | { allowed: true; reservations: readonly Reservation[]; policy: ActivePolicy; approval?: ApprovalRecord }
  | { allowed: false; decision: Decision; policy: ActivePolicy | undefined; pending?: { approval: ApprovalRecord; shape: "result" | "jsonrpc"; mode: "retry" | "hold" } };

/**
 * Decides one tools/call and takes its counter reservations (all-or-nothing). Fails closed: a missing
 * policy or an unreachable counter store denies the call with a reason that says so.
 */
export async function gateToolCall(
  grant: GrantIdentity,
  server: string,
  policy: ActivePolicy | undefined,
  tool: unknown,
  args: unknown,
  counters: CounterStore,
  now: number,
  /** What the catalog knows of the tool; a tool it has never seen counts as not reviewed (for `pin`). */
  catalog: { category?: RiskCategory; changed: boolean } = { changed: true },
  approvals?: Approvals,
  /** Who calls, for access tokens: `scope: "user"` limits count per subject, approvals record it. */
  caller?: Pick<Caller, "provider" | "subject">,
): Promise<Gate> {
  if (grant.policy === null) return { allowed: false, decision: NO_POLICY_DECISION, policy: undefined };
  if (!policy) {
    return { allowed: false, policy, decision: { effect: "deny", rule: RULE_NO_POLICY, message: `Policy "${grant.policy}" of this grant does not exist, so every call is denied.`, reservations: [] } };
  }
  if (typeof tool !== "string" || tool === "") {
    return { allowed: false, policy, decision: { effect: "deny", rule: "(invalid call)", message: "tools/call needs params.name, the tool to call", reservations: [] } };
  }
  const decision = policy.compiled.decide({ tool, args, grant: grant.name, server, now, ...(caller ? { subject: `${caller.provider}\n${caller.subject}` } : {}), ...(catalog.category ? { category: catalog.category } : {}), changed: catalog.changed });
  if (decision.effect === "deny") return { allowed: false, decision, policy };
  let approval: ApprovalRecord | undefined;
  if (decision.effect === "approval") {
    if (!approvals) return { allowed: false, policy, decision: { effect: "deny", rule: decision.rule, message: "This call needs a person's approval, which this gateway cannot ask for", reservations: [] } };
    // A call over its limits is denied before a person is asked to approve it.
    if (decision.reservations.length > 0) {
      const probe = await counters.reserve(decision.reservations);
      if (!probe.ok) return limitsRefused(probe, decision.reservations, policy);
      await counters.release(decision.reservations).catch(() => {});
    }
    let admission: Awaited<ReturnType<Approvals["admit"]>>;
    try {
      admission = await approvals.admit({ grant: grant.name, ...(caller ? { subject: caller.subject } : {}), server, tool, args, policy: policy.name, policyVersion: policy.version, rule: decision.rule, requirement: decision.approval });
    } catch (error) {
      // Over the grant's cap of pending approvals: nobody is asked, and the agent is told why.
      if (error instanceof ToolgateError && error.code === "rate_limited") return { allowed: false, policy, decision: { effect: "deny", rule: decision.rule, message: error.message, reservations: [] } };
      return { allowed: false, policy, decision: { effect: "deny", rule: decision.rule, message: "This call needs a person's approval, and approvals cannot be checked right now (the store is unreachable), so the call was denied (fail closed).", reservations: [] } };
    }
    if (admission.kind === "pending") {
      const a = admission.approval;
      const message = `${decision.message}. Approval ${a.id} is pending until ${a.expiresAt}. Ask an approver to approve it, then retry exactly the same call (same tool and arguments): it will pass once.`;
      return { allowed: false, policy, decision: { ...decision, message }, pending: { approval: a, shape: decision.approval.error, mode: decision.approval.mode } };
    }
    if (admission.kind === "denied") {
      const a = admission.approval;
      return { allowed: false, policy, decision: { effect: "deny", rule: decision.rule, message: `Approval ${a.id} was denied by ${a.decidedBy}${a.decisionReason ? `: ${a.decisionReason}` : ""}`, reservations: [] } };
    }
    approval = admission.approval;
  }
  if (decision.reservations.length === 0) return { allowed: true, reservations: decision.reservations, policy, ...(approval ? { approval } : {}) };
  const taken = await counters.reserve(decision.reservations);
  if (taken.ok) return { allowed: true, reservations: decision.reservations, policy, ...(approval ? { approval } : {}) };
  // The call did not happen, so its approval can still be used.
  if (approval) await approvals!.restore(approval.id).catch(() => {});
  return limitsRefused(taken, decision.reservations, policy);
}

function limitsRefused(taken: ReserveResult & { ok: false }, reservations: readonly Reservation[], policy: ActivePolicy): Gate {
  if ("full" in taken) return { allowed: false, decision: limitDenial(taken.full), policy };
  return {
    allowed: false,
    policy,
    decision: { effect: "deny", rule: reservations[0]!.rule, message: `Limits cannot be checked right now (${taken.unavailable}), so the call was denied (fail closed).`, reservations: [] },
  };
}
