import { test } from "node:test";
import assert from "node:assert/strict";
import { compilePolicy, parsePolicy, type FlatPredicate } from "../../sdk/index.ts";

/** Holds the predicate for these arguments? (Via deny_if: a deny means it held.) */
function holds(predicate: FlatPredicate, args: unknown): boolean {
  const policy = compilePolicy(parsePolicy({ version: "1", default: "deny", tools: { t: { deny_if: [predicate] } } }));
  return policy.decide({ tool: "t", args, grant: "g", server: "s", now: 0 }).effect === "deny";
}

// One argument value of every JSON type, plus a missing argument.
const VALUES: Record<string, unknown> = {
  string: "abc",
  numericString: "5",
  integer: 5,
  float: 5.5,
  zero: 0,
  true: true,
  false: false,
  null: null,
  array: ["abc", 5],
  object: { a: 1 },
};
const MISSING = Symbol("missing");
type Case = [op: FlatPredicate, expected: Record<string, boolean>];

function row(predicate: FlatPredicate, expectedTrueFor: string[], missing: boolean): Case {
  const expected: Record<string, boolean> = {};
  for (const name of Object.keys(VALUES)) expected[name] = expectedTrueFor.includes(name);
  expected.missing = missing;
  return [predicate, expected];
}

const p = (op: string, value?: unknown) => ({ path: "args.x", op, ...(value === undefined ? {} : { value }) }) as FlatPredicate;

const TABLE: Case[] = [
  row(p("eq", 5), ["integer"], false),
  row(p("eq", "5"), ["numericString"], false),
  row(p("eq", "abc"), ["string"], false),
  row(p("eq", true), ["true"], false),
  row(p("eq", null), ["null"], false),
  row(p("eq", ["abc", 5]), ["array"], false),
  row(p("eq", { a: 1 }), ["object"], false),
  row(p("neq", 5), ["string", "numericString", "float", "zero", "true", "false", "null", "array", "object"], false),
  row(p("in", [5, "abc", null]), ["integer", "string", "null"], false),
  row(p("not_in", [5, "abc", null]), ["numericString", "float", "zero", "true", "false", "array", "object"], false),
  row(p("lt", 5), ["zero"], false),
  row(p("lte", 5), ["integer", "zero"], false),
  row(p("gt", 5), ["float"], false),
  row(p("gte", 5), ["integer", "float"], false),
  row(p("gt", -1), ["integer", "float", "zero"], false),
  row(p("regex", "^ab"), ["string"], false),
  row(p("regex", "5"), ["numericString"], false),
  row(p("contains", "b"), ["string"], false),
  row(p("contains", 5), ["array"], false),
  row(p("contains", "abc"), ["string", "array"], false),
  row(p("exists"), ["string", "numericString", "integer", "float", "zero", "true", "false", "array", "object"], false),
  row(p("exists", true), ["string", "numericString", "integer", "float", "zero", "true", "false", "array", "object"], false),
  row(p("exists", false), ["null"], true),
];

test("operator table covers every operator", () => {
  const ops = new Set(TABLE.map(([pred]) => pred.op));
  assert.deepEqual([...ops].sort(), ["contains", "eq", "exists", "gt", "gte", "in", "lt", "lte", "neq", "not_in", "regex"]);
});

for (const [predicate, expected] of TABLE) {
  test(`${predicate.op} ${JSON.stringify(predicate.value)} against every JSON type and a missing argument`, () => {
    const actual: Record<string, boolean> = {};
    for (const [name, value] of Object.entries(VALUES)) actual[name] = holds(predicate, { x: value });
    actual.missing = holds(predicate, { other: 1 });
    assert.deepEqual(actual, expected);
    void MISSING;
  });
}

