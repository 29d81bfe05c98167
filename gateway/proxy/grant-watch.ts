import type { RuntimeView } from "../contracts.ts";
import { currentGrant } from "./authenticate.ts";

/** Something open on behalf of a grant: a response stream, a held call, a stdio session. */
export interface GrantBound {
  grant: string;
  tokenHash: string;
  /** Ends it because its grant was revoked, rotated or expired. */
  close(why: string): void;
}

/**
 * Keeps what grants hold open and closes it once its grant is revoked, rotated or expired (checked against
 * the runtime view every `everyMs`, so a change made on any replica applies here within that time).
 */
export interface GrantWatch {
  hold(bound: GrantBound): () => void;
  stop(): void;
}

export function createGrantWatch(view: RuntimeView, clock: () => number, everyMs = 500): GrantWatch {
  const open = new Set<GrantBound>();
  const timer = setInterval(() => {
    const now = clock();
    for (const b of open) {
      if (currentGrant(view, b.tokenHash, b.grant, now)) continue;
      open.delete(b);
      b.close(`grant "${b.grant}" was revoked, rotated or expired`);
    }
  }, everyMs);
  timer.unref();
  return {
    hold(bound) {
      open.add(bound);
      return () => open.delete(bound);
    },
    stop: () => clearInterval(timer),
  };
}
