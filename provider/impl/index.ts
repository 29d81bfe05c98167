/**
 * toolgate/provider-impl: the provider implementation the serialized shim loads at call time
 * (provider/shim.ts). Must keep reading every output shape earlier versions wrote (`schemaVersion`).
 */
import { configure as configureGateway } from "./config.ts";
import { serverProvider } from "./server.ts";
import { policyProvider } from "./policy.ts";
import { grantProvider } from "./grant.ts";
import { webhookProvider } from "./webhook.ts";
import { identityProviderProvider } from "./identity-provider.ts";
import type { Props } from "./common.ts";

type Kind = typeof serverProvider | typeof policyProvider | typeof grantProvider | typeof webhookProvider | typeof identityProviderProvider;
type Outs = { outs?: Props };

/**
 * Every kind's outputs carry `ownedAs`: the owner this resource wrote on the object (its URN). `owner` itself
 * follows the object (a refresh shows who manages it now, so a takeover by another stack shows as a change), and
 * `delete` compares the object's owner with `ownedAs`, never removing an object someone else manages now.
 */
function withOwnership<P extends Kind>(provider: P): P {
  return {
    ...provider,
    async create(inputs: Props) {
      const result = await provider.create(inputs);
      return { ...result, outs: { ...result.outs, ownedAs: inputs.owner } };
    },
    async update(id: string, olds: Props, news: Props) {
      const result: Outs = await provider.update(id, olds, news);
      return { ...result, outs: { ...result.outs, ownedAs: news.owner } };
    },
    async read(id: string, props: Props) {
      const result: Outs & { props?: Props } = await provider.read(id, props);
      return result.props ? { ...result, props: { ...result.props, ownedAs: props.ownedAs ?? props.owner } } : result;
    },
  };
}

export const providers = {
  server: withOwnership(serverProvider),
  policy: withOwnership(policyProvider),
  grant: withOwnership(grantProvider),
  webhook: withOwnership(webhookProvider),
  identityProvider: withOwnership(identityProviderProvider),
};

export async function configure(req: { config: { get(key: string): string | undefined } }): Promise<void> {
  configureGateway(req.config);
}