test("paths reach nested objects and array indexes", () => {
  const args = { items: [{ sku: "A-1" }, { sku: "B-2", tags: ["x"] }], meta: { deep: { n: 3 } } };
  assert.equal(holds({ path: "args.items.0.sku", op: "eq", value: "A-1" }, args), true);
  assert.equal(holds({ path: "args.items.1.tags.0", op: "eq", value: "x" }, args), true);
  assert.equal(holds({ path: "args.meta.deep.n", op: "gte", value: 3 }, args), true);
  assert.equal(holds({ path: "args.items.2.sku", op: "exists" }, args), false, "index past the end is missing");
  assert.equal(holds({ path: "args.items.first.sku", op: "exists" }, args), false, "non-index segment on an array is missing");
  assert.equal(holds({ path: "args.items.0.sku.length", op: "exists" }, args), false, "walking into a string is missing");
  assert.equal(holds({ path: "args.items.01.sku", op: "exists" }, args), false, "non-canonical index is missing");
});

test("paths never read inherited properties", () => {
  assert.equal(holds({ path: "args.x.constructor", op: "exists" }, { x: {} }), false);
  assert.equal(holds({ path: "args.__proto__", op: "exists" }, {}), false);
  assert.equal(holds({ path: "args.toString", op: "exists" }, {}), false);
});

test("no coercion: numbers and numeric strings never compare equal or ordered", () => {
  assert.equal(holds({ path: "args.x", op: "eq", value: 5 }, { x: "5" }), false);
  assert.equal(holds({ path: "args.x", op: "gt", value: 1 }, { x: "100" }), false);
  assert.equal(holds({ path: "args.x", op: "in", value: [1] }, { x: true }), false);
  assert.equal(holds({ path: "args.x", op: "eq", value: 1 }, { x: 1.0 }), true, "1 and 1.0 are the same JSON number");
});

test("regex is unanchored unless anchored, and unicode-aware", () => {
  assert.equal(holds({ path: "args.x", op: "regex", value: "secret" }, { x: "notes/secrets/a" }), true);
  assert.equal(holds({ path: "args.x", op: "regex", value: "^secret" }, { x: "notes/secrets/a" }), false);
  assert.equal(holds({ path: "args.x", op: "regex", value: "^.$" }, { x: "😀" }), true);
});

test("regex is RE2: (?i) flags, \\z, and \\d means ASCII digits", () => {
  assert.equal(holds({ path: "args.x", op: "regex", value: "(?i)^admin" }, { x: "ADMIN panel" }), true);
  assert.equal(holds({ path: "args.x", op: "regex", value: "(?i)^admin" }, { x: "the admin" }), false);
  assert.equal(holds({ path: "args.x", op: "regex", value: "^a\\z" }, { x: "a" }), true);
  assert.equal(holds({ path: "args.x", op: "regex", value: "^a\\z" }, { x: "a\n" }), false);
  assert.equal(holds({ path: "args.x", op: "regex", value: "^\\d+$" }, { x: "٣" }), false);
  assert.equal(holds({ path: "args.x", op: "regex", value: "^(?P<user>[a-z]+)@" }, { x: "root@host" }), true);
});

test("patterns that backtrack exponentially elsewhere are valid and decide on a 40-character argument", () => {
  const x = "a".repeat(39) + "!";
  assert.equal(holds({ path: "args.x", op: "regex", value: "(a|aa)+$" }, { x }), false);
  assert.equal(holds({ path: "args.x", op: "regex", value: "(a|aa)+$" }, { x: "a".repeat(40) }), true);
  assert.equal(holds({ path: "args.x", op: "regex", value: "(a|a)*$" }, { x }), true, "the empty match at the end");
  assert.equal(holds({ path: "args.x", op: "regex", value: "^(a|a)*$" }, { x }), false);
  assert.equal(holds({ path: "args.x", op: "regex", value: "a*a*a*a*a*a*b" }, { x }), false);
  assert.equal(holds({ path: "args.x", op: "regex", value: "(a+)+b" }, { x: "a".repeat(39) + "b" }), true);
});

test("arguments that are absent or not an object behave as an empty object", () => {
  const policy = compilePolicy(parsePolicy({ version: "1", default: "deny", tools: { t: { require: [{ path: "args.a", op: "exists", value: false }] } } }));
  for (const args of [undefined, null, {}, 42, "text", []]) {
    assert.equal(policy.decide({ tool: "t", args, grant: "g", server: "s" }).effect, "allow", JSON.stringify(args));
  }
});
