/** A request for a person to approve one exact tool call, as the admin API shows it (`/v1/approvals`). */
export interface ApprovalObject {
  id: string;
  status: "pending" | "approved" | "denied" | "consumed" | "expired";
  grant: string;
  /** The subject of the caller whose call this is (access tokens); null or absent for grant tokens. */
  subject?: string | null;
  server: string;
  tool: string;
  /** The call's arguments, for the approver. They never appear in the audit log. */
  arguments: unknown;
  /** Why approval is needed: the condition that held, or "every call". */
  reason: string;
  policy: string;
  policyVersion: number;
  createdAt: string;
  /** Pending: answered by then or expired. Approved: used by then or expired. */
  expiresAt: string;
  decidedAt: string | null;
  decidedBy: string | null;
  decisionReason: string | null;
  consumedAt: string | null;
}

export interface ApprovalList {
  items: ApprovalObject[];
  nextCursor: string | null;
}
