import { test } from "node:test";
import assert from "node:assert/strict";
import { compilePolicy, diffPolicies, parsePolicy, validatePolicy, type PolicyDocumentInput } from "../../sdk/index.ts";

const compile = (doc: PolicyDocumentInput) => compilePolicy(parsePolicy(doc));
const read = (uri: unknown) => ({ method: "resources/read", params: { uri } });
const ALLOW = { effect: "allow" };

const DOCS = compile({
  version: "1",
  default: "deny",
  resources: {
    default: "deny",
    allow: [{ uri_regex: "^file:///srv/docs/" }, { uri_regex: "^config://app$" }],
    deny_if: [{ uri_regex: "\\.env$", on_deny: "Environment files are not readable." }, { uri_regex: "(?i)/secrets/" }],
  },
});

test("a document without the extension sections allows every other method, as before", () => {
  const policy = compile({ version: "1", default: "deny" });
  for (const input of [read("file:///etc/passwd"), { method: "prompts/get", params: { name: "x" } }, { method: "completion/complete", params: {} }, { method: "resources/read", params: null }]) {
    assert.deepEqual(policy.decideRequest(input), ALLOW, input.method);
  }
  assert.equal(policy.clientRoots, undefined);
});

test("resources: allow patterns under default deny; deny_if wins, with its on_deny or the engine's message", () => {
  assert.deepEqual(DOCS.decideRequest(read("file:///srv/docs/guide.md")), ALLOW);
  assert.deepEqual(DOCS.decideRequest(read("config://app")), ALLOW);
  assert.deepEqual(DOCS.decideRequest(read("config://app2")), { effect: "deny", rule: "(resources default deny)", message: 'Resource "config://app2" is not permitted by policy' });
  assert.deepEqual(DOCS.decideRequest(read("file:///etc/passwd")), { effect: "deny", rule: "(resources default deny)", message: 'Resource "file:///etc/passwd" is not permitted by policy' });
  assert.deepEqual(DOCS.decideRequest(read("file:///srv/docs/.env")), { effect: "deny", rule: "/resources/deny_if/0", message: "Environment files are not readable." });
  assert.deepEqual(DOCS.decideRequest(read("file:///srv/docs/SECRETS/k")), { effect: "deny", rule: "/resources/deny_if/1", message: 'Resource "file:///srv/docs/SECRETS/k" denied because the URI matches "(?i)/secrets/"' });
});

test("resources/subscribe follows the same URI rules; resources/unsubscribe and lists are not governed", () => {
  assert.equal(DOCS.decideRequest({ method: "resources/subscribe", params: { uri: "file:///etc/passwd" } }).effect, "deny");
  assert.deepEqual(DOCS.decideRequest({ method: "resources/subscribe", params: { uri: "file:///srv/docs/a" } }), ALLOW);
  assert.deepEqual(DOCS.decideRequest({ method: "resources/unsubscribe", params: { uri: "file:///etc/passwd" } }), ALLOW);
  assert.deepEqual(DOCS.decideRequest({ method: "resources/list", params: {} }), ALLOW);
});

test("URIs that servers could resolve differently are denied, so a prefix allow cannot be escaped", () => {
  const cases: [string, string][] = [
    ["file:///srv/docs/../../etc/passwd", 'a "." or ".." path segment'],
    ["file:///srv/docs/./x", 'a "." or ".." path segment'],
    ["file:///srv/docs/%2e%2e/%2e%2e/etc/passwd", "%2e encodes a character that must be written as is or not at all"],
    ["file:///srv/docs/..%2F..%2Fetc/passwd", "%2F encodes a character that must be written as is or not at all"],
    ["file:///srv/docs/.e%6Ev", "%6E encodes a character that must be written as is or not at all"],
    ["file:///srv/docs/a%00", "%00 encodes a character that must be written as is or not at all"],
    ["file:///srv/docs/100%", "a % that does not start a percent-encoding"],
    ["file:///srv/docs\\..\\..\\etc\\passwd", "it contains a backslash"],
    ["file://localhost/srv/docs/x", "a file URI must have an empty host (file:///path)"],
    ["FILE:///srv/docs/x", "the scheme must be lower case"],
    ["/srv/docs/x", "not an absolute URI with a scheme"],
    ["file:///srv/docs/x\u202E", "it contains U+202E"],
  ];
  for (const [uri, why] of cases) {
    const d = DOCS.decideRequest(read(uri));
    assert.deepEqual([d.effect, d.effect === "deny" && d.rule, d.effect === "deny" && d.message.includes(`(${why})`)], ["deny", "/resources", true], uri);
  }
  assert.equal((DOCS.decideRequest(read("file:///srv/docs/x\u202E")) as { message: string }).message, 'Resource URI "file:///srv/docs/x\\u{202E}" is ambiguous (it contains U+202E), so the policy denies it');
  assert.deepEqual(DOCS.decideRequest(read("file:///srv/docs/a%20b%25c?x=../y")), ALLOW, "encoded space and %, and .. in the query, are unambiguous");
});

