import { test } from "node:test";
import assert from "node:assert/strict";
import { compilePolicy, diffPolicies, parsePolicy, validatePolicy } from "../../sdk/index.ts";

const policy = parsePolicy({
  version: "1",
  default: "deny",
  tools: { delete_cache: {} },
  risk: {
    read: "allow",
    write: { limits: [{ counter: "writes", window: "minute", max: 30 }] },
    execute: "deny",
    destructive: "hide",
  },
});
const compiled = compilePolicy(policy, { name: "p" });
const call = (tool: string, category?: "read" | "write" | "execute" | "financial" | "destructive" | "other", changed?: boolean) =>
  compiled.decide({ tool, grant: "g", server: "s", now: 0, ...(category ? { category } : {}), ...(changed !== undefined ? { changed } : {}) });

test("risk rules decide unlisted tools by their category", () => {
  assert.deepEqual([call("get_x", "read").effect, call("get_x", "read").rule], ["allow", ""]);
  const write = call("create_x", "write");
  assert.equal(write.effect, "allow");
  assert.deepEqual(write.reservations.map((r) => [r.rule, r.max, r.key.includes("risk/write")]), [["/risk/write/limits/writes", 30, true]]);
  assert.deepEqual(call("run_x", "execute"), { effect: "deny", rule: "/risk/execute", message: 'Tool "run_x" is a execute tool, and this policy denies execute tools', reservations: [] });
  assert.deepEqual([call("drop_x", "destructive").rule, call("drop_x", "destructive").message], ["/risk/destructive", 'Tool "drop_x" is hidden by policy (risk category "destructive")']);
});

test("a tool listed by name follows its own rules, whatever its category", () => {
  assert.equal(call("delete_cache", "destructive").effect, "allow");
});

test("no category known, or no rule for it: the default applies", () => {
  assert.equal(call("get_x").rule, "(default deny)");
  assert.equal(call("pay_x", "financial").rule, "(default deny)");
});

test("tools/list: risk-hidden tools are removed; risk-denied ones stay listed, and list: filtered removes them too", () => {
  const tools = [{ name: "get_x", c: "read" }, { name: "create_x", c: "write" }, { name: "run_x", c: "execute" }, { name: "drop_x", c: "destructive" }, { name: "delete_cache", c: "destructive" }] as const;
  assert.deepEqual(compiled.filterTools(tools, (t) => t.c).map((t) => t.name), ["get_x", "create_x", "run_x", "delete_cache"]);
  const filtered = compilePolicy({ ...policy, list: "filtered" });
  assert.deepEqual(filtered.filterTools(tools, (t) => t.c).map((t) => t.name), ["get_x", "create_x", "delete_cache"]);
});

test("pin: a changed tool is denied until reviewed; without pin it is not", () => {
  const pinned = compilePolicy(parsePolicy({ version: "1", default: "allow", pin: true }));
  const d = pinned.decide({ tool: "search", grant: "g", server: "crm", changed: true });
  assert.deepEqual([d.effect, d.rule], ["deny", "(pinned)"]);
  assert.match(d.message, /changed since it was last reviewed.*toolgate tools crm --review search/);
  assert.equal(pinned.decide({ tool: "search", grant: "g", server: "crm", changed: false }).effect, "allow");
  assert.equal(compilePolicy(parsePolicy({ version: "1", default: "allow" })).decide({ tool: "search", grant: "g", server: "crm", changed: true }).effect, "allow");
});

test("risk and pin are validated with paths", () => {
  const r = validatePolicy({ version: "1", default: "deny", pin: "yes", risk: { harmless: "allow", write: "maybe", execute: { limits: [{ counter: "a", window: "minute", max: 1 }, { counter: "a", window: "hour", max: 2 }] } } });
  assert.equal(r.ok, false);
  assert.deepEqual(r.errors.map((e) => [e.path, e.message]), [
    ["/pin", 'pin must be true or false, got "yes"'],
    ["/risk/execute/limits/1/counter", 'duplicate counter "a" (also used by /risk/execute/limits/0)'],
    ["/risk/harmless", 'unknown key "harmless"'],
    ["/risk/write", 'a risk rule must be "allow", "deny", "hide", "approval" or {"limits": [...]}, got "maybe"'],
  ]);
});

test("policy diff reports risk and pin changes with their direction", () => {
  const before = parsePolicy({ version: "1", default: "deny", risk: { read: "allow", write: { limits: [{ counter: "w", window: "minute", max: 30 }] } } });
  const after = parsePolicy({ version: "1", default: "deny", pin: true, risk: { read: "allow", write: { limits: [{ counter: "w", window: "minute", max: 60 }] }, destructive: "hide" } });
  assert.deepEqual(diffPolicies(before, after), [
    { path: "/pin", direction: "stricter", description: "pin enabled: calls to tools whose definition changed since review are denied" },
    { path: "/risk/write/limits/w", direction: "looser", description: "max raised from 30 to 60 per minute" },
    { path: "/risk/destructive", direction: "stricter", description: "unlisted destructive tools are now hidden (were denied)" },
  ]);
});

test("risk: approval makes a person approve every call of the category", () => {
  const p = compilePolicy(parsePolicy({ version: "1", default: "deny", risk: { financial: "approval" } }));
  const d = p.decide({ tool: "refund", grant: "g", server: "s", category: "financial" });
  assert.deepEqual([d.effect, d.rule, d.effect === "approval" && d.approval.reason], ["approval", "/risk/financial", "every call"]);
  assert.deepEqual(p.filterTools([{ name: "refund" }], () => "financial").map((t) => t.name), ["refund"]);
  const before = parsePolicy({ version: "1", default: "deny", risk: { financial: "allow" } });
  assert.deepEqual(diffPolicies(before, parsePolicy({ version: "1", default: "deny", risk: { financial: "approval" } })).map((c) => [c.path, c.direction]), [["/risk/financial", "stricter"]]);
});
