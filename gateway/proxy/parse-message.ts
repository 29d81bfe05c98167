import { isUtf8 } from "node:buffer";
import { foldKey } from "../../sdk/policy/fold-key.ts";
import type { JsonRpcId, JsonRpcMessage } from "./jsonrpc.ts";


export type ParsedMessage =
  | { ok: true; message: JsonRpcMessage; kind: "request" | "notification" | "response"; id?: JsonRpcId }
  | { ok: false; status: 400; code: -32600 | -32700; error: string; id: JsonRpcId | null };

const DEFAULT_MAX_DEPTH = 64;

/**
 * Keys the relay reads, by level. A key that case-folds to one of these without being it exactly is refused:
 * an upstream that decodes case-insensitively (Go's encoding/json) would read it as the field the gateway
 * did not see. `params`: tools/call and prompts/get (`name`, `arguments`), resources/read and subscriptions
 * (`uri`), completion/complete (`ref`, `argument`), list pagination (`cursor`), notifications/cancelled
 * (`requestId`), notifications/progress (`progressToken`), and `_meta`.
 */
const TOP_KEYS = byFold(["jsonrpc", "id", "method", "params", "result", "error"]);
const PARAMS_KEYS = byFold(["name", "arguments", "_meta", "uri", "ref", "argument", "cursor", "requestId", "progressToken"]);
const META_KEYS = byFold(["progressToken"]);
/** An agent's answer to a server request: the gateway reads `roots` (roots/list answers it may replace). */
const RESULT_KEYS = byFold(["roots"]);

/** The protected keys of each level (none for other objects). */
const KNOWN_KEYS: readonly (Map<string, string> | undefined)[] = [undefined, TOP_KEYS, PARAMS_KEYS, META_KEYS, RESULT_KEYS];

function byFold(names: string[]): Map<string, string> {
  return new Map(names.map((name) => [foldKey(name), name]));
}

/**
 * Parses one request body from an agent into the single message the gateway decides on and forwards
 * (relay-spec "Request parsing"). Never throws: every problem is a 400 with a JSON-RPC error naming the key or
 * path, and the request's id when it can be read.
 *
 * @example
 * parseMessage(Buffer.from('{"jsonrpc":"2.0","id":1,"method":"tools/call","params":{"name":"search"}}'))
 * // { ok: true, kind: "request", id: 1, message: {...} }
 */
export function parseMessage(body: Buffer, options?: { maxDepth?: number }): ParsedMessage {
  if (!isUtf8(body)) return failure(-32700, "Parse error: the body is not valid UTF-8", null);
  const text = body.toString("utf8");
  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch {
    // The engine's message quotes the body, which may hold argument values: never echo it.
    return failure(-32700, "Parse error: the body is not valid JSON", null);
  }
  const id = readableId(value);
  const problem = scan(text, options?.maxDepth ?? DEFAULT_MAX_DEPTH);
  if (problem !== undefined) return failure(-32600, `Invalid request: ${problem}`, id);
  return shape(value, id);
}

function failure(code: -32600 | -32700, error: string, id: JsonRpcId | null): ParsedMessage {
  return { ok: false, status: 400, code, error, id };
}

function isId(id: unknown): id is JsonRpcId {
  return typeof id === "string" || Number.isSafeInteger(id);
}

function readableId(value: unknown): JsonRpcId | null {
  if (value === null || typeof value !== "object" || Array.isArray(value)) return null;
  const id = (value as { id?: unknown }).id;
  return isId(id) ? id : null;
}

function isObject(value: unknown): value is Record<string, unknown> {
  return value !== null && typeof value === "object" && !Array.isArray(value);
}