test("a resources section fails closed on requests it cannot read", () => {
  const open = compile({ version: "1", default: "allow", resources: { default: "allow" } });
  assert.deepEqual(open.decideRequest(read("file:///anything")), ALLOW);
  for (const params of [undefined, null, "file:///x", [], {}, { uri: 5 }, { uri: null }]) {
    assert.deepEqual(open.decideRequest({ method: "resources/read", params }), { effect: "deny", rule: "/resources", message: "resources/read needs params.uri as a string; denied" }, JSON.stringify(params));
  }
  assert.equal(open.decideRequest({ method: "resources/read", params: Object.create({ uri: "file:///x" }) }).effect, "deny", "inherited properties are not read");
});

test("prompts: exact names; deny_if wins; default deny; odd params denied", () => {
  const policy = compile({ version: "1", default: "deny", prompts: { default: "deny", allow: [{ name: "summarize" }, { name: "debug" }], deny_if: [{ name: "debug", on_deny: "Debug prompts are off." }, { name: "__proto__" }] } });
  const get = (name: unknown) => policy.decideRequest({ method: "prompts/get", params: { name, arguments: {} } });
  assert.deepEqual(get("summarize"), ALLOW);
  assert.deepEqual(get("debug"), { effect: "deny", rule: "/prompts/deny_if/0", message: "Debug prompts are off." });
  assert.deepEqual(get("__proto__"), { effect: "deny", rule: "/prompts/deny_if/1", message: 'Prompt "__proto__" is denied by policy' });
  assert.deepEqual(get("Summarize"), { effect: "deny", rule: "(prompts default deny)", message: 'Prompt "Summarize" is not permitted by policy' });
  assert.deepEqual(get("x\u2066y"), { effect: "deny", rule: "(prompts default deny)", message: 'Prompt "x\\u{2066}y" is not permitted by policy' });
  assert.deepEqual(get(7), { effect: "deny", rule: "/prompts", message: "prompts/get needs params.name as a string; denied" });
  assert.deepEqual(policy.decideRequest({ method: "prompts/get", params: "summarize" }), { effect: "deny", rule: "/prompts", message: "prompts/get needs params.name as a string; denied" });
  assert.deepEqual(policy.decideRequest({ method: "prompts/list", params: {} }), ALLOW);
});

test("completion: deny stops every completion; allowed completions of a prompt follow the prompts rules", () => {
  const off = compile({ version: "1", default: "deny", completion: "deny" });
  assert.deepEqual(off.decideRequest({ method: "completion/complete", params: { ref: { type: "ref/prompt", name: "a" } } }), { effect: "deny", rule: "/completion", message: "Completions are not permitted by policy" });
  const byRef = compile({ version: "1", default: "deny", prompts: { default: "deny", allow: [{ name: "summarize" }] } });
  const complete = (params: unknown) => byRef.decideRequest({ method: "completion/complete", params });
  assert.deepEqual(complete({ ref: { type: "ref/prompt", name: "summarize" }, argument: { name: "lang", value: "e" } }), ALLOW);
  assert.deepEqual(complete({ ref: { type: "ref/prompt", name: "secret" }, argument: { name: "a", value: "" } }), { effect: "deny", rule: "(prompts default deny)", message: 'Prompt "secret" is not permitted by policy' });
  assert.deepEqual(complete({ ref: { type: "ref/prompt" } }), { effect: "deny", rule: "/prompts", message: "completion/complete needs params.ref.name as a string; denied" });
  assert.deepEqual(complete({ ref: { type: "ref/resource", uri: "file:///{path}" } }), ALLOW, "resource templates are not prompts");
  assert.equal(complete({}).effect, "deny", "without a ref the prompts rules cannot apply: denied");
  assert.equal(complete(null).effect, "deny");
});

test("client_roots is exposed as written, undefined when silent", () => {
  assert.equal(compile({ version: "1", default: "deny", client_roots: "allow" }).clientRoots, "allow");
  assert.equal(compile({ version: "1", default: "deny", client_roots: "deny" }).clientRoots, "deny");
});

test("deny decisions with on_deny are compiled once, not built per request", () => {
  assert.equal(DOCS.decideRequest(read("file:///srv/docs/.env")), DOCS.decideRequest(read("file:///a/.env")));
  assert.equal(DOCS.decideRequest(read("file:///srv/docs/a")), DOCS.decideRequest(read("config://app")));
});

test("explainRequest walks the rules", () => {
  const { decision, steps } = DOCS.explainRequest(read("file:///srv/docs/guide.md"));
  assert.deepEqual(decision, ALLOW);
  assert.deepEqual(steps.map((s) => [s.outcome, s.rule, s.detail]), [
    ["pass", "/resources", "the URI is in normal form"],
    ["pass", "/resources/deny_if/0", 'the URI does not match "\\\\.env$"'],
    ["pass", "/resources/deny_if/1", 'the URI does not match "(?i)/secrets/"'],
    ["pass", "(resources default deny)", 'allowed by /resources/allow/0: the URI matches "^file:///srv/docs/"'],
  ]);
});

