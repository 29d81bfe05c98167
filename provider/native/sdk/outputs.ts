import { schemaText } from "../schema.ts";

let outputsByType: Map<string, readonly string[]> | undefined;

/**
 * Every output of a native resource type as a key set to `undefined`, for a class to spread under its inputs. The
 * Node.js SDK resolves only the outputs whose key the class gave it (a defaulted `name` would stay undefined), so
 * the list comes from the plugin's schema: a new kind or output cannot be left out.
 */
export function unsetOutputs(type: string): Record<string, undefined> {
  outputsByType ??= new Map(
    Object.entries((JSON.parse(schemaText()) as { resources: Record<string, { properties: object }> }).resources).map(([token, resource]) => [token, Object.keys(resource.properties)]),
  );
  const outputs = outputsByType.get(type);
  if (!outputs) throw new Error(`toolgate: the provider schema has no resource type ${JSON.stringify(type)}; run \`npm run schema\``);
  return Object.fromEntries(outputs.map((key) => [key, undefined]));
}
