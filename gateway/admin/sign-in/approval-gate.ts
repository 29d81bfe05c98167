import type { Context } from "hono";
import type { Approvers } from "../../../sdk/index.ts";
import { ApiProblem } from "../problem.ts";
import { approverAccess, selfDecision } from "./approver-access.ts";
import type { UiSession, UiSessions } from "./ui-session.ts";

export interface ApprovalGateDeps {
  sessions: UiSessions;
  /** The `approvers` of a server (undefined when it names none or does not exist). */
  approversOf(server: string): Promise<Approvers | null | undefined>;
}

/** The routes a signed-in approver may use with their session cookie; everything else needs the admin token. */
const APPROVAL_ROUTES = /^\/v1\/approvals(?:\/[^/]+(?:\/(?:approve|deny))?)?$/;

/** What a request to the approvals routes needs: who is deciding, checked against the approval it is about. */
export interface ApprovalGate {
  /**
   * The signed-in approver of a request without an Authorization header to an approvals route; a change must also
   * pass the CSRF check (403 otherwise). Undefined: the request goes the admin token's way.
   */
  signedIn(c: Context): UiSession | undefined;
  approverOf(c: Context): UiSession | undefined;
  /** Throws 403 with the reason unless `approver` may see the approvals of `server`. */
  mustSee(approver: UiSession, server: string): Promise<void>;
  /** Throws 403 unless `decider` may decide an approval requested by `requester` (`provider:subject`, null for token grants). */
  mustNotBeRequester(decider: string, requester: string | null): void;
  /**
   * A page of the approvals `approver` may see: reads `list` page by page (its `after` cursor is an approval id) and
   * leaves out approvals of servers they are no approver of, until `limit` rows are found or the list ends.
   */
  listVisible<R extends { id: string; server: string }>(approver: UiSession, list: (after: string | undefined) => Promise<R[]>, after: string | undefined, limit: number): Promise<R[]>;
}

export function createApprovalGate(deps: ApprovalGateDeps): ApprovalGate {
  const approvers = new WeakMap<Request, UiSession>();
  return {
    signedIn(c) {
      if (c.req.header("authorization") !== undefined || !APPROVAL_ROUTES.test(c.req.path)) return undefined;
      const session = deps.sessions.current(c);
      if (!session) return undefined;
      if (c.req.method !== "GET" && c.req.method !== "HEAD") {
        const refused = deps.sessions.csrfProblem(c, session);
        if (refused) throw new ApiProblem(403, "forbidden", `Refused: ${refused}`);
      }
      approvers.set(c.req.raw, session);
      return session;
    },
    approverOf: (c) => approvers.get(c.req.raw),
    async mustSee(approver, server) {
      const access = approverAccess(approver, server, await deps.approversOf(server));
      if (!access.ok) throw new ApiProblem(403, "forbidden", access.reason);
    },
    mustNotBeRequester(decider, requester) {
      const self = selfDecision(decider, requester);
      if (!self.ok) throw new ApiProblem(403, "forbidden", self.reason);
    },
    async listVisible(approver, list, after, limit) {
      const verdicts = new Map<string, boolean>();
      const visible = async (server: string) => {
        if (!verdicts.has(server)) verdicts.set(server, approverAccess(approver, server, await deps.approversOf(server)).ok);
        return verdicts.get(server)!;
      };
      const found: Awaited<ReturnType<typeof list>> = [];
      for (let cursor = after; ; ) {
        const rows = await list(cursor);
        for (const row of rows) {
          if (!(await visible(row.server))) continue;
          found.push(row);
          if (found.length === limit) return found;
        }
        if (rows.length === 0) return found;
        cursor = rows.at(-1)!.id;
      }
    },
  };
}
