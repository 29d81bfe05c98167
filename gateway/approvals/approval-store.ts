/** One request for a person to approve one exact tool call. Arguments are kept for approvers (sealed at rest). */
export interface ApprovalRecord {
  id: string;
  /** sha256 of grant, server, tool, canonical arguments and policy version: what an approval is bound to. */
  digest: string;
  grant: string;
  server: string;
  tool: string;
  arguments: unknown;
  policy: string;
  policyVersion: number;
  /** Why approval is needed (the condition that held). */
  reason: string;
  status: ApprovalStatus;
  createdAt: string;
  /** A pending request expires unanswered at this time; an approved one must be used before it. */
  expiresAt: string;
  decidedAt: string | null;
  decidedBy: string | null;
  decisionReason: string | null;
  consumedAt: string | null;
}

export const APPROVAL_STATUSES = ["pending", "approved", "denied", "consumed", "expired"] as const;
export type ApprovalStatus = (typeof APPROVAL_STATUSES)[number];

export interface ApprovalQuery {
  status?: ApprovalStatus;
  server?: string;
  tool?: string;
  /** Ids after this one in creation order (cursor pagination). */
  after?: string;
  limit: number;
}

/** Where approvals live. Every state change is a compare-and-set, so concurrent gateways agree. */
export interface ApprovalStore {
  create(record: ApprovalRecord): Promise<void>;
  get(id: string): Promise<ApprovalRecord | undefined>;
  /** The newest approval for `digest` that is still pending, approved or denied and not expired at `now`. */
  findLive(digest: string, now: string): Promise<ApprovalRecord | undefined>;
  list(query: ApprovalQuery): Promise<ApprovalRecord[]>;
  /** pending → approved|denied, if still pending and not expired. An approval gets a fresh `expiresAt`. */
  decide(id: string, to: "approved" | "denied", by: string, reason: string | null, at: string, expiresAt: string): Promise<boolean>;
  /** approved → consumed, atomically; false if someone else consumed it first or it expired. */
  consume(id: string, at: string): Promise<boolean>;
  /** consumed → approved: the upstream failed, so the approval can be used again. */
  restore(id: string): Promise<void>;
  /** pending|approved past `expiresAt` → expired; returns what expired. */
  expireDue(now: string): Promise<ApprovalRecord[]>;
}
