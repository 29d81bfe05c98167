/** toolgate: Pulumi resources for the Toolgate MCP gateway. */
export { McpServer, type McpServerArgs, type McpServerTransport } from "./mcp-server.ts";
export { Policy, type PolicyArgs } from "./policy.ts";
export { Grant, type GrantArgs } from "./grant.ts";
export { Webhook, type WebhookArgs } from "./webhook.ts";
export { IdentityProvider, type IdentityProviderArgs, type IdentityProviderRef, type JwtAlgorithm } from "./identity-provider.ts";
export { getServerTools, type GetServerToolsArgs } from "./catalog.ts";
export type { CatalogTool, RiskCategory, Severity } from "../sdk/index.ts";
