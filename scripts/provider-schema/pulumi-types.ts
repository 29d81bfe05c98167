/**
 * Turns the JSON Schema of a zod schema (`z.toJSONSchema`, draft 2020-12, input side) into Pulumi package schema
 * type specs (https://www.pulumi.com/docs/iac/guides/building-extending/packages/schema/). Pulumi types are
 * coarser than JSON Schema: patterns, bounds and enums stay in the zod validators (run by the provider's `check`)
 * and the value lists go into descriptions.
 */

/** The subset of JSON Schema that `z.toJSONSchema` writes for our resource schemas. */
export interface JsonSchema {
  type?: string | string[];
  properties?: Record<string, JsonSchema>;
  required?: string[];
  items?: JsonSchema;
  additionalProperties?: JsonSchema | boolean;
  anyOf?: JsonSchema[];
  oneOf?: JsonSchema[];
  const?: unknown;
  enum?: unknown[];
  description?: string;
  writeOnly?: boolean;
}

export interface TypeSpec {
  type?: "string" | "integer" | "number" | "boolean" | "array" | "object";
  $ref?: string;
  items?: TypeSpec;
  additionalProperties?: TypeSpec;
  oneOf?: TypeSpec[];
}

export interface PropertySpec extends TypeSpec {
  description?: string;
  secret?: boolean;
}

export interface ObjectTypeSpec {
  type: "object";
  description?: string;
  properties: Record<string, PropertySpec>;
  required?: string[];
}

export const ANY = "pulumi.json#/Any";

/** Where the object types met while converting go: a type token (`toolgate:index:McpServerRoot`) to its spec. */
export type ObjectTypes = Record<string, ObjectTypeSpec>;

export interface Converter {
  /** Object types take their token from `namePrefix` and the property name (`McpServer` + `transport`). */
  property(schema: JsonSchema, namePrefix: string): PropertySpec;
}

const pascal = (s: string) => s.charAt(0).toUpperCase() + s.slice(1);
/** `roots` → `Root`: the element of a list is named in the singular. */
const singular = (s: string) => (s.endsWith("s") ? s.slice(0, -1) : s);
const SCALARS = ["string", "integer", "number", "boolean"] as const;
type Scalar = (typeof SCALARS)[number];

/**
 * A converter writing object types into `types` under `${pkg}:index:<Name>`. An object met in several places (a
 * claim condition) takes its name from `named` (its JSON Schema → the type's name) and is written once; others are
 * named after where they are (`McpServer` + `roots` → `McpServerRoot`). A union of objects (the transport) is
 * one object type with every variant's properties; a union of scalars (`user`: name or id) is a Pulumi union
 * based on `string`, so SDKs accept both and Go falls back to a string.
 */