/** The JSON-RPC 2.0 and MCP shape rules, on a value already free of structural problems. */
function shape(value: unknown, id: JsonRpcId | null): ParsedMessage {
  const invalid = (why: string) => failure(-32600, `Invalid request: ${why}`, id);
  if (Array.isArray(value)) return invalid("batches (JSON arrays of messages) are not supported; send one message per request");
  if (!isObject(value)) return invalid("expected a JSON-RPC 2.0 message (a JSON object)");
  const message = value as JsonRpcMessage & Record<string, unknown>;
  if (message.jsonrpc !== "2.0") return invalid('"jsonrpc" must be "2.0"');
  const hasId = "id" in message;
  if ("method" in message) {
    if (typeof message.method !== "string" || message.method === "") return invalid('"method" must be a non-empty string');
    if ("result" in message || "error" in message) return invalid('a message with "method" cannot carry "result" or "error"');
    if (hasId && !isId(message.id)) return invalid('"id" must be a string or an integer (not null, a fraction, a boolean, an object or an array)');
    if ("params" in message && (message.params === null || typeof message.params !== "object")) return invalid('"params" must be an object or an array');
    if (message.method === "tools/call") {
      if (!hasId) return invalid('tools/call must be a request with an "id", not a notification');
      const params: unknown = message.params;
      if (!isObject(params)) return invalid("tools/call needs \"params\" to be an object");
      if (typeof params.name !== "string" || params.name === "") return invalid('tools/call needs "name" in /params to be a non-empty string');
      if ("arguments" in params && !isObject(params.arguments)) return invalid('"arguments" in /params must be an object');
    }
    return hasId ? { ok: true, message, kind: "request", id: message.id as JsonRpcId } : { ok: true, message, kind: "notification" };
  }
  const hasResult = "result" in message;
  if (hasResult === "error" in message) return invalid('a message needs "method", or exactly one of "result" and "error"');
  if (!hasId) return invalid('a response needs the "id" of the request it answers');
  if (!isId(message.id) && !(message.id === null && !hasResult)) return invalid('"id" must be a string or an integer');
  return message.id === null ? { ok: true, message, kind: "response" } : { ok: true, message, kind: "response", id: message.id as JsonRpcId };
}

/** Which protected key set applies to an object: the message itself, its params, params._meta, or none. */
const Level = { Other: 0, Top: 1, Params: 2, Meta: 3, Result: 4 } as const;
type Level = (typeof Level)[keyof typeof Level];

interface Frame {
  object: boolean;
  level: Level;
  /** This object's keys so far, folded and as written, side by side; a Map (folded -> written) once there are many. */
  folded: string[];
  written: string[];
  count: number;
  many: Map<string, string> | undefined;
  /** The current key (object) or index (array): the next segment of the path. */
  key: string;
  index: number;
  expectKey: boolean;
}

/** Up to this many keys, an object's keys are searched linearly (cheaper than a Map for the usual small objects). */
const LINEAR_KEYS = 8;

const MAX_SAFE_DIGITS = 15; // every integer literal of at most 15 characters is below 2^53
const MAX_PLAIN_DIGITS = 300; // a literal without exponent needs more than 308 integer digits to overflow

/**
 * One pass over valid JSON text: nesting depth, duplicate and case-variant keys, numbers a double cannot hold.
 * Returns the first problem found, or undefined.
 */
function scan(text: string, maxDepth: number): string | undefined {
  const stack: Frame[] = [];
  let depth = 0;
  const n = text.length;
  let i = 0;
  while (i < n) {
    const c = text.charCodeAt(i);
    if (c === 0x7b /* { */ || c === 0x5b /* [ */) {
      if (depth === maxDepth) return `the message nests deeper than ${maxDepth} levels ${where(stack, depth)}`;
      const parent = depth > 0 ? stack[depth - 1] : undefined;
      let level: Level = Level.Other;
      if (c === 0x7b) {
        if (parent === undefined) level = Level.Top;
        else if (parent.level === Level.Top && parent.key === "params") level = Level.Params;
        else if (parent.level === Level.Params && parent.key === "_meta") level = Level.Meta;
        else if (parent.level === Level.Top && parent.key === "result") level = Level.Result;
      }
      let frame = stack[depth];
      if (frame === undefined) {
        frame = { object: false, level, folded: [], written: [], count: 0, many: undefined, key: "", index: 0, expectKey: false };
        stack[depth] = frame;
      }
      frame.object = c === 0x7b;
      frame.level = level;
      frame.count = 0;
      frame.many = undefined;
      frame.key = "";
      frame.index = 0;
      frame.expectKey = frame.object;
      depth++;
      i++;
    } else if (c === 0x7d /* } */ || c === 0x5d /* ] */) {
      depth--;
      i++;
    } else if (c === 0x2c /* , */) {
      const frame = stack[depth - 1] as Frame;
      if (frame.object) frame.expectKey = true;
      else frame.index++;
      i++;
    } else if (c === 0x22 /* " */) {
      const end = stringEnd(text, i);
      const frame = depth > 0 ? stack[depth - 1] : undefined;
      if (frame !== undefined && frame.expectKey) {
        frame.expectKey = false;
        let escaped = false;
        let ascii = true;
        let lower = false;
        for (let k = i + 1; k < end; k++) {
          const ch = text.charCodeAt(k);
          if (ch === 0x5c) escaped = true;
          else if (ch >= 0x80) ascii = false;
          else if (ch >= 0x61 && ch <= 0x7a) lower = true;
        }
        const key = escaped ? (JSON.parse(text.slice(i, end + 1)) as string) : text.slice(i + 1, end);
        // foldKey of an ASCII key is its upper case; computing that here saves a regex test per key.
        const folded = escaped || !ascii ? foldKey(key) : lower ? key.toUpperCase() : key;
        const problem = checkKey(frame, key, folded, stack, depth);
        if (problem !== undefined) return problem;
        frame.key = key;
      }
      i = end + 1;
    } else if (c === 0x2d /* - */ || (c >= 0x30 && c <= 0x39)) {
      let j = i + 1;
      let fraction = false;
      let exponent = false;
      for (; j < n; j++) {
        const d = text.charCodeAt(j);
        if (d >= 0x30 && d <= 0x39) continue;
        if (d === 0x2e /* . */) fraction = true;
        else if (d === 0x65 /* e */ || d === 0x45 /* E */ || d === 0x2b /* + */ || d === 0x2d /* - */) exponent = true;
        else break;
      }
      const integer = !fraction && !exponent;
      // Shorter literals without an exponent are exact (integers) or cannot overflow (fractions).
      if (exponent || j - i > (integer ? MAX_SAFE_DIGITS : MAX_PLAIN_DIGITS)) {
        const problem = checkNumber(text.slice(i, j), integer);
        if (problem !== undefined) return `the number ${where(stack, depth)} ${problem}`;
      }
      i = j;
    } else {
      i++; // whitespace, ':' and the letters of true, false, null
    }
  }
  return undefined;
}

