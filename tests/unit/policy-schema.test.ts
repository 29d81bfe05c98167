import { test } from "node:test";
import assert from "node:assert/strict";
import { readFileSync } from "node:fs";
import { policyJsonSchemaText } from "../../sdk/index.ts";

test("sdk/schema/policy.schema.json is current (regenerate with `npm run schema`)", () => {
  const committed = readFileSync(new URL("../../sdk/schema/policy.schema.json", import.meta.url), "utf8");
  assert.equal(committed, policyJsonSchemaText(), "the committed JSON Schema is stale: run `npm run schema` and commit the result");
});

test("the JSON Schema encodes the per-operator value types", () => {
  const schema = JSON.parse(policyJsonSchemaText());
  const text = JSON.stringify(schema);
  assert.equal(schema.$schema, "https://json-schema.org/draft/2020-12/schema");
  assert.deepEqual(schema.required, ["version", "default"]);
  assert.equal(schema.additionalProperties, false);
  for (const op of ["eq", "neq", "in", "not_in", "lt", "lte", "gt", "gte", "regex", "contains", "exists"]) {
    assert.ok(text.includes(`"const":"${op}"`), `operator ${op} is in the schema`);
  }
});

test("the JSON Schema describes the extension sections for editors", () => {
  const schema = JSON.parse(policyJsonSchemaText());
  assert.deepEqual(schema.properties.list.enum, ["visible", "filtered"]);
  assert.deepEqual(schema.properties.completion.enum, ["allow", "deny"]);
  assert.deepEqual(schema.properties.client_roots.enum, ["allow", "deny"]);
  assert.deepEqual(schema.properties.resources.required, ["default"]);
  assert.deepEqual(Object.keys(schema.properties.resources.properties.deny_if.items.properties), ["uri_regex", "on_deny"]);
  assert.deepEqual(Object.keys(schema.properties.prompts.properties.allow.items.properties), ["name"]);
});
