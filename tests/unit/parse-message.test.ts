import { test } from "node:test";
import assert from "node:assert/strict";
import fc from "fast-check";
import { idKey } from "../../gateway/proxy/jsonrpc.ts";
import { parseMessage, type ParsedMessage } from "../../gateway/proxy/parse-message.ts";
import { foldKey } from "../../sdk/policy/fold-key.ts";

const parse = (text: string) => parseMessage(Buffer.from(text, "utf8"));

function refused(result: ParsedMessage): { code: number; error: string; id: unknown } {
  assert.equal(result.ok, false, `expected a refusal, got ${JSON.stringify(result)}`);
  if (result.ok) throw new Error("unreachable");
  assert.equal(result.status, 400);
  return { code: result.code, error: result.error, id: result.id };
}

const call = (params: string, id = "7") => `{"jsonrpc":"2.0","id":${id},"method":"tools/call","params":${params}}`;

test("a well-formed tools/call parses into the message, its kind and its id", () => {
  const result = parse(call('{"name":"search","arguments":{"q":"é日本🙂","n":9007199254740992}}'));
  assert.deepEqual(result, {
    ok: true,
    kind: "request",
    id: 7,
    message: { jsonrpc: "2.0", id: 7, method: "tools/call", params: { name: "search", arguments: { q: "é日本🙂", n: 9007199254740992 } } },
  });
});

test("notifications and responses are classified; a string id stays a string", () => {
  assert.deepEqual(parse('{"jsonrpc":"2.0","method":"notifications/initialized"}'), { ok: true, kind: "notification", message: { jsonrpc: "2.0", method: "notifications/initialized" } });
  assert.deepEqual(parse('{"jsonrpc":"2.0","id":"1","result":{"roots":[]}}'), { ok: true, kind: "response", id: "1", message: { jsonrpc: "2.0", id: "1", result: { roots: [] } } });
});

test("duplicate keys are refused, exact or equal after case folding, anywhere in the message", () => {
  assert.deepEqual(refused(parse(call('{"name":"read","name":"delete_all"}'))), { code: -32600, error: 'Invalid request: duplicate key "name" in /params', id: 7 });
  assert.deepEqual(refused(parse(call('{"name":"read","Name":"delete_all"}'))), {
    code: -32600,
    error: 'Invalid request: duplicate key "name" in /params: "Name" differs from it only in letter case',
    id: 7,
  });
  assert.equal(refused(parse('{"jsonrpc":"2.0","id":1,"method":"ping","METHOD":"tools/call","params":{"name":"x"}}')).error, 'Invalid request: duplicate key "method" at the top level: "METHOD" differs from it only in letter case');
  assert.equal(refused(parse(call('{"name":"transfer","arguments":{"amount":1,"Amount":1000}}'))).error, 'Invalid request: duplicate key "amount" in /params/arguments: "Amount" differs from it only in letter case');
  // The Kelvin sign folds to "k" in Go's encoding/json.
  assert.equal(refused(parse(call('{"name":"x","arguments":{"list":[{"kind":1,"\u212Aind":2}]}}'))).error, 'Invalid request: duplicate key "kind" in /params/arguments/list/0: "\u212Aind" differs from it only in letter case');
});

test("keys are compared after JSON unescaping", () => {
  assert.equal(refused(parse(call('{"n\\u0061me":"delete_all","name":"read"}'))).error, 'Invalid request: duplicate key "name" in /params');
  assert.equal(refused(parse(call('{"name":"read","\\u004eAME":"delete_all"}'))).error, 'Invalid request: duplicate key "name" in /params: "NAME" differs from it only in letter case');
});

test("a key that case-folds to a field the gateway reads, without being it, is refused at the top, in params and in params._meta", () => {
  assert.deepEqual(refused(parse('{"jsonrpc":"2.0","id":1,"Method":"tools/call","params":{"name":"delete_all"}}')), {
    code: -32600,
    error: 'Invalid request: key "Method" at the top level differs from "method" only in letter case',
    id: 1,
  });
  assert.equal(refused(parse(call('{"Name":"delete_all"}'))).error, 'Invalid request: key "Name" in /params differs from "name" only in letter case');
  assert.equal(refused(parse(call('{"name":"x","Arguments":{}}'))).error, 'Invalid request: key "Arguments" in /params differs from "arguments" only in letter case');
  assert.equal(refused(parse(call('{"name":"x","_META":{}}'))).error, 'Invalid request: key "_META" in /params differs from "_meta" only in letter case');
  assert.equal(refused(parse(call('{"name":"x","_meta":{"progresstoken":"t"}}'))).error, 'Invalid request: key "progresstoken" in /params/_meta differs from "progressToken" only in letter case');
  // "ſ" (long s) folds to "s" in Go's encoding/json.
  assert.equal(refused(parse('{"jsonrpc":"2.0","id":1,"method":"tools/call","paramſ":{"name":"delete_all"},"params":{"name":"read"}}')).error, 'Invalid request: key "paramſ" at the top level differs from "params" only in letter case');
  assert.equal(refused(parse('{"jsonrpc":"2.0","id":1,"method":"resources/read","params":{"URI":"file:///etc/passwd"}}')).error, 'Invalid request: key "URI" in /params differs from "uri" only in letter case');
});