/** Index of the quote closing the string that opens at `start`. */
function stringEnd(text: string, start: number): number {
  let end = text.indexOf('"', start + 1);
  for (;;) {
    let backslashes = 0;
    while (text.charCodeAt(end - 1 - backslashes) === 0x5c) backslashes++;
    if (backslashes % 2 === 0) return end;
    end = text.indexOf('"', end + 1);
  }
}

function checkKey(frame: Frame, key: string, folded: string, stack: Frame[], depth: number): string | undefined {
  const earlier = earlierKey(frame, folded);
  if (earlier !== undefined) {
    const location = where(stack, depth - 1);
    return earlier === key ? `duplicate key ${quote(key)} ${location}` : `duplicate key ${quote(earlier)} ${location}: ${quote(key)} differs from it only in letter case`;
  }
  remember(frame, folded, key);
  const known = KNOWN_KEYS[frame.level];
  const name = known?.get(folded);
  if (name !== undefined && name !== key) return `key ${quote(key)} ${where(stack, depth - 1)} differs from ${quote(name)} only in letter case`;
  return undefined;
}

function earlierKey(frame: Frame, folded: string): string | undefined {
  if (frame.many !== undefined) return frame.many.get(folded);
  for (let k = 0; k < frame.count; k++) if (frame.folded[k] === folded) return frame.written[k];
  return undefined;
}

function remember(frame: Frame, folded: string, key: string): void {
  if (frame.many !== undefined) {
    frame.many.set(folded, key);
    return;
  }
  frame.folded[frame.count] = folded;
  frame.written[frame.count] = key;
  frame.count++;
  if (frame.count > LINEAR_KEYS) frame.many = new Map(frame.folded.slice(0, frame.count).map((f, k) => [f, frame.written[k] as string]));
}

/**
 * Integer literals must come through exactly: an upstream that reads integers exactly (Python, Go into int64)
 * would see another number than the policy. Literals with a fraction or an exponent are floating point for
 * every reader, so only their overflow to Infinity is refused.
 */
function checkNumber(literal: string, integer: boolean): string | undefined {
  const value = Number(literal);
  if (!Number.isFinite(value)) return "is too large: it overflows a double (send it as a string)";
  if (integer && BigInt(literal) !== BigInt(value)) return "is an integer beyond 2^53 that a double cannot hold exactly (send it as a string)";
  return undefined;
}

/** "in <JSON pointer>" of the value the first `count` frames lead to. */
function where(stack: Frame[], count: number): string {
  if (count === 0) return "at the top level";
  let pointer = "";
  for (let k = 0; k < count; k++) {
    const frame = stack[k] as Frame;
    const segment = frame.object ? frame.key : String(frame.index);
    pointer += "/" + segment.replaceAll("~", "~0").replaceAll("/", "~1");
  }
  return `in ${shorten(pointer)}`;
}

const MAX_SHOWN = 120;

function shorten(text: string): string {
  return text.length <= MAX_SHOWN ? text : `${text.slice(0, MAX_SHOWN)}…`;
}

function quote(key: string): string {
  return JSON.stringify(shorten(key));
}
