/**
 * Splits a text/event-stream into events and lets the relay rewrite the `data` of chosen events.
 * Everything else (comments, ids, retry, other events) passes through byte for byte.
 */
export class SseRewriter {
  private pending = "";
  private readonly rewrite: (data: string) => string | undefined;
  constructor(rewrite: (data: string) => string | undefined) {
    this.rewrite = rewrite;
  }

  /** Feeds a chunk; returns the text to send downstream now (complete events only). */
  push(chunk: string): string {
    this.pending += chunk;
    let out = "";
    for (;;) {
      const end = boundary(this.pending);
      if (end === undefined) return out;
      const event = this.pending.slice(0, end.index);
      this.pending = this.pending.slice(end.index + end.length);
      out += this.transform(event) + end.separator;
    }
  }

  /** The rest of the stream at its end (an unterminated event is passed through as is). */
  end(): string {
    const rest = this.pending;
    this.pending = "";
    return rest;
  }

  private transform(event: string): string {
    const lines = event.split(/\r\n|\r|\n/);
    const dataLines = lines.filter((l) => l.startsWith("data:"));
    if (dataLines.length === 0) return event;
    const data = dataLines.map((l) => l.slice(l.startsWith("data: ") ? 6 : 5)).join("\n");
    const replaced = this.rewrite(data);
    if (replaced === undefined) return event;
    const kept = lines.filter((l) => !l.startsWith("data:"));
    return [...kept, ...replaced.split("\n").map((l) => `data: ${l}`)].join("\n");
  }
}

function boundary(text: string): { index: number; length: number; separator: string } | undefined {
  const m = /\r\n\r\n|\n\n|\r\r/.exec(text);
  return m ? { index: m.index, length: m[0].length, separator: m[0] } : undefined;
}
