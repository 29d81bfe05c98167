import { test } from "node:test";
import assert from "node:assert/strict";
import { validatePolicy } from "../../sdk/index.ts";

const withRegex = (...patterns: string[]) => ({
  version: "1",
  default: "deny",
  tools: { t: { deny_if: patterns.map((value) => ({ path: "args.x", op: "regex", value })) } },
});
const errorsOf = (doc: unknown) => {
  const r = validatePolicy(doc);
  return r.ok ? [] : r.errors.map((e) => `${e.path}: ${e.message}`);
};

test("RE2 syntax validates, including patterns a backtracking engine would stall on", () => {
  assert.deepEqual(errorsOf(withRegex("(?i)^admin", "^/etc/\\z", "(a|aa)+$", "(a|a)*$", "a*a*a*a*a*a*b", "(a+)+$", "\\p{Greek}", "[[:alpha:]]", "(?P<user>\\w+)@")), []);
});

test("patterns RE2 rejects are errors naming the path and RE2's reason", () => {
  assert.deepEqual(errorsOf(withRegex("(?=admin)", "(?<!x)y", "(a)\\1", "a**", "x{2,1}", "[z-a]")), [
    '/tools/t/deny_if/0/value: invalid regex "(?=admin)" (RE2 syntax): invalid or unsupported Perl syntax: `(?=`',
    '/tools/t/deny_if/1/value: invalid regex "(?<!x)y" (RE2 syntax): invalid named capture: `(?<!x)y`',
    '/tools/t/deny_if/2/value: invalid regex "(a)\\\\1" (RE2 syntax): invalid escape sequence: `\\1`',
    '/tools/t/deny_if/3/value: invalid regex "a**" (RE2 syntax): invalid nested repetition operator: `**`',
    '/tools/t/deny_if/4/value: invalid regex "x{2,1}" (RE2 syntax): invalid repeat count: `{2,1}`',
    '/tools/t/deny_if/5/value: invalid regex "[z-a]" (RE2 syntax): invalid character class range: `z-a`',
  ]);
});

test("a regex inside an approval condition is checked the same way", () => {
  const doc = { version: "1", default: "deny", tools: { t: { approval: { when: [{ path: "args.x", op: "regex", value: "(?=a)" }] } } } };
  assert.deepEqual(errorsOf(doc), ['/tools/t/approval/when/0/value: invalid regex "(?=a)" (RE2 syntax): invalid or unsupported Perl syntax: `(?=`']);
});
