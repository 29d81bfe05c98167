// The same server, policy and grant on two gateways, each through its own explicit provider. The endpoints and
// admin tokens come from this program's config (`pulumi config set --secret primaryToken ...`), so neither
// gateway depends on TOOLGATE_ENDPOINT / TOOLGATE_TOKEN: explicit provider config always wins over them.
import * as pulumi from "@pulumi/pulumi";
import { Grant, McpServer, Policy, Provider } from "toolgate/native";

const config = new pulumi.Config();
const gateways = {
  primary: new Provider("primary", { endpoint: config.require("primaryEndpoint"), token: config.requireSecret("primaryToken") }),
  edge: new Provider("edge", { endpoint: config.require("edgeEndpoint"), token: config.requireSecret("edgeToken") }),
};
const document = Policy.fromFile("policies/agent.yaml");

const urls: Record<string, pulumi.Output<string>> = {};
const tokens: Record<string, pulumi.Output<string | undefined>> = {};
for (const [site, provider] of Object.entries(gateways)) {
  // Gateway names are the same on both sites ("upstream", "agent"); the logical names differ per site.
  const server = new McpServer(`${site}-upstream`, { name: "upstream", transport: { type: "streamable-http", url: config.require("upstreamUrl") } }, { provider });
  const policy = new Policy(`${site}-agent`, { name: "agent", document }, { provider });
  const grant = new Grant(`${site}-agent`, { name: "agent", server, policy }, { provider });
  urls[site] = grant.url;
  tokens[site] = grant.token;
}

// Deny-all policies that were made by hand on the primary gateway, brought under this stack by the `import`
// option: `pulumi config set --path 'legacyPolicies[0]' legacy`, then `pulumi up` imports "legacy" (the option stays
// harmless once the policy is in the stack). A policy imported with `pulumi import toolgate:index:Policy <name>
// <name> --provider primary=<provider URN>` is declared here the same way.
for (const name of config.getObject<string[]>("legacyPolicies") ?? []) {
  new Policy(name, { name, document: { version: "1", default: "deny" } }, { provider: gateways.primary, import: name });
}

export const mcpUrls = urls;
export const agentTokens = pulumi.secret(tokens);