export function converter(pkg: string, types: ObjectTypes, named: ReadonlyArray<readonly [JsonSchema, string]> = []): Converter {
  const token = (name: string) => `${pkg}:index:${name}`;
  const shapes = named.map(([schema, name]) => [shape(schema), name] as const);

  function property(schema: JsonSchema, name: string): PropertySpec {
    const spec: PropertySpec = typeSpec(schema, name);
    const description = describe(schema);
    if (description) spec.description = description;
    if (isWriteOnly(schema)) spec.secret = true;
    return spec;
  }

  function typeSpec(schema: JsonSchema, name: string): TypeSpec {
    const variants = withoutNull(schema.anyOf ?? schema.oneOf);
    if (variants && variants.length === 1) return typeSpec({ ...variants[0], description: schema.description ?? variants[0]!.description }, name);
    if (variants && variants.every((v) => v.type === "object" && v.properties)) return { $ref: `#/types/${objectType(variants, name)}` };
    const scalars = scalarTypes(schema, variants);
    if (scalars.length > 1) return { type: "string", oneOf: scalars.map((type) => ({ type })) };
    if (scalars.length === 1) return { type: scalars[0] };
    if (schema.const !== undefined || schema.enum) return { type: "string" };
    if (schema.type === "array") return { type: "array", items: schema.items ? typeSpec(schema.items, singular(name)) : { $ref: ANY } };
    if (schema.type === "object" && schema.properties) return { $ref: `#/types/${objectType([schema], name)}` };
    if (schema.type === "object" && isSchema(schema.additionalProperties) && Object.keys(schema.additionalProperties).length > 0) {
      return { type: "object", additionalProperties: typeSpec(schema.additionalProperties, singular(name)) };
    }
    return { $ref: ANY };
  }

  /** Merges object variants into one object type; a property is required when every variant requires it. */
  function objectType(variants: JsonSchema[], name: string): string {
    const fixed = variants.length === 1 ? shapes.find(([s]) => s === shape(variants[0]!))?.[1] : undefined;
    const tok = token(fixed ?? pascal(name));
    if (fixed && types[tok]) return tok;
    const discriminators = variants.map(discriminatorOf);
    const properties: Record<string, PropertySpec> = {};
    for (const variant of variants) {
      for (const [key, sub] of Object.entries(variant.properties ?? {})) {
        if (properties[key]) continue;
        const users = variants.filter((v) => v.properties?.[key]);
        const spec = property(sub, `${pascal(name)}${pascal(key)}`);
        const discriminator = discriminators.find((d) => d?.key === key);
        if (discriminator) spec.description = joinSentences(spec.description, `One of ${discriminators.map((d) => `\`${String(d!.value)}\``).join(", ")}.`);
        else if (users.length < variants.length && discriminators.every(Boolean)) {
          spec.description = joinSentences(spec.description, `For ${users.map((v) => `\`${String(discriminatorOf(v)!.value)}\``).join(" and ")}.`);
        }
        properties[key] = spec;
      }
    }
    const required = Object.keys(properties).filter((key) => variants.every((v) => v.required?.includes(key)));
    const spec: ObjectTypeSpec = { type: "object", properties, ...(required.length ? { required } : {}) };
    const description = variants.length === 1 ? variants[0]!.description : undefined;
    if (description) spec.description = description;
    types[tok] = spec;
    return tok;
  }

  return { property };
}

/** An object schema's text without descriptions, to recognize it wherever it is used. */
function shape(schema: JsonSchema): string {
  return JSON.stringify(schema, (key, value: unknown) => (key === "description" || key === "$schema" ? undefined : value));
}

function withoutNull(variants: JsonSchema[] | undefined): JsonSchema[] | undefined {
  return variants?.filter((v) => v.type !== "null");
}

function scalarTypes(schema: JsonSchema, variants: JsonSchema[] | undefined): Scalar[] {
  const listed = variants ? variants.flatMap((v) => (Array.isArray(v.type) ? v.type : v.type ? [v.type] : [])) : Array.isArray(schema.type) ? schema.type : schema.type ? [schema.type] : [];
  if (variants && listed.length !== variants.length) return [];
  const scalars = SCALARS.filter((s) => listed.includes(s));
  return scalars.length === listed.length ? scalars : [];
}

/** The literal that tells the variants of a discriminated union apart (`type: "stdio"`). */
function discriminatorOf(variant: JsonSchema): { key: string; value: unknown } | undefined {
  for (const [key, sub] of Object.entries(variant.properties ?? {})) if (sub.const !== undefined && variant.required?.includes(key)) return { key, value: sub.const };
  return undefined;
}

function describe(schema: JsonSchema): string | undefined {
  const own = schema.description ?? withoutNull(schema.anyOf)?.find((v) => v.description)?.description;
  const values = schema.enum ?? schema.items?.enum;
  if (values && !(own && values.every((v) => own.includes(String(v))))) return joinSentences(own, `One of ${values.map((v) => `\`${String(v)}\``).join(", ")}.`);
  return own;
}

function isWriteOnly(schema: JsonSchema): boolean {
  return schema.writeOnly === true || (withoutNull(schema.anyOf)?.some((v) => v.writeOnly === true) ?? false);
}

function isSchema(value: JsonSchema | boolean | undefined): value is JsonSchema {
  return typeof value === "object" && value !== null;
}

function joinSentences(a: string | undefined, b: string): string {
  return a ? `${a} ${b}` : b;
}