test("case-variant keys inside arguments are left to the policy when they are not duplicates", () => {
  const result = parse(call('{"name":"transfer","arguments":{"AMOUNT":20000}}'));
  assert.equal(result.ok, true);
});

test("keys such as __proto__ are ordinary keys of the parsed message", () => {
  const result = parse(call('{"name":"x","arguments":{"__proto__":{"admin":true},"constructor":1}}'));
  assert.equal(result.ok, true);
  if (!result.ok) return;
  const args = result.message.params?.arguments as Record<string, unknown>;
  assert.deepEqual(Object.keys(args), ["__proto__", "constructor"]);
  assert.equal(JSON.stringify(result.message.params), '{"name":"x","arguments":{"__proto__":{"admin":true},"constructor":1}}');
});

test("numbers a double cannot hold exactly, or that overflow, are refused naming their path", () => {
  assert.deepEqual(refused(parse(call('{"name":"transfer","arguments":{"amount":9007199254740993}}'))), {
    code: -32600,
    error: "Invalid request: the number in /params/arguments/amount is an integer beyond 2^53 that a double cannot hold exactly (send it as a string)",
    id: 7,
  });
  assert.equal(refused(parse(call('{"name":"transfer","arguments":{"amount":1e999}}'))).error, "Invalid request: the number in /params/arguments/amount is too large: it overflows a double (send it as a string)");
  assert.equal(refused(parse(call('{"name":"transfer","arguments":{"a":[0,-1E+400]}}'))).error, "Invalid request: the number in /params/arguments/a/1 is too large: it overflows a double (send it as a string)");
  assert.equal(refused(parse(call(`{"name":"transfer","arguments":{"amount":1${"0".repeat(400)}.5}}`))).error, "Invalid request: the number in /params/arguments/amount is too large: it overflows a double (send it as a string)");
  assert.equal(refused(parse(call('{"name":"transfer","arguments":{"amount":1}}', "9007199254740993"))).error, "Invalid request: the number in /id is an integer beyond 2^53 that a double cannot hold exactly (send it as a string)");
});

test("numbers a double holds exactly pass: 2^53, 2^60, fractions and exponents", () => {
  const result = parse(call('{"name":"transfer","arguments":{"a":9007199254740992,"b":-9007199254740992,"c":1152921504606846976,"d":0.1,"e":1e300,"f":-0}}'));
  assert.equal(result.ok, true);
  if (result.ok) assert.deepEqual(result.message.params?.arguments, { a: 9007199254740992, b: -9007199254740992, c: 1152921504606846976, d: 0.1, e: 1e300, f: -0 });
});

test("a request's id must be a string or an integer", () => {
  for (const id of ["null", "1.5", "true", "{}", "[]", '{"a":1}']) {
    assert.deepEqual(refused(parse(call('{"name":"read"}', id))), {
      code: -32600,
      error: 'Invalid request: "id" must be a string or an integer (not null, a fraction, a boolean, an object or an array)',
      id: null,
    }, id);
  }
  assert.equal(refused(parse('{"jsonrpc":"2.0","id":null,"method":"ping"}')).code, -32600);
});

test("tools/call must be a request with an object params, a non-empty name and object arguments", () => {
  assert.deepEqual(refused(parse('{"jsonrpc":"2.0","method":"tools/call","params":{"name":"delete_all"}}')), {
    code: -32600,
    error: 'Invalid request: tools/call must be a request with an "id", not a notification',
    id: null,
  });
  assert.equal(refused(parse(call("[]"))).error, 'Invalid request: tools/call needs "params" to be an object');
  assert.equal(refused(parse('{"jsonrpc":"2.0","id":3,"method":"tools/call"}')).error, 'Invalid request: tools/call needs "params" to be an object');
  assert.equal(refused(parse(call('{"name":""}'))).error, 'Invalid request: tools/call needs "name" in /params to be a non-empty string');
  assert.equal(refused(parse(call('{"name":7}'))).error, 'Invalid request: tools/call needs "name" in /params to be a non-empty string');
  for (const args of ["[]", "null", '"x"', "1"]) assert.equal(refused(parse(call(`{"name":"x","arguments":${args}}`))).error, 'Invalid request: "arguments" in /params must be an object', args);
});

