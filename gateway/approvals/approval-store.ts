import type { ApprovalObject } from "../../sdk/index.ts";

/** One request for a person to approve one exact tool call (arguments sealed at rest), as stored. */
export interface ApprovalRecord extends ApprovalObject {
  /** sha256 of grant, server, tool, canonical arguments and policy version: what the approval is bound to. */
  digest: string;
}

export const APPROVAL_STATUSES = ["pending", "approved", "denied", "consumed", "expired"] as const;
export type ApprovalStatus = ApprovalObject["status"];

export interface ApprovalQuery {
  status?: ApprovalStatus;
  grant?: string;
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
