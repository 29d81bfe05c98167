import * as pulumi from "@pulumi/pulumi";
import { unsetOutputs } from "./outputs.ts";
import type { WebhookEvent } from "../../../sdk/index.ts";
import type { WebhookArgs } from "../../webhook.ts";

export type { WebhookArgs };

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
