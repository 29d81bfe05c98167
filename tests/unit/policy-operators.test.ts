import { test } from "node:test";
import assert from "node:assert/strict";
import { compilePolicy, parsePolicy, type FlatPredicate } from "../../sdk/index.ts";

/** Holds the predicate for these arguments? (Via deny_if: a deny means it held, or could not be decided.) */
function holds(predicate: FlatPredicate, args: unknown): boolean {
  const policy = compilePolicy(parsePolicy({ version: "1", default: "deny", tools: { t: { deny_if: [predicate] } } }));
  return policy.decide({ tool: "t", args, grant: "g", server: "s", now: 0 }).effect === "deny";
}

/**
 * T: the predicate holds (a deny_if denies, a require allows); F: it does not (a deny_if allows, a require denies);
 * U: undecided, which fails closed both ways (a deny_if denies and a require denies).
 */
function outcome(predicate: FlatPredicate, args: unknown): "T" | "F" | "U" {
  const decide = (rules: object) =>
    compilePolicy(parsePolicy({ version: "1", default: "deny", tools: { t: rules } })).decide({ tool: "t", args, grant: "g", server: "s", now: 0 }).effect;
  const denyIf = decide({ deny_if: [predicate] });
  const require = decide({ require: [predicate] });
  if (denyIf === "deny" && require === "allow") return "T";
  if (denyIf === "allow" && require === "deny") return "F";
  if (denyIf === "deny" && require === "deny") return "U";
  throw new Error(`deny_if and require both allow ${JSON.stringify(args)} for ${JSON.stringify(predicate)}`);
}

// One argument value of every JSON type, then a missing argument: the columns of TABLE's expected outcomes.
const VALUES: [name: string, value: unknown][] = [
  ["string", "abc"],
  ["numericString", "5"],
  ["integer", 5],
  ["float", 5.5],
  ["zero", 0],
  ["true", true],
  ["false", false],
  ["null", null],
  ["array", ["abc", 5]],
  ["object", { a: 1 }],
];

const p = (op: string, value?: unknown) => ({ path: "args.x", op, ...(value === undefined ? {} : { value }) }) as FlatPredicate;

//     "abc" "5" 5 5.5 0 true false null [..] {..} missing
const TABLE: [FlatPredicate, string][] = [
  [p("eq", 5), "FTTFFFFFFFF"],
  [p("eq", "5"), "FTFFFFFFFFF"],
  [p("eq", "abc"), "TFFFFFFFFFF"],
  [p("eq", true), "FFFFFTFFFFF"],
  [p("eq", null), "FFFFFFFTFFF"],
  [p("eq", ["abc", 5]), "FFFFFFFFTFF"],
  [p("eq", { a: 1 }), "FFFFFFFFFTF"],
  [p("neq", 5), "TFFTTTTTTTF"],
  [p("in", [5, "abc", null]), "TTTFFFFTFFF"],
  [p("not_in", [5, "abc", null]), "FFFTTTTFTTF"],
  [p("lt", 5), "UFFFTUUUUUF"],
  [p("lte", 5), "UTTFTUUUUUF"],
  [p("gt", 5), "UFFTFUUUUUF"],
  [p("gte", 5), "UTTTFUUUUUF"],
  [p("gt", -1), "UTTTTUUUUUF"],
  [p("regex", "^ab"), "TFUUUUUUUUF"],
  [p("regex", "5"), "FTUUUUUUUUF"],
  [p("contains", "b"), "TFFFFFFFFFF"],
  [p("contains", 5), "FFFFFFFFTFF"],
  [p("contains", "abc"), "TFFFFFFFTFF"],
  [p("exists"), "TTTTTTTFTTF"],
  [p("exists", true), "TTTTTTTFTTF"],
  [p("exists", false), "FFFFFFFTFFT"],
];

test("operator table covers every operator", () => {
  const ops = new Set(TABLE.map(([pred]) => pred.op));
  assert.deepEqual([...ops].sort(), ["contains", "eq", "exists", "gt", "gte", "in", "lt", "lte", "neq", "not_in", "regex"]);
});

for (const [predicate, expected] of TABLE) {
  test(`${predicate.op} ${JSON.stringify(predicate.value)} against every JSON type and a missing argument`, () => {
    const actual = VALUES.map(([, value]) => outcome(predicate, { x: value })).join("") + outcome(predicate, { other: 1 });
    assert.equal(actual, expected, `columns: ${VALUES.map(([name]) => name).join(" ")} missing`);
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

test("lt lte gt gte compare numeric strings numerically: {\"amount\": \"20000\"} is over 10000", () => {
  const over = p("gt", 10000);
  assert.equal(outcome({ ...over, path: "args.amount" }, { amount: "20000" }), "T");
  assert.equal(outcome(over, { x: "2e4" }), "T");
  assert.equal(outcome(over, { x: "10000.5" }), "T");
  assert.equal(outcome(over, { x: "10000" }), "F");
  assert.equal(outcome(over, { x: "1e4" }), "F");
  assert.equal(outcome(p("lt", 0), { x: "-1.5" }), "T");
  assert.equal(outcome(p("lte", 0), { x: "-0" }), "T");
  assert.equal(outcome(over, { x: "1e999" }), "T", "beyond the largest double is still over");
});

test("strings that are not a JSON number cannot be compared: undecided, so deny_if denies and require fails", () => {
  for (const x of ["", " ", "0x10", "Infinity", "-Infinity", "NaN", " 20000", "20000 ", "+5", "1_000", "1,000", ".5", "5.", "05", "1e", "--1", "20000abc"]) {
    assert.equal(outcome(p("gt", 10000), { x }), "U", JSON.stringify(x));
    assert.equal(outcome(p("lte", 10000), { x }), "U", JSON.stringify(x));
  }
});

test("eq and in on a number also match a numeric string of the same value; a string value never matches a number", () => {
  assert.equal(outcome(p("eq", 10000), { x: "10000" }), "T");
  assert.equal(outcome(p("eq", 10000), { x: "1e4" }), "T");
  assert.equal(outcome(p("eq", 10000), { x: "10000.0" }), "T");
  assert.equal(outcome(p("eq", 10000), { x: "10001" }), "F");
  assert.equal(outcome(p("eq", 10000), { x: "0x2710" }), "F");
  assert.equal(outcome(p("neq", 10000), { x: "1e4" }), "F");
  assert.equal(outcome(p("in", [1, 2]), { x: "2" }), "T");
  assert.equal(outcome(p("not_in", [1, 2]), { x: "2" }), "F");
  assert.equal(outcome(p("eq", "10000"), { x: 10000 }), "F");
  assert.equal(outcome(p("eq", [1]), { x: ["1"] }), "F", "only the argument itself, not items inside it");
  assert.equal(outcome(p("eq", 1), { x: 1.0 }), "T", "1 and 1.0 are the same JSON number");
  assert.equal(outcome(p("in", [1]), { x: true }), "F");
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
