import * as pulumi from "@pulumi/pulumi";

/** A resource's gateway name: the `name` input, or the logical name without a random suffix (DESIGN.md section 3). */
export function resourceName(logicalName: string, name: pulumi.Input<string> | undefined): pulumi.Input<string> {
  return name ?? logicalName;
}

/** Who owns objects this program creates: `<project>/<stack>`, recorded in the gateway to detect conflicts. */
export function ownerOf(): string {
  return `pulumi:${pulumi.getProject()}/${pulumi.getStack()}`;
}
