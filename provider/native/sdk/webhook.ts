import * as pulumi from "@pulumi/pulumi";
import { unsetOutputs } from "./outputs.ts";
import type { WebhookEvent } from "../../../sdk/index.ts";

export interface WebhookArgs {
  /** The webhook's name in the gateway. Default: the logical name. Changing it replaces the webhook. */
  name?: pulumi.Input<string>;
  /** Where the gateway POSTs events (http or https). */
  url: pulumi.Input<string>;
  /** Which events to send; default all: approval.requested, approval.approved, approval.denied, approval.expired. */
  events?: pulumi.Input<pulumi.Input<WebhookEvent>[]>;
  /** The HMAC-SHA256 signing key (at least 16 characters). Secret. */
  signingSecret: pulumi.Input<string>;
  description?: pulumi.Input<string>;
  /** Take over a webhook of this name that exists in the gateway but is not this resource's. */
  adopt?: pulumi.Input<boolean>;
}

/**
 * Signed approval notifications (native resource `toolgate:index:Webhook`); verify deliveries with `verifyWebhook`
 * from `toolgate/sdk`.
 *
 * @example
 * new Webhook("approvers", { url: "https://hooks.example.com/toolgate", signingSecret: config.requireSecret("webhookSecret") });
 */
export class Webhook extends pulumi.CustomResource {
  declare readonly name: pulumi.Output<string>;
  declare readonly url: pulumi.Output<string>;
  declare readonly events: pulumi.Output<WebhookEvent[]>;
  declare readonly signingSecret: pulumi.Output<string>;
  /** Changes when the signing secret changes (HMAC under a gateway-held key); reveals nothing. */
  declare readonly secretDigest: pulumi.Output<string>;
  /** A revision that changes with the signing secret: shows it changed without its value. */
  declare readonly signingSecretRevision: pulumi.Output<number>;
  /** Who manages the object in the gateway: this resource's URN, unless someone else took it over. */
  declare readonly owner: pulumi.Output<string>;
  declare readonly version: pulumi.Output<number>;

  constructor(name: string, args: WebhookArgs, opts?: pulumi.CustomResourceOptions) {
    super(
      "toolgate:index:Webhook",
      name,
      { ...unsetOutputs("toolgate:index:Webhook"), ...args, signingSecret: pulumi.secret(args.signingSecret) },
      { ...opts, additionalSecretOutputs: [...(opts?.additionalSecretOutputs ?? []), "signingSecret"] },
    );
  }
}
