import type { ApprovalRecord, ApprovalStatus } from "../approvals/approval-store.ts";
import type { Sealer } from "./seal.ts";

/** Row ⇄ record mapping shared by the SQLite and PostgreSQL approval stores (arguments are sealed at rest). */
export const APPROVAL_COLUMNS = "id, digest, grant_name, server, tool, arguments, policy, policy_version, reason, status, created_at, expires_at, decided_at, decided_by, decision_reason, consumed_at, subject";

export function approvalValues(a: ApprovalRecord, sealer: Sealer): (string | number | null)[] {
  return [a.id, a.digest, a.grant, a.server, a.tool, sealer.seal(JSON.stringify(a.arguments ?? {})), a.policy, a.policyVersion, a.reason, a.status, a.createdAt, a.expiresAt, a.decidedAt, a.decidedBy, a.decisionReason, a.consumedAt, a.subject ?? null];
}

export function approvalFromRow(r: Record<string, unknown>, sealer: Sealer): ApprovalRecord {
  return {
    id: r.id as string,
    digest: r.digest as string,
    grant: r.grant_name as string,
    subject: (r.subject as string | null) ?? null,
    server: r.server as string,
    tool: r.tool as string,
    arguments: JSON.parse(sealer.open(r.arguments as string)) as unknown,
    policy: r.policy as string,
    policyVersion: Number(r.policy_version),
    reason: r.reason as string,
    status: r.status as ApprovalStatus,
    createdAt: r.created_at as string,
    expiresAt: r.expires_at as string,
    decidedAt: (r.decided_at as string | null) ?? null,
    decidedBy: (r.decided_by as string | null) ?? null,
    decisionReason: (r.decision_reason as string | null) ?? null,
    consumedAt: (r.consumed_at as string | null) ?? null,
  };
}
