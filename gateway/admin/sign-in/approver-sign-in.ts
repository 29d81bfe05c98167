import type { Hono } from "hono";
import type { Logger } from "pino";
import type { Discovery } from "../../identity/discovery.ts";
import type { ConfigStore, IdentityProviderRecord } from "../../store/config-store.ts";
import { createApprovalGate, type ApprovalGate } from "./approval-gate.ts";
import { deciderOf } from "./approver-access.ts";
import { createOidcSignIn, type SignInProvider } from "./oidc-sign-in.ts";
import { createCookieSealer } from "./sealed-cookie.ts";
import { mountSignInRoutes } from "./sign-in-routes.ts";
import { createUiSessions } from "./ui-session.ts";

export interface ApproverSignInDeps {
  store: ConfigStore;
  /** The gateway's secret key: the cookies' key is derived from it, so every replica opens them. */
  secretKey: Buffer;
  /** The admin listener as browsers reach it. */
  adminBase: () => string;
  log: Logger;
  /** Identity providers' metadata, shared with the proxy (default: a cache of its own). */
  discovery?: Discovery;
  clock?: () => number;
}

export interface ApproverSignIn {
  gate: ApprovalGate;
  /** Adds the /ui/auth/* routes (before the admin token check: they are how a person without it signs in). */
  mount(app: Hono, pageHeaders: Record<string, string>): void;
  /** Who asked for an approval, as `provider:subject`; null for a call made with a grant token. */
  requesterOf(approval: { grant: string; subject?: string | null }): Promise<string | null>;
}

const PAGE = 500;

/** Approvers sign in to /ui/ with an identity provider (docs/approvals.md): the pieces, wired to the config store. */
export function createApproverSignIn(deps: ApproverSignInDeps): ApproverSignIn {
  const sessions = createUiSessions({ sealer: createCookieSealer(deps.secretKey), adminBase: deps.adminBase, clock: deps.clock });
  const approversOf = async (server: string) => (await deps.store.getServer(server))?.approvers ?? null;
  const gate = createApprovalGate({ sessions, approversOf });

  /** Identity providers with a client that some server's approvers sign in with, by name. */
  async function providers(): Promise<(SignInProvider & { description: string | null })[]> {
    const named = new Set<string>();
    for (let after: string | undefined; ; ) {
      const servers = await deps.store.listServers(PAGE, after);
      for (const s of servers) if (s.approvers) named.add(s.approvers.identityProvider);
      if (servers.length < PAGE) break;
      after = servers.at(-1)!.name;
    }
    const records = await Promise.all([...named].sort().map((name) => deps.store.getIdentityProvider(name)));
    return records.filter((r): r is IdentityProviderRecord & { clientId: string } => r?.clientId != null).map(signInProvider);
  }

  return {
    gate,
    mount(app, pageHeaders) {
      mountSignInRoutes(app, { providers, sessions, oidc: createOidcSignIn(deps.discovery), adminBase: deps.adminBase, log: deps.log, pageHeaders });
    },
    async requesterOf(approval) {
      if (!approval.subject) return null;
      const provider = (await deps.store.getGrant(approval.grant))?.identity?.identityProvider;
      // The grant is gone: its provider is unknown, so the subject alone is compared (a stricter check).
      return provider ? deciderOf({ provider, subject: approval.subject }) : `*:${approval.subject}`;
    },
  };
}

function signInProvider(r: IdentityProviderRecord & { clientId: string }): SignInProvider & { description: string | null } {
  return {
    name: r.name,
    issuer: r.issuer,
    clientId: r.clientId,
    ...(r.clientSecret ? { clientSecret: r.clientSecret } : {}),
    ...(r.clockSkewSeconds !== null ? { clockSkewSeconds: r.clockSkewSeconds } : {}),
    version: r.version,
    description: r.description,
  };
}
