import { BlockList, isIPv4, isIPv6 } from "node:net";

/**
 * Address ranges a webhook must not reach unless the operator allows them: everything the IANA special-purpose
 * registries mark as not globally reachable (loopback, private, link-local including cloud metadata at
 * 169.254.169.254, carrier-grade NAT, multicast, reserved, documentation…). An IPv6 address that carries an IPv4
 * address (IPv4-mapped `::ffff:a.b.c.d`, NAT64 `64:ff9b::a.b.c.d`) is judged by the IPv4 address it reaches.
 */
const RANGES: readonly (readonly [kind: string, cidr: string])[] = [
  ["a \"this network\"", "0.0.0.0/8"],
  ["a private", "10.0.0.0/8"],
  ["a carrier-grade NAT", "100.64.0.0/10"],
  ["a loopback", "127.0.0.0/8"],
  ["a link-local", "169.254.0.0/16"],
  ["a private", "172.16.0.0/12"],
  ["an IETF protocol", "192.0.0.0/24"],
  ["a documentation", "192.0.2.0/24"],
  ["a 6to4 relay", "192.88.99.0/24"],
  ["a private", "192.168.0.0/16"],
  ["a benchmarking", "198.18.0.0/15"],
  ["a documentation", "198.51.100.0/24"],
  ["a documentation", "203.0.113.0/24"],
  ["a multicast", "224.0.0.0/4"],
  ["a reserved", "240.0.0.0/4"],
  ["an unspecified", "::/128"],
  ["a loopback", "::1/128"],
  ["an IPv4-compatible", "::/96"],
  ["a discard-only", "100::/64"],
  ["a local-use NAT64", "64:ff9b:1::/48"],
  ["an IETF protocol (including Teredo)", "2001::/23"],
  ["a documentation", "2001:db8::/32"],
  ["a 6to4", "2002::/16"],
  ["a documentation", "3fff::/20"],
  ["an SRv6", "5f00::/16"],
  ["a unique local (private)", "fc00::/7"],
  ["a link-local", "fe80::/10"],
  ["a site-local", "fec0::/10"],
  ["a multicast", "ff00::/8"],
];

const RULES = RANGES.map(([kind, cidr]) => {
  const [network, bits] = cidr.split("/") as [string, string];
  const family = isIPv4(network) ? "ipv4" : "ipv6";
  const list = new BlockList();
  list.addSubnet(network, Number(bits), family);
  return { kind, cidr, family, list };
});

/** A literal address, without brackets or a zone (`fe80::1%eth0`), or undefined when `host` is not an IP address. */
export function ipLiteral(host: string): string | undefined {
  const bare = host.startsWith("[") && host.endsWith("]") ? host.slice(1, -1) : host;
  const unzoned = bare.replace(/%.*$/, "");
  return isIPv4(unzoned) || isIPv6(unzoned) ? unzoned : undefined;
}

/** The IPv4 address an IPv6 address delivers to (IPv4-mapped or NAT64 well-known prefix), if any. */
export function embeddedIpv4(address: string): string | undefined {
  if (!isIPv6(address)) return undefined;
  const words = ipv6Words(address);
  const mapped = words.slice(0, 5).every((w) => w === 0) && words[5] === 0xffff;
  const nat64 = words[0] === 0x64 && words[1] === 0xff9b && words.slice(2, 6).every((w) => w === 0);
  if (!mapped && !nat64) return undefined;
  return [words[6]! >> 8, words[6]! & 0xff, words[7]! >> 8, words[7]! & 0xff].join(".");
}

/**
 * What kind of not-public address `address` is, with its range, e.g. `a loopback address (127.0.0.0/8)`; undefined
 * for a globally reachable address.
 */
export function nonPublicRange(address: string): string | undefined {
  const target = embeddedIpv4(address) ?? address;
  const family = isIPv4(target) ? "ipv4" : "ipv6";
  for (const rule of RULES) {
    if (rule.family === family && rule.list.check(target, family)) return `${rule.kind} address (${rule.cidr})`;
  }
  return undefined;
}

/** The eight 16-bit words of an IPv6 address (`::`, an IPv4 tail and a zone are allowed). */
function ipv6Words(address: string): number[] {
  let text = address.replace(/%.*$/, "");
  const v4 = /(\d+)\.(\d+)\.(\d+)\.(\d+)$/.exec(text);
  if (v4) {
    const [a, b, c, d] = v4.slice(1).map(Number) as [number, number, number, number];
    text = text.slice(0, v4.index) + `${((a << 8) | b).toString(16)}:${((c << 8) | d).toString(16)}`;
  }
  const [head, tail] = text.includes("::") ? (text.split("::") as [string, string]) : [text, undefined];
  const parse = (part: string) => (part === "" ? [] : part.split(":").map((w) => parseInt(w, 16)));
  const left = parse(head);
  if (tail === undefined) return left;
  const right = parse(tail);
  return [...left, ...Array<number>(8 - left.length - right.length).fill(0), ...right];
}
