import type { IncomingMessage } from "node:http";

/**
 * DNS-rebinding protection (MCP Streamable HTTP security requirements). On a loopback listener the Host
 * must be a loopback name; a browser Origin must be a loopback origin or one of `allowedOrigins`.
 * Requests without Origin (non-browser clients) pass the Origin check.
 */
export interface OriginPolicy {
  check(req: IncomingMessage): string | undefined;
}

/** localhost, ::1 and any 127.0.0.0/8 address: names a DNS-rebinding attacker cannot point at us. */
function isLoopbackHost(name: string): boolean {
  return name === "localhost" || name === "[::1]" || name === "::1" || /^127\.\d{1,3}\.\d{1,3}\.\d{1,3}$/.test(name);
}

export function createOriginPolicy(allowedOrigins: readonly string[]): OriginPolicy {
  const origins = new Set(allowedOrigins.map(normalizeOrigin).filter((o): o is string => o !== undefined));
  const hosts = new Set([...origins].map((o) => new URL(o).host.toLowerCase()));
  return {
    check(req) {
      const loopbackListener = isLoopback(req.socket.localAddress);
      const host = (req.headers.host ?? "").toLowerCase();
      if (loopbackListener && !isLoopbackHost(hostname(host)) && !hosts.has(host)) {
        return `Host "${host}" is not allowed on a loopback listener (DNS rebinding protection)`;
      }
      const origin = req.headers.origin;
      if (origin === undefined) return undefined;
      const normal = normalizeOrigin(origin);
      if (normal === undefined) return `Origin "${origin}" is not a valid origin`;
      if (origins.has(normal)) return undefined;
      if (loopbackListener && isLoopbackHost(new URL(normal).hostname.toLowerCase())) return undefined;
      return `Origin "${origin}" is not allowed (configure --allowed-origin)`;
    },
  };
}

function normalizeOrigin(origin: string): string | undefined {
  try {
    const url = new URL(origin);
    if (url.protocol !== "http:" && url.protocol !== "https:") return undefined;
    return url.origin.toLowerCase();
  } catch {
    return undefined;
  }
}

function hostname(host: string): string {
  if (host.startsWith("[")) return host.slice(0, host.indexOf("]") + 1);
  const colon = host.lastIndexOf(":");
  return colon === -1 ? host : host.slice(0, colon);
}

function isLoopback(address: string | undefined): boolean {
  return !!address && (address.startsWith("127.") || address === "::1" || address === "::ffff:127.0.0.1");
}
