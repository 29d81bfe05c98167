/**
 * toolgate/native: the resources of the native `toolgate` Pulumi provider (plugin `pulumi-resource-toolgate`), for
 * TypeScript programs. The same objects as the dynamic resources of `toolgate`, with real type tokens
 * (`toolgate:index:Policy`), explicit providers for several gateways, `pulumi import` and a detailed diff.
 */
export { Provider, type ProviderArgs } from "./provider.ts";
export { McpServer, type McpServerArgs, type McpServerTransport, type McpServerRoot, type McpServerCredentials, type McpServerTokenExchange, type McpServerApprovers } from "./mcp-server.ts";
export { Policy, type PolicyArgs } from "./policy.ts";
export { Grant, type GrantArgs, type GrantIdentity } from "./grant.ts";
export { Webhook, type WebhookArgs } from "./webhook.ts";
export { IdentityProvider, type IdentityProviderArgs } from "./identity-provider.ts";
