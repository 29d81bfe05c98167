/**
 * toolgate/provider-impl: the provider implementation the serialized shim loads at call time
 * (provider/shim.ts). Must keep reading every output shape earlier versions wrote (`schemaVersion`).
 */
import { configure as configureGateway } from "./config.ts";
import { serverProvider } from "./server.ts";
import { policyProvider } from "./policy.ts";
import { grantProvider } from "./grant.ts";
import { webhookProvider } from "./webhook.ts";

export const providers = { server: serverProvider, policy: policyProvider, grant: grantProvider, webhook: webhookProvider };

export async function configure(req: { config: { get(key: string): string | undefined } }): Promise<void> {
  configureGateway(req.config);
}
