import type { Approvers, ClaimCondition } from "../../../sdk/index.ts";
import { conditionHolds } from "../../identity/claims.ts";

/** Who is signed in to /ui/: the identity provider, the token's `sub`, and the claims of the ID token and userinfo. */
export interface Approver {
  provider: string;
  subject: string;
  claims: Record<string, unknown>;
}

export type Access = { ok: true } | { ok: false; reason: string };

/** The stable name a signed-in person decides under: `<identity provider>:<sub>` (names and emails change; `sub` does not). */
export const deciderOf = (who: { provider: string; subject: string }) => `${who.provider}:${who.subject}`;

/**
 * May `approver` see and decide the approvals of `server`? Only when the server names approvers, from the identity
 * provider the person signed in with, and every claim condition holds for their claims.
 */
export function approverAccess(approver: Approver, server: string, approvers: Approvers | null | undefined): Access {
  if (!approvers) return { ok: false, reason: `Server "${server}" names no approvers: its approvals are decided with the admin token (CLI or API)` };
  if (approvers.identityProvider !== approver.provider) {
    return { ok: false, reason: `Approvers of server "${server}" sign in with identity provider "${approvers.identityProvider}", not "${approver.provider}"` };
  }
  // The same conditions, evaluated the same way, as a grant's identity (docs/identity.md).
  const failed = approvers.claims.find((c) => !conditionHolds(approver.claims, c));
  return failed ? { ok: false, reason: `You are not an approver of server "${server}": your claims do not satisfy ${describe(failed)}` } : { ok: true };
}

/**
 * Refuses a decision on a call the decider made: `requester` is the approval's requester in the `provider:subject`
 * form, null for calls made with a grant token. The subjects are compared whatever the providers: one person often
 * has the same `sub` at two identity providers fed from one directory (and a grant can change provider after the
 * call), so `partner:erin` may not decide `corp:erin`'s call either; someone else, or the admin token, decides it.
 */
export function selfDecision(decider: string, requester: string | null): Access {
  if (requester === null) return { ok: true };
  const same = decider === requester || (decider.includes(":") && subjectOf(decider) === subjectOf(requester));
  return same ? { ok: false, reason: `You made this call (as ${decider}): someone else must decide it` } : { ok: true };
}

/** The subject of `provider:subject` (provider names hold no colon; a subject may). */
const subjectOf = (who: string) => who.slice(who.indexOf(":") + 1);

const describe = (c: ClaimCondition) => (c.equals !== undefined ? `${c.claim} equals ${JSON.stringify(c.equals)}` : `${c.claim} contains ${JSON.stringify(c.contains)}`);
