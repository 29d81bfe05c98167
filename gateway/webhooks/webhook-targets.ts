import { lookup as dnsLookup } from "node:dns/promises";
import { BlockList, isIPv4, isIPv6 } from "node:net";
import { embeddedIpv4, ipLiteral, nonPublicRange } from "./address-ranges.ts";

export interface ResolvedAddress {
  address: string;
  family: 4 | 6;
}

/** Resolves a host name to every address it has, as the operating system would (hosts file, DNS). */
export type HostLookup = (host: string) => Promise<ResolvedAddress[]>;

const systemLookup: HostLookup = async (host) => (await dnsLookup(host, { all: true, verbatim: true })) as ResolvedAddress[];

/** A webhook target the operator has not allowed. `code` is stable; the message names the address and its range. */
export class WebhookTargetError extends Error {
  readonly code = "TOOLGATE_WEBHOOK_TARGET";
  constructor(message: string) {
    super(message);
    this.name = "WebhookTargetError";
  }
}

const HOST_NAME = /^(?=.{1,253}$)[a-z0-9_](?:[a-z0-9_-]{0,61}[a-z0-9_])?(?:\.[a-z0-9_](?:[a-z0-9_-]{0,61}[a-z0-9_])?)*$/;
/** How long a configuration check waits for DNS before leaving the check to delivery time. */
const RESOLVE_TIMEOUT_MS = 3_000;
const HOW_TO_ALLOW = "webhooks reach only public addresses unless the operator allows the target with --webhook-allow (TOOLGATE_WEBHOOK_ALLOW)";

/**
 * Checks `--webhook-allow` entries: CIDR ranges (`10.20.0.0/16`, `fd00::/8`), single addresses (`127.0.0.1`) and
 * host names (`hooks.internal`, any address it resolves to). Returns one message per bad entry.
 */
export function webhookAllowProblems(entries: readonly string[]): string[] {
  return entries.flatMap((entry) => (parseEntry(entry) ? [] : [`--webhook-allow entries must be a CIDR range, an IP address or a host name, got ${JSON.stringify(entry)}`]));
}

type Entry = { kind: "range"; network: string; bits: number; family: "ipv4" | "ipv6" } | { kind: "host"; name: string };

function parseEntry(entry: string): Entry | undefined {
  const text = entry.trim().toLowerCase();
  const cidr = /^([^/]+)\/(\d{1,3})$/.exec(text);
  const address = ipLiteral(cidr ? cidr[1]! : text);
  if (address) {
    const family = isIPv4(address) ? "ipv4" : "ipv6";
    const bits = cidr ? Number(cidr[2]) : family === "ipv4" ? 32 : 128;
    return bits <= (family === "ipv4" ? 32 : 128) ? { kind: "range", network: address, bits, family } : undefined;
  }
  const name = text.replace(/\.$/, "");
  return !cidr && HOST_NAME.test(name) ? { kind: "host", name } : undefined;
}

export interface WebhookTargets {
  /**
   * The addresses to connect to for `host` (a name or an IP literal), every one of them checked; throws
   * `WebhookTargetError` when any is not public and not allowed. Connect to these, never re-resolve the name.
   */
  resolve(host: string): Promise<ResolvedAddress[]>;
  /**
   * Why the URL's host may not receive webhooks, or undefined when it may. A name that does not resolve now is
   * accepted: every delivery resolves and checks again.
   */
  problem(url: string): Promise<string | undefined>;
}

/**
 * The operator's webhook target rules: public addresses always; others only when `allow` names them (entries as in
 * `webhookAllowProblems`, already checked). A name that resolves to several addresses is refused if any is refused,
 * so a DNS answer cannot mix a private address in.
 */
export function createWebhookTargets(allow: readonly string[], lookup: HostLookup = systemLookup): WebhookTargets {
  const allowed = new BlockList();
  const hosts = new Set<string>();
  for (const entry of allow.map(parseEntry)) {
    if (entry?.kind === "range") allowed.addSubnet(entry.network, entry.bits, entry.family);
    else if (entry?.kind === "host") hosts.add(entry.name);
  }
  const isAllowed = (address: string) => {
    const v4 = embeddedIpv4(address);
    return allowed.check(address, isIPv4(address) ? "ipv4" : "ipv6") || (v4 !== undefined && allowed.check(v4, "ipv4"));
  };
  const refusal = (address: string, host: string) => {
    const range = nonPublicRange(address);
    if (range === undefined || isAllowed(address)) return undefined;
    const where = host === address ? `${address} is` : `host "${host}" resolves to ${address},`;
    return `${where} ${range}; ${HOW_TO_ALLOW}`;
  };

  const targets: WebhookTargets = {
    async resolve(host) {
      const literal = ipLiteral(host);
      const name = host.toLowerCase().replace(/\.$/, "");
      const addresses: ResolvedAddress[] = literal ? [{ address: literal, family: isIPv6(literal) ? 6 : 4 }] : await lookup(name);
      if (addresses.length === 0) throw new WebhookTargetError(`host "${host}" has no address`);
      if (literal === undefined && hosts.has(name)) return addresses;
      for (const a of addresses) {
        const why = refusal(a.address, literal ?? host);
        if (why) throw new WebhookTargetError(why);
      }
      return addresses;
    },
    async problem(url) {
      const host = new URL(url).hostname;
      let timer: NodeJS.Timeout | undefined;
      const slowDns = new Promise<void>((resolve) => (timer = setTimeout(resolve, RESOLVE_TIMEOUT_MS)));
      try {
        await Promise.race([targets.resolve(host), slowDns]);
        return undefined;
      } catch (error) {
        return error instanceof WebhookTargetError ? error.message : undefined;
      } finally {
        clearTimeout(timer);
      }
    },
  };
  return targets;
}
