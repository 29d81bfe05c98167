import * as pulumi from "@pulumi/pulumi";
import type { WebhookEvent } from "../sdk/index.ts";
import { serializedProvider } from "./shim.ts";
import { resourceName, ownerOf } from "./naming.ts";

export interface WebhookArgs {
  /** The webhook's name in the gateway. Default: the logical name. Changing it replaces the webhook. */
  name?: pulumi.Input<string>;
  /** Where the gateway POSTs events (http or https). */
  url: pulumi.Input<string>;
  /** Which events to send; default all: approval.requested, approval.approved, approval.denied, approval.expired. */
  events?: pulumi.Input<pulumi.Input<WebhookEvent>[]>;
  /** The HMAC-SHA256 signing key (at least 16 characters). Secret: encrypted in state and in the gateway. */
  signingSecret: pulumi.Input<string>;
  description?: pulumi.Input<string>;
  /** Take over a webhook of this name that exists in the gateway but is another stack's or resource's. */
  adopt?: pulumi.Input<boolean>;
}

/**
 * Approval notifications for a chat channel, an on-call tool or your own approver service. Every delivery is signed:
 * verify it with `verifyWebhook` from `toolgate/sdk` (docs/approvals.md#webhooks).
 *
 * @example
 * new Webhook("approvers", { url: "https://hooks.example.com/toolgate", signingSecret: config.requireSecret("webhookSecret") });
 */
export class Webhook extends pulumi.dynamic.Resource {
  declare readonly name: pulumi.Output<string>;
  declare readonly url: pulumi.Output<string>;
  declare readonly events: pulumi.Output<WebhookEvent[]>;
  declare readonly signingSecret: pulumi.Output<string>;
  /** Changes when the signing secret changes (HMAC under a gateway-held key); reveals nothing. */
  declare readonly secretDigest: pulumi.Output<string>;
  declare readonly version: pulumi.Output<number>;

  constructor(name: string, args: WebhookArgs, opts?: pulumi.CustomResourceOptions) {
    super(
      serializedProvider("webhook"),
      name,
      {
        name: resourceName(name, args.name),
        owner: ownerOf(name, "Webhook", opts),
        url: args.url,
        events: args.events,
        signingSecret: pulumi.secret(args.signingSecret),
        description: args.description,
        adopt: args.adopt,
        secretDigest: undefined,
        version: undefined,
      },
      { ...opts, additionalSecretOutputs: [...(opts?.additionalSecretOutputs ?? []), "signingSecret"] },
      "toolgate",
      "Webhook",
    );
  }
}
