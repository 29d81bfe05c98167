import * as pulumi from "@pulumi/pulumi";
import { readFileSync } from "node:fs";
import { parsePolicyText, ToolgateError, type PolicyDocumentInput } from "../sdk/index.ts";
import { serializedProvider } from "./shim.ts";
import { loadFailure, passable } from "./policy-load.ts";
import { resourceName, ownerOf, declareName } from "./naming.ts";

/** `T` with an `Input` allowed at every level, so a document may hold outputs (e.g. tool names from `getServerTools`). */
export type DeepInput<T> = T extends string | number | boolean | null | undefined
  ? pulumi.Input<T>
  : T extends readonly (infer U)[]
    ? pulumi.Input<DeepInput<U>[]>
    : T extends object
      ? pulumi.Input<{ [K in keyof T]: DeepInput<T[K]> }>
      : pulumi.Input<T>;

export interface PolicyArgs {
  /** The policy's name in the gateway. Default: the resource's logical name. Changing it replaces the policy. */
  name?: pulumi.Input<string>;
  /** The policy document (docs/policy.md); validated at `pulumi preview`. Load a reviewed file with `Policy.fromFile`. */
  document: DeepInput<PolicyDocumentInput>;
  /** Take over a policy of this name that exists in the gateway but is another stack's or resource's. */
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
      { name: resourceName(name, args.name), owner: ownerOf(name, "Policy", opts), document: passable(args.document as PolicyDocumentInput), adopt: args.adopt, version: undefined },
      opts,
      "toolgate",
      "Policy",
    );
    declareName("policy", resourceName(name, args.name), this);
  }

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

  /**
   * Reads a JSON or YAML policy file (relative paths are relative to the program's working directory).
   * The document is validated by `pulumi preview`, with each problem reported on its path; a file that cannot
   * be read or parsed fails the preview the same way, as `document: <file>:<line>:<col>: <what is wrong>`.
   */
  static fromFile(path: string): PolicyDocumentInput {
    let text: string;
    try {
      text = readFileSync(path, "utf8");
    } catch (error) {
      return loadFailure(path, `${path}: cannot read the policy file (${(error as NodeJS.ErrnoException).code ?? "error"})`);
    }
    try {
      return parsePolicyText(text, path) as PolicyDocumentInput;
    } catch (error) {
      if (error instanceof ToolgateError) return loadFailure(path, error.message);
      throw error;
    }
  }
}
