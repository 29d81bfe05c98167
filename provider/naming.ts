import * as pulumi from "@pulumi/pulumi";

/** A resource's gateway name: the `name` input, or the logical name without a random suffix (DESIGN.md section 3). */
export function resourceName(logicalName: string, name: pulumi.Input<string> | undefined): pulumi.Input<string> {
  return name ?? logicalName;
}

/**
 * Who owns the object a resource writes: the resource's URN (`urn:pulumi:<stack>::<project>::<type>::<name>`),
 * recorded in the gateway so that another stack, or another resource of this stack (a rename without an alias),
 * is never silently given the object. `type` is the resource type's last part, e.g. "Policy".
 */
export function ownerOf(logicalName: string, type: string, opts: pulumi.CustomResourceOptions | undefined): pulumi.Output<string> {
  return pulumi.createUrn(logicalName, `pulumi-nodejs:dynamic/toolgate:${type}`, opts?.parent);
}

type Named = { readonly name: pulumi.Output<string> };
const declared = { server: new Map<string, Named>(), policy: new Map<string, Named>() };

/** Records that this program manages the server or policy called `name`, for `referenceTo`. */
export function declareName(kind: keyof typeof declared, name: pulumi.Input<string>, resource: Named): void {
  if (typeof name === "string") declared[kind].set(name, resource);
}

/**
 * A grant's `server` or `policy` given as a name: when a resource of this program has that name, the name of that
 * resource instead, which makes Pulumi create it before the grant (a plain string would not), with a warning to
 * pass the resource. Looked up once the program's synchronous code has run, so declaration order does not matter.
 */
export function referenceTo(kind: keyof typeof declared, value: pulumi.Input<string> | undefined, grant: string): pulumi.Input<string> | undefined {
  if (value === undefined) return undefined;
  return pulumi.output(value).apply((name): pulumi.Output<string> => {
    const resource = declared[kind].get(name);
    if (!resource) return pulumi.output(name);
    const type = kind === "policy" ? "Policy" : "McpServer";
    pulumi.log.warn(`Grant "${grant}": ${kind} "${name}" is the ${type} of this program; the grant waits for it. Pass the resource (${kind}: <the ${type}>) rather than its name to say so in the program.`);
    return resource.name;
  });
}
