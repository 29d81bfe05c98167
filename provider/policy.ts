import * as pulumi from "@pulumi/pulumi";
import { readFileSync } from "node:fs";
import { parsePolicyText, type PolicyDocumentInput } from "../sdk/index.ts";
import { serializedProvider } from "./shim.ts";
import { resourceName, ownerOf, declareName } from "./naming.ts";

export interface PolicyArgs {
  /** The policy's name in the gateway. Default: the resource's logical name. Changing it replaces the policy. */
  name?: pulumi.Input<string>;
  /** The policy document (docs/policy.md); validated at `pulumi preview`. Load a reviewed file with `Policy.fromFile`. */
  document: pulumi.Input<PolicyDocumentInput>;
  /** Take over a policy of this name that exists in the gateway but was not created by this stack. */
  adopt?: pulumi.Input<boolean>;
}

/**
 * A reusable policy document in the gateway.
 *
 * @example
 * const readOnly = new Policy("read-only", { document: Policy.fromFile("policies/read-only.yaml") });
 */
export class Policy extends pulumi.dynamic.Resource {
  declare readonly name: pulumi.Output<string>;
  declare readonly document: pulumi.Output<PolicyDocumentInput>;
  declare readonly version: pulumi.Output<number>;

  constructor(name: string, args: PolicyArgs, opts?: pulumi.CustomResourceOptions) {
    super(
      serializedProvider("policy"),
      name,
      { name: resourceName(name, args.name), owner: ownerOf(name, "Policy", opts), document: args.document, adopt: args.adopt, version: undefined },
      opts,
      "toolgate",
      "Policy",
    );
    declareName("policy", resourceName(name, args.name), this);
  }

  /**
   * Reads a JSON or YAML policy file (relative paths are relative to the program's working directory).
   * The document is validated by `pulumi preview`, with each problem reported on its path.
   */
  /**
   * A policy that decides tools by their risk category in the gateway's catalog (docs/catalog.md): `risk` rules
   * for tools not listed by name, default deny, and `pin: true` unless you say otherwise.
   *
   * @example
   * const agent = new Policy("agent", { document: Policy.fromRisk({ read: "allow", write: { limits: [{ counter: "w", window: "minute", max: 30 }] }, destructive: "hide" }) });
   */
  static fromRisk(risk: NonNullable<PolicyDocumentInput["risk"]>, options: Omit<PolicyDocumentInput, "version" | "risk" | "default"> & { default?: "allow" | "deny" } = {}): PolicyDocumentInput {
    return { version: "1", default: options.default ?? "deny", pin: options.pin ?? true, ...options, risk };
  }

  static fromFile(path: string): PolicyDocumentInput {
    let text: string;
    try {
      text = readFileSync(path, "utf8");
    } catch (error) {
      throw new Error(`Policy.fromFile: cannot read ${path} (${(error as NodeJS.ErrnoException).code ?? "error"})`, {
        cause: error,
      });
    }
    return parsePolicyText(text, path) as PolicyDocumentInput;
  }
}