test("the extension sections are validated with paths and plain messages", () => {
  const r = validatePolicy({
    version: "1", default: "deny",
    resources: { allow: [{ uri_regex: "(" }, "^file:"], deny_if: [{ uri: "x" }] },
    prompts: { default: "allow", allow: [{ name: "a\u202Eb" }], deny_if: [{ name: "" }] },
    completion: "sometimes", client_roots: "yes", list: "hidden",
  });
  assert.equal(r.ok, false);
  assert.deepEqual(r.errors.map((e) => `${e.path}: ${e.message}`), [
    '/client_roots: client_roots must be "allow" or "deny", got "yes"',
    '/completion: completion must be "allow" or "deny", got "sometimes"',
    '/list: list must be "visible" or "filtered", got "hidden"',
    '/prompts/allow/0/name: prompt name "a\\u{202E}b" contains U+202E, a control or invisible formatting character; names must be plain visible text',
    "/prompts/deny_if/0/name: name must not be empty",
    '/resources/allow/0/uri_regex: invalid regex "(" (RE2 syntax): missing closing ): `(`',
    '/resources/allow/1: an allow entry must be {"uri_regex": "..."}, got "^file:"',
    '/resources/default: default must be "allow" or "deny", it is missing',
    '/resources/deny_if/0/uri: unknown key "uri"',
    "/resources/deny_if/0/uri_regex: uri_regex must be a string, it is missing",
  ]);
  assert.deepEqual(r.warnings.map((w) => `${w.path}: ${w.message}`), ['/prompts/allow: allow entries have no effect: prompts default is "allow", so everything not denied is allowed already']);
});

test("policy diff: adding a section is stricter, removing one LOOSER; entries pair by value", () => {
  const base = { version: "1", default: "deny" } as const;
  const a = parsePolicy({ ...base, resources: { default: "deny", allow: [{ uri_regex: "^file:///srv/docs/" }], deny_if: [{ uri_regex: "\\.env$" }] }, prompts: { default: "allow", deny_if: [{ name: "debug", on_deny: "No." }] } });
  const b = parsePolicy({ ...base, resources: { default: "deny", allow: [{ uri_regex: "^file:///srv/" }], deny_if: [{ uri_regex: "\\.env$" }, { uri_regex: "\\.pem$" }] }, prompts: { default: "allow", deny_if: [{ name: "debug", on_deny: "Not here." }] } });
  assert.deepEqual(diffPolicies(a, b), [
    { path: "/resources/allow", direction: "looser", description: 'URIs matching "^file:///srv/" now allowed' },
    { path: "/resources/allow", direction: "stricter", description: 'URIs matching "^file:///srv/docs/" no longer allowed' },
    { path: "/resources/deny_if", direction: "stricter", description: 'URIs matching "\\\\.pem$" now denied' },
    { path: "/prompts/deny_if", direction: "neutral", description: 'on_deny message changed for prompt "debug"' },
  ]);
  assert.deepEqual(diffPolicies(parsePolicy(base), a).map((c) => [c.path, c.direction]), [["/resources", "stricter"], ["/prompts", "stricter"]]);
  assert.deepEqual(diffPolicies(a, parsePolicy(base)).map((c) => [c.path, c.direction]), [["/resources", "looser"], ["/prompts", "looser"]]);
  const opened = parsePolicy({ ...base, resources: { default: "allow" } });
  assert.deepEqual(diffPolicies(parsePolicy({ ...base, resources: { default: "deny" } }), opened), [{ path: "/resources/default", direction: "looser", description: "resources default changed deny → allow" }]);
});

test("policy diff: completion, client_roots and list", () => {
  const base = { version: "1", default: "deny" } as const;
  const d = (x: PolicyDocumentInput, y: PolicyDocumentInput) => diffPolicies(parsePolicy(x), parsePolicy(y));
  assert.deepEqual(d(base, { ...base, completion: "deny" }), [{ path: "/completion", direction: "stricter", description: "completion/complete is now denied" }]);
  assert.deepEqual(d({ ...base, completion: "deny" }, base), [{ path: "/completion", direction: "looser", description: "completion/complete is now allowed" }]);
  assert.deepEqual(d(base, { ...base, completion: "allow" }), [], "absent completion means allow");
  assert.deepEqual(d(base, { ...base, client_roots: "allow" }), [{ path: "/client_roots", direction: "looser", description: "the agent's roots are now relayed for every server (were relayed for HTTP servers only (the gateway's default))" }]);
  assert.deepEqual(d(base, { ...base, client_roots: "deny" }).map((c) => c.direction), ["stricter"]);
  assert.deepEqual(d({ ...base, client_roots: "allow" }, base).map((c) => c.direction), ["stricter"]);
  assert.deepEqual(d({ ...base, client_roots: "deny" }, base).map((c) => c.direction), ["looser"]);
  assert.deepEqual(d(base, { ...base, list: "filtered" }), [{ path: "/list", direction: "neutral", description: "tools/list now shows only tools some call could be allowed to use (calls are decided as before)" }]);
  assert.deepEqual(d(base, { ...base, list: "visible" }), []);
});
