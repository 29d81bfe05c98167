import { test } from "node:test";
import assert from "node:assert/strict";
import { SseSplitter, sseEvent, type SseEvent } from "../../gateway/proxy/sse.ts";

interface Seen {
  raw: string;
  data: string | undefined;
  id: string | undefined;
}

/** Feeds `chunks` through a splitter; returns the bytes sent downstream and the events seen. */
function run(chunks: Buffer[], rewrite: (event: SseEvent) => Buffer | undefined = () => undefined): { out: Buffer; events: Seen[] } {
  const events: Seen[] = [];
  const splitter = new SseSplitter((event) => {
    events.push({ raw: event.raw.toString("utf8"), data: event.data(), id: event.id() });
    return rewrite(event);
  });
  const out: Buffer[] = [];
  for (const chunk of chunks) out.push(...splitter.push(chunk));
  out.push(...splitter.end());
  return { out: Buffer.concat(out), events };
}

const splitAt = (bytes: Buffer, ...offsets: number[]) => [0, ...offsets, bytes.length].slice(1).map((end, k, ends) => bytes.subarray(k === 0 ? 0 : (ends[k - 1] as number), end));
const byteByByte = (bytes: Buffer) => Array.from(bytes, (_, k) => bytes.subarray(k, k + 1));

test("multi-byte characters split at every byte offset come through byte-identical", () => {
  const stream = Buffer.from('event: message\nid: 1\ndata: {"text":"é日本🙂 café"}\n\nevent: message\ndata: {"t":"🙂🙂"}\n\n', "utf8");
  for (let k = 1; k < stream.length; k++) {
    const { out, events } = run(splitAt(stream, k));
    assert.ok(out.equals(stream), `split at byte ${k}`);
    assert.deepEqual(events.map((e) => e.data), ['{"text":"é日本🙂 café"}', '{"t":"🙂🙂"}'], `split at byte ${k}`);
    assert.deepEqual(events.map((e) => e.id), ["1", undefined]);
  }
});

test("every blank-line form ends an event: LF LF, CRLF CRLF, CR CR and mixed forms", () => {
  const forms = ["\n\n", "\r\n\r\n", "\r\r", "\r\n\n", "\n\r\n", "\r\n\r", "\n\r", "\r\n"];
  for (const form of forms) {
    const stream = Buffer.from(`data: a${form}data: b${form}`);
    const expected = form === "\r\n" ? [] : ["a", "b"];
    for (const chunks of [[stream], byteByByte(stream)]) {
      const { out, events } = run(chunks);
      assert.ok(out.equals(stream), JSON.stringify(form));
      assert.deepEqual(events.map((e) => e.data), expected, JSON.stringify(form));
    }
  }
  const { events } = run([Buffer.from("data: a\r\n\r\ndata: b\n\ndata: c\r\rdata: d\r\n\n")]);
  assert.deepEqual(events.map((e) => e.raw), ["data: a\r\n\r\n", "data: b\n\n", "data: c\r\r", "data: d\r\n\n"]);
});

test("a CRLF is one line end even when its CR and LF arrive in different chunks", () => {
  const stream = Buffer.from("data: a\r\ndata: b\r\n\r\ndata: c\r\n\r\n");
  for (let k = 1; k < stream.length; k++) {
    const { out, events } = run(splitAt(stream, k));
    assert.ok(out.equals(stream), `split at ${k}`);
    // Split right after the CR of the blank line, the event goes out at once and its LF follows on its own.
    const first = k === 19 ? "data: a\r\ndata: b\r\n\r" : "data: a\r\ndata: b\r\n\r\n";
    const second = k === 30 ? "data: c\r\n\r" : "data: c\r\n\r\n";
    assert.deepEqual(events.map((e) => e.raw), [first, second], `split at ${k}`);
    assert.deepEqual(events.map((e) => e.data), ["a\nb", "c"]);
  }
});