test("batches, non-objects and a wrong or missing jsonrpc are refused", () => {
  assert.deepEqual(refused(parse('[{"jsonrpc":"2.0","id":1,"method":"tools/call","params":{"name":"delete_all"}}]')), {
    code: -32600,
    error: "Invalid request: batches (JSON arrays of messages) are not supported; send one message per request",
    id: null,
  });
  assert.equal(refused(parse("[]")).code, -32600);
  assert.equal(refused(parse('"tools/call"')).error, "Invalid request: expected a JSON-RPC 2.0 message (a JSON object)");
  assert.equal(refused(parse('{"id":1,"method":"tools/call","params":{"name":"x"}}')).error, 'Invalid request: "jsonrpc" must be "2.0"');
  assert.equal(refused(parse('{"jsonrpc":"2.0 ","id":1,"method":"tools/call","params":{"name":"x"}}')).error, 'Invalid request: "jsonrpc" must be "2.0"');
  assert.equal(refused(parse('{"jsonrpc":"2.0","id":1}')).error, 'Invalid request: a message needs "method", or exactly one of "result" and "error"');
  assert.equal(refused(parse('{"jsonrpc":"2.0","id":1,"method":"ping","result":{}}')).error, 'Invalid request: a message with "method" cannot carry "result" or "error"');
});

test("nesting deeper than the limit is refused naming the limit, also 3,000 levels deep", () => {
  const deep = "[".repeat(3000) + "]".repeat(3000);
  const result = refused(parse(deep));
  assert.equal(result.code, -32600);
  assert.match(result.error, /^Invalid request: the message nests deeper than 64 levels in \/0\/0\/0/);
  const args = (levels: number) => call(`{"name":"x","arguments":{"a":${"[".repeat(levels)}${"]".repeat(levels)}}}`);
  assert.equal(parse(args(61)).ok, true, "64 levels in all");
  assert.match(refused(parse(args(62))).error, /nests deeper than 64 levels in \/params\/arguments\/a\/0\/0/);
  assert.equal(parseMessage(Buffer.from(args(10)), { maxDepth: 8 }).ok, false);
});

test("bodies that are not UTF-8 or not JSON are parse errors, with no part of the body echoed", () => {
  assert.deepEqual(refused(parseMessage(Buffer.from([0x7b, 0x22, 0x61, 0x22, 0x3a, 0x22, 0xc3, 0x28, 0x22, 0x7d]))), { code: -32700, error: "Parse error: the body is not valid UTF-8", id: null });
  assert.deepEqual(refused(parseMessage(Buffer.from([0xed, 0xa0, 0x80]))), { code: -32700, error: "Parse error: the body is not valid UTF-8", id: null }, "an encoded surrogate");
  assert.deepEqual(refused(parse('{"jsonrpc":"2.0","id":1,"method":"tools/call","params":{"name":"secret-value"')), { code: -32700, error: "Parse error: the body is not valid JSON", id: null });
  assert.equal(refused(parse("")).code, -32700);
  assert.equal(refused(parse("\uFEFF{}")).code, -32700);
});

test("idKey tells 1 and \"1\" apart", () => {
  assert.notEqual(idKey(1), idKey("1"));
  assert.equal(idKey(1), idKey(1));
  assert.equal(idKey("a"), idKey("a"));
});

/** JSON values whose numbers a double holds exactly and whose objects have no keys equal after folding. */
const jsonValue = fc.letrec((tie) => ({
  value: fc.oneof(
    { depthSize: "small", maxDepth: 6 },
    fc.constant(null),
    fc.boolean(),
    fc.string({ unit: "binary" }),
    fc.maxSafeInteger(),
    fc.double({ noNaN: true, noDefaultInfinity: true }).filter((x) => !Number.isInteger(x) || Math.abs(x) <= 2 ** 53 || Math.abs(x) >= 1e21).map((x) => (Object.is(x, -0) ? 0 : x)),
    fc.array(tie("value"), { maxLength: 5 }),
    fc.dictionary(fc.string({ unit: "binary", maxLength: 6 }), tie("value"), { maxKeys: 5, noNullPrototype: true }).filter((o) => new Set(Object.keys(o).map(foldKey)).size === Object.keys(o).length),
  ),
})).value;

test("property: any JSON value without case-fold duplicate keys round-trips as tools/call arguments", () => {
  fc.assert(
    fc.property(jsonValue, (value) => {
      const message = { jsonrpc: "2.0", id: 1, method: "tools/call", params: { name: "t", arguments: { value } } };
      const result = parseMessage(Buffer.from(JSON.stringify(message)));
      assert.equal(result.ok, true, JSON.stringify(result));
      if (result.ok) assert.deepStrictEqual(result.message, message);
    }),
    { numRuns: 500 },
  );
});

test("property: parseMessage never throws, on any bytes or any mutation of a JSON text", () => {
  fc.assert(fc.property(fc.uint8Array({ maxLength: 300 }), (bytes) => void parseMessage(Buffer.from(bytes))), { numRuns: 1000 });
  const mutated = fc.tuple(fc.json(), fc.nat(), fc.string({ unit: "binary", maxLength: 4 }), fc.nat({ max: 4 })).map(([text, at, insert, cut]) => {
    const i = at % (text.length + 1);
    return text.slice(0, i) + insert + text.slice(i + cut);
  });
  fc.assert(
    fc.property(mutated, (text) => {
      const result = parseMessage(Buffer.from(text));
      if (result.ok) assert.deepStrictEqual(result.message, JSON.parse(text));
    }),
    { numRuns: 1000 },
  );
});
