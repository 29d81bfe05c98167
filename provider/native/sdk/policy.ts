import * as pulumi from "@pulumi/pulumi";
import { unsetOutputs } from "./outputs.ts";
import type { PolicyDocumentInput } from "../../../sdk/index.ts";
import { Policy as DynamicPolicy, type PolicyArgs } from "../../policy.ts";
import { passable } from "../../policy-load.ts";

export type { PolicyArgs };

/**
 * A reusable policy document in the gateway (native resource `toolgate:index:Policy`).
 *
 * @example
 * const readOnly = new Policy("read-only", { document: Policy.fromFile("policies/read-only.yaml") });
 */
export class Policy extends pulumi.CustomResource {
  declare readonly name: pulumi.Output<string>;
  declare readonly document: pulumi.Output<PolicyDocumentInput>;
  /** Who manages the object in the gateway: this resource's URN, unless someone else took it over. */
  declare readonly owner: pulumi.Output<string>;
  declare readonly version: pulumi.Output<number>;

  constructor(name: string, args: PolicyArgs, opts?: pulumi.CustomResourceOptions) {
    super("toolgate:index:Policy", name, { ...unsetOutputs("toolgate:index:Policy"), name: args.name, document: passable(args.document as PolicyDocumentInput), adopt: args.adopt }, opts);
  }

  /** Reads a JSON or YAML policy file; a file that cannot be read or parsed fails `pulumi preview` on `document`. */
  static fromFile(path: string): PolicyDocumentInput {
    return DynamicPolicy.fromFile(path);
  }

  /** A policy that decides tools by their risk category in the gateway's catalog (docs/catalog.md). */
  static fromRisk(...args: Parameters<typeof DynamicPolicy.fromRisk>): PolicyDocumentInput {
    return DynamicPolicy.fromRisk(...args);
  }
}
