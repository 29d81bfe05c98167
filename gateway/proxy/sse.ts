/** One event of a text/event-stream, as the splitter hands it to its caller. */
export interface SseEvent {
  /** The event's bytes as received, its terminating blank line included. */
  readonly raw: Buffer;
  /** Its `data` lines joined by "\n" (what an EventSource delivers), or undefined without any; decoded on first use. */
  data(): string | undefined;
  /** Its last `id` field (the resumption point), or undefined without one. */
  id(): string | undefined;
}

const LF = 0x0a;
const CR = 0x0d;

/**
 * Splits a text/event-stream into events at the byte level, without decoding what it relays: events are
 * delimited by a blank line, with lines ended by CRLF, LF or CR in any mix (WHATWG HTML, "Server-sent events").
 * Each byte is examined a bounded number of times, so the cost is linear in the stream. Every event goes
 * downstream byte for byte unless `onEvent` returns replacement bytes for it; to stay cheap, `onEvent` can test
 * `raw` (e.g. `raw.includes(...)`) before calling `data()`.
 *
 * @example
 * const splitter = new SseSplitter((event) => (event.raw.includes("tools") ? rewrite(event.data()) : undefined));
 * for await (const chunk of body) for (const out of splitter.push(chunk)) res.write(out);
 * for (const out of splitter.end()) res.write(out);
 */
export class SseSplitter {
  private readonly onEvent: (event: SseEvent) => Buffer | undefined;
  /** Bytes of the current event that came in earlier chunks. */
  private parts: Buffer[] = [];
  /** The next byte starts a line (so a line end there makes a blank line). */
  private atLineStart = true;
  /** The last byte was a CR ending a line: an LF right after it is part of the same line end. */
  private afterCR = false;
  /** The last chunk ended with the CR of a blank line: an LF next belongs to it, passed on or, if the event was replaced, dropped. */
  private blankCR: "pass" | "drop" | undefined;

  constructor(onEvent: (event: SseEvent) => Buffer | undefined) {
    this.onEvent = onEvent;
  }

  /** Feeds a chunk; returns the bytes to send downstream now (complete events only). */
  push(chunk: Buffer): Buffer[] {
    const out: Buffer[] = [];
    const n = chunk.length;
    let start = 0;
    if (n > 0 && this.blankCR !== undefined) {
      if (chunk[0] === LF) {
        if (this.blankCR === "pass") out.push(chunk.subarray(0, 1));
        start = 1;
      }
      this.blankCR = undefined;
    }
    let i = start;
    let nextLF = -2;
    let nextCR = -2;
    while (i < n) {
      if (nextLF !== -1 && nextLF < i) nextLF = chunk.indexOf(LF, i);
      if (nextCR !== -1 && nextCR < i) nextCR = chunk.indexOf(CR, i);
      const eol = nextLF === -1 ? nextCR : nextCR === -1 ? nextLF : Math.min(nextLF, nextCR);
      if (eol === -1) {
        this.atLineStart = false;
        this.afterCR = false;
        break;
      }
      if (eol > i) {
        this.atLineStart = false;
        this.afterCR = false;
      }
      const byte = chunk[eol];
      i = eol + 1;
      if (byte === LF && this.afterCR) {
        this.afterCR = false;
        continue;
      }
      this.afterCR = byte === CR;
      if (!this.atLineStart) {
        this.atLineStart = true;
        continue;
      }
      // A blank line: the event ends with it (and with the LF of a CRLF, when that LF is here already).
      let end = i;
      if (byte === CR && end < n && chunk[end] === LF) end++;
      const replaced = this.dispatch(chunk.subarray(start, end), out);
      if (byte === CR && end === n) this.blankCR = replaced ? "drop" : "pass";
      this.afterCR = false;
      start = i = end;
    }
    if (start < n) this.parts.push(chunk.subarray(start));
    return out;
  }

  /**
   * The rest of the stream at its end: an unterminated event passes through as is (an EventSource discards it,
   * so bytes written after it join that event: end a stream here, or start anything added with a blank line).
   */
  end(): Buffer[] {
    const rest = this.parts;
    this.parts = [];
    this.atLineStart = true;
    this.afterCR = false;
    this.blankCR = undefined;
    return rest;
  }

  /** Hands the complete event to the caller; returns whether it was replaced. */
  private dispatch(tail: Buffer, out: Buffer[]): boolean {
    const raw = this.parts.length === 0 ? tail : Buffer.concat([...this.parts, tail]);
    this.parts = [];
    const replacement = this.onEvent(new ParsedEvent(raw));
    out.push(replacement ?? raw);
    return replacement !== undefined;
  }
}

class ParsedEvent implements SseEvent {
  readonly raw: Buffer;
  private fields: { data: string | undefined; id: string | undefined } | undefined;

  constructor(raw: Buffer) {
    this.raw = raw;
  }

  data(): string | undefined {
    return (this.fields ??= readFields(this.raw)).data;
  }

  id(): string | undefined {
    return (this.fields ??= readFields(this.raw)).id;
  }
}

/** The `data` and `id` fields of one complete event, interpreted as an EventSource does. */
function readFields(raw: Buffer): { data: string | undefined; id: string | undefined } {
  let text = raw.toString("utf8");
  if (text.charCodeAt(0) === 0xfeff) text = text.slice(1); // a BOM may open the stream
  const lineEnd = /\r\n|\r|\n/g;
  const data: string[] = [];
  let id: string | undefined;
  let pos = 0;
  while (pos < text.length) {
    lineEnd.lastIndex = pos;
    const match = lineEnd.exec(text);
    const end = match ? match.index : text.length;
    if (end === pos) break; // the blank line that ends the event
    let nameEnd = pos;
    while (nameEnd < end && text.charCodeAt(nameEnd) !== 0x3a /* : */) nameEnd++;
    if (nameEnd > pos) {
      const name = text.slice(pos, nameEnd);
      let valueStart = Math.min(nameEnd + 1, end);
      if (valueStart < end && text.charCodeAt(valueStart) === 0x20) valueStart++;
      if (name === "data") data.push(text.slice(valueStart, end));
      else if (name === "id") {
        const value = text.slice(valueStart, end);
        if (!value.includes("\0")) id = value;
      }
    }
    pos = match ? end + match[0].length : text.length;
  }
  return { data: data.length === 0 ? undefined : data.length === 1 ? data[0] : data.join("\n"), id };
}

/**
 * Serializes one JSON-RPC message as an SSE `message` event (with `id` for resumability when given).
 *
 * @example sseEvent('{"jsonrpc":"2.0","id":1,"result":{}}', "7") // 'event: message\nid: 7\ndata: {...}\n\n'
 */
export function sseEvent(json: string, id?: string): string {
  // JSON.stringify never emits a raw line break; any other JSON text is split into data lines, which an
  // EventSource joins with "\n" (JSON whitespace), so the message means the same.
  const data = /[\r\n]/.test(json) ? json.split(/\r\n|\r|\n/).join("\ndata: ") : json;
  const idLine = id === undefined ? "" : `id: ${id.replace(/[\r\n\0]/g, "")}\n`;
  return `event: message\n${idLine}data: ${data}\n\n`;
}
