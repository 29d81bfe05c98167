import { createHash, timingSafeEqual } from "node:crypto";

/**
 * Admin tokens are compared in constant time (SHA-256 digests of equal length). The read-only token, when
 * configured, may only read (GET/HEAD): for CI jobs that run `pulumi preview --refresh`.
 */
export type Access = "admin" | "read-only" | undefined;

const digest = (s: string) => createHash("sha256").update(s).digest();

export function createTokenCheck(adminToken: string, readOnlyToken?: string): (authorization: string | undefined) => Access {
  const admin = digest(adminToken);
  const readOnly = readOnlyToken ? digest(readOnlyToken) : undefined;
  return (authorization) => {
    const match = authorization ? /^Bearer\s+(\S+)\s*$/i.exec(authorization) : null;
    if (!match) return undefined;
    const given = digest(match[1]!);
    if (timingSafeEqual(given, admin)) return "admin";
    if (readOnly && timingSafeEqual(given, readOnly)) return "read-only";
    return undefined;
  };
}
