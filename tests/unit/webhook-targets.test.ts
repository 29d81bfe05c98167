import { test } from "node:test";
import assert from "node:assert/strict";
import { createWebhookTargets, webhookAllowProblems, type HostLookup } from "../../gateway/webhooks/webhook-targets.ts";

const ALLOW_HINT = "webhooks reach only public addresses unless the operator allows the target with --webhook-allow (TOOLGATE_WEBHOOK_ALLOW)";
const noDns: HostLookup = async (host) => {
  throw Object.assign(new Error(`getaddrinfo ENOTFOUND ${host}`), { code: "ENOTFOUND" });
};
const dns = (answers: Record<string, string[]>): HostLookup => async (host) => {
  const found = answers[host];
  if (!found) return noDns(host);
  return found.map((address) => ({ address, family: address.includes(":") ? 6 : 4 }));
};

test("loopback, private, link-local and other non-public literals are refused, whatever their spelling", async () => {
  const targets = createWebhookTargets([], noDns);
  const cases: [url: string, problem: string][] = [
    ["http://127.0.0.1:9000/hook", "127.0.0.1 is a loopback address (127.0.0.0/8)"],
    ["http://2130706433/", "127.0.0.1 is a loopback address (127.0.0.0/8)"],
    ["http://0x7f.1/", "127.0.0.1 is a loopback address (127.0.0.0/8)"],
    ["http://0177.0.0.1/", "127.0.0.1 is a loopback address (127.0.0.0/8)"],
    ["http://[::1]/", "::1 is a loopback address (::1/128)"],
    ["http://[::ffff:127.0.0.1]/", "::ffff:7f00:1 is a loopback address (127.0.0.0/8)"],
    ["http://[::ffff:a9fe:a9fe]/", "::ffff:a9fe:a9fe is a link-local address (169.254.0.0/16)"],
    ["http://[64:ff9b::169.254.169.254]/", "64:ff9b::a9fe:a9fe is a link-local address (169.254.0.0/16)"],
    ["http://169.254.169.254/latest/meta-data/", "169.254.169.254 is a link-local address (169.254.0.0/16)"],
    ["http://0/", "0.0.0.0 is a \"this network\" address (0.0.0.0/8)"],
    ["http://10.1.2.3/", "10.1.2.3 is a private address (10.0.0.0/8)"],
    ["http://172.31.255.254/", "172.31.255.254 is a private address (172.16.0.0/12)"],
    ["http://192.168.1.10/", "192.168.1.10 is a private address (192.168.0.0/16)"],
    ["http://100.100.100.200/", "100.100.100.200 is a carrier-grade NAT address (100.64.0.0/10)"],
    ["http://[fe80::1]/", "fe80::1 is a link-local address (fe80::/10)"],
    ["http://[fd12:3456::1]/", "fd12:3456::1 is a unique local (private) address (fc00::/7)"],
    ["http://[::]/", ":: is an unspecified address (::/128)"],
    ["http://224.0.0.1/", "224.0.0.1 is a multicast address (224.0.0.0/4)"],
    ["http://255.255.255.255/", "255.255.255.255 is a reserved address (240.0.0.0/4)"],
  ];
  for (const [url, problem] of cases) assert.equal(await targets.problem(url), `${problem}; ${ALLOW_HINT}`, url);
});

test("public addresses are accepted, including IPv4 reached through NAT64", async () => {
  const targets = createWebhookTargets([], noDns);
  for (const url of ["http://172.32.0.1/", "https://8.8.8.8/", "http://100.128.0.1/", "http://[2606:4700::1111]/", "http://[64:ff9b::8.8.8.8]/", "http://[::ffff:8.8.8.8]/"]) {
    assert.equal(await targets.problem(url), undefined, url);
  }
});

test("a name is judged by every address it resolves to; one private answer is enough to refuse it", async () => {
  const targets = createWebhookTargets([], dns({ localhost: ["127.0.0.1", "::1"], "mixed.example": ["93.184.215.14", "10.0.0.7"], "hooks.example": ["93.184.215.14"] }));
  assert.equal(await targets.problem("http://localhost:8080/"), `host "localhost" resolves to 127.0.0.1, a loopback address (127.0.0.0/8); ${ALLOW_HINT}`);
  assert.equal(await targets.problem("https://mixed.example/"), `host "mixed.example" resolves to 10.0.0.7, a private address (10.0.0.0/8); ${ALLOW_HINT}`);
  assert.equal(await targets.problem("https://hooks.example/"), undefined);
  assert.equal(await targets.problem("https://not-yet.example/"), undefined, "a name that does not resolve now is checked at delivery");
  await assert.rejects(targets.resolve("localhost"), { name: "WebhookTargetError", code: "TOOLGATE_WEBHOOK_TARGET" });
});

test("the operator's allow-list admits ranges, single addresses (also IPv4-mapped) and host names", async () => {
  const targets = createWebhookTargets(["127.0.0.1", "10.20.0.0/16", "fd00::/8", "Hooks.Internal."], dns({ "hooks.internal": ["192.168.7.7"], "other.internal": ["192.168.7.7"] }));
  assert.equal(await targets.problem("http://127.0.0.1:8080/"), undefined);
  assert.equal(await targets.problem("http://[::ffff:127.0.0.1]/"), undefined);
  assert.equal(await targets.problem("http://127.0.0.2/"), `127.0.0.2 is a loopback address (127.0.0.0/8); ${ALLOW_HINT}`);
  assert.equal(await targets.problem("http://10.20.255.1/"), undefined);
  assert.equal(await targets.problem("http://10.21.0.1/"), `10.21.0.1 is a private address (10.0.0.0/8); ${ALLOW_HINT}`);
  assert.equal(await targets.problem("http://[fd00::5]/"), undefined);
  assert.equal(await targets.problem("http://hooks.internal/"), undefined);
  assert.equal(await targets.problem("http://other.internal/"), `host "other.internal" resolves to 192.168.7.7, a private address (192.168.0.0/16); ${ALLOW_HINT}`);
  assert.deepEqual(await targets.resolve("hooks.internal"), [{ address: "192.168.7.7", family: 4 }]);
});

test("allow-list entries are checked", () => {
  assert.deepEqual(webhookAllowProblems(["10.0.0.0/8", "::1", "hooks.internal", "fd00::/8"]), []);
  assert.deepEqual(webhookAllowProblems(["10.0.0.0/33", "hooks internal", "*", "example.com/24", ""]), [
    '--webhook-allow entries must be a CIDR range, an IP address or a host name, got "10.0.0.0/33"',
    '--webhook-allow entries must be a CIDR range, an IP address or a host name, got "hooks internal"',
    '--webhook-allow entries must be a CIDR range, an IP address or a host name, got "*"',
    '--webhook-allow entries must be a CIDR range, an IP address or a host name, got "example.com/24"',
    '--webhook-allow entries must be a CIDR range, an IP address or a host name, got ""',
  ]);
});
