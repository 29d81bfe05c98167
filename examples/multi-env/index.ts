// One program for every environment. The stack (dev, staging, prod) picks the gateway endpoint
// (toolgate:endpoint in Pulumi.<stack>.yaml) and the limits profile; the policy files are shared.
import * as pulumi from "@pulumi/pulumi";
import { Grant, McpServer, Policy } from "toolgate";
import type { PolicyDocumentInput } from "toolgate/sdk";

const config = new pulumi.Config();
const profile = config.get("limitsProfile") ?? "relaxed";
if (profile !== "relaxed" && profile !== "strict") throw new Error(`limitsProfile must be "relaxed" or "strict", got "${profile}"`);

const env = pulumi.getStack();
// An API key for the upstream, if it needs one: `pulumi config set --secret upstreamToken ...`. It stays encrypted
// in state and in the gateway.
const upstreamToken = config.getSecret("upstreamToken");
const upstream = new McpServer("everything", {
  // Written as an object, so only the header is secret: the URL stays readable in previews and drift.
  transport: {
    type: "streamable-http",
    url: config.require("upstreamUrl"),
    ...(upstreamToken ? { headers: { Authorization: pulumi.interpolate`Bearer ${upstreamToken}` } } : {}),
  },
  description: `Demo upstream for ${env}`,
  labels: { env },
});

const agentPolicy = new Policy("agent", {
  document: { ...Policy.fromFile("policies/agent.yaml"), ...Policy.fromFile(`policies/limits-${profile}.yaml`) } as PolicyDocumentInput,
});
const auditorPolicy = new Policy("auditor", { document: Policy.fromFile("policies/auditor.json") });

// Change `agentTokenRotation` (e.g. to the date) to issue the agents a new token; the old one stops working.
const agent = new Grant("agent", { server: upstream, policy: agentPolicy, description: `Agents in ${env}`, rotation: config.get("agentTokenRotation") });
const auditor = new Grant("auditor", { server: upstream, policy: auditorPolicy, description: `Auditors in ${env}` });

export const mcpUrl = agent.url;
export const agentToken = agent.token;
export const auditorToken = auditor.token;
export const limits = profile;