test("an event split into 1-byte chunks is seen once, whole", () => {
  const stream = Buffer.from(': keep-alive\n\nevent: message\nid: 42\nretry: 100\ndata: {"jsonrpc":"2.0",\ndata: "id":7}\n\n');
  const { out, events } = run(byteByByte(stream));
  assert.ok(out.equals(stream));
  assert.deepEqual(events, [
    { raw: ": keep-alive\n\n", data: undefined, id: undefined },
    { raw: 'event: message\nid: 42\nretry: 100\ndata: {"jsonrpc":"2.0",\ndata: "id":7}\n\n', data: '{"jsonrpc":"2.0",\n"id":7}', id: "42" },
  ]);
});

test("data fields follow the EventSource rules: one optional space, a bare field name, no colon", () => {
  const { events } = run([Buffer.from("data:x\ndata:  two\ndata\ndata: \nid\n\n")]);
  assert.deepEqual(events, [{ raw: "data:x\ndata:  two\ndata\ndata: \nid\n\n", data: "x\n two\n\n", id: "" }]);
});

test("a replaced event is swapped whole; the events around it pass byte for byte", () => {
  const stream = Buffer.from('data: {"id":1}\r\n\r\ndata: {"id":2,"result":{"tools":[]}}\r\n\r\ndata: {"id":3}\r\n\r\n');
  const rewrite = (event: SseEvent) => (event.raw.includes('"result"') ? Buffer.from(sseEvent('{"id":2,"result":{"tools":["x"]}}')) : undefined);
  const expected = 'data: {"id":1}\r\n\r\nevent: message\ndata: {"id":2,"result":{"tools":["x"]}}\n\ndata: {"id":3}\r\n\r\n';
  for (let k = 1; k < stream.length; k++) assert.equal(run(splitAt(stream, k), rewrite).out.toString("utf8"), expected, `split at ${k}`);
  assert.equal(run(byteByByte(stream), rewrite).out.toString("utf8"), expected);
});

test("the end of the stream passes an unterminated event through as is, without showing it", () => {
  const { out, events } = run([Buffer.from("data: a\n\ndata: {\"partial"), Buffer.from("\":1}\n")]);
  assert.equal(out.toString("utf8"), 'data: a\n\ndata: {"partial":1}\n');
  assert.deepEqual(events.map((e) => e.data), ["a"]);
});

test("a 20 MB event in 64 KiB chunks comes through whole and byte-identical", () => {
  const text = "é日本🙂 ".repeat(1_600_000);
  const stream = Buffer.from(`event: message\ndata: {"text":"${text}"}\n\n`);
  assert.ok(stream.length > 20_000_000);
  const chunks: Buffer[] = [];
  for (let k = 0; k < stream.length; k += 65_536) chunks.push(stream.subarray(k, k + 65_536));
  let seen = 0;
  const splitter = new SseSplitter((event) => {
    seen++;
    assert.equal(event.data(), `{"text":"${text}"}`);
    return undefined;
  });
  const out: Buffer[] = [];
  for (const chunk of chunks) out.push(...splitter.push(chunk));
  out.push(...splitter.end());
  assert.equal(seen, 1);
  assert.ok(Buffer.concat(out).equals(stream));
});

test("sseEvent writes one message event, with an id when given", () => {
  assert.equal(sseEvent('{"jsonrpc":"2.0","id":1,"result":{}}'), 'event: message\ndata: {"jsonrpc":"2.0","id":1,"result":{}}\n\n');
  assert.equal(sseEvent('{"a":1}', "17"), 'event: message\nid: 17\ndata: {"a":1}\n\n');
  assert.equal(sseEvent('{"a":\n1}', "x\ny"), 'event: message\nid: xy\ndata: {"a":\ndata: 1}\n\n');
  const { events } = run([Buffer.from(sseEvent('{\r\n"a": 1}'))]);
  assert.deepEqual(JSON.parse(events[0]?.data ?? ""), { a: 1 });
});
