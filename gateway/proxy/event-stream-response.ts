import type { ServerResponse } from "node:http";
import { Writable } from "node:stream";
import { mediaType } from "../http/media-type.ts";

/**
 * A response writer for an upstream answer that must go into an event stream already open to the client
 * (a held call that has sent progress notifications). An event-stream answer passes through as it comes;
 * a JSON answer is sent as one `message` event. Status and other headers are already gone, so they are
 * dropped. Implements what the upstreams use of ServerResponse.
 */
export class EventStreamResponse extends Writable {
  private readonly client: ServerResponse;
  private contentType = "";
  private buffered: Buffer[] = [];
  private started = false;

  constructor(client: ServerResponse) {
    super();
    this.client = client;
    // The client going away must abort the upstream request, as with a direct response.
    client.once("close", () => {
      if (!this.writableFinished) this.destroy();
    });
  }

  get headersSent(): boolean {
    return this.started;
  }

  setHeader(name: string, value: string | number | readonly string[]): this {
    if (name.toLowerCase() === "content-type") this.contentType = String(value);
    return this;
  }

  getHeader(name: string): string | undefined {
    return name.toLowerCase() === "content-type" ? this.contentType || undefined : undefined;
  }

  removeHeader(name: string): void {
    if (name.toLowerCase() === "content-type") this.contentType = "";
  }

  writeHead(_status: number, headers?: Record<string, string | number>): this {
    for (const [name, value] of Object.entries(headers ?? {})) this.setHeader(name, value);
    this.started = true;
    return this;
  }

  flushHeaders(): void {
    this.started = true;
  }

  private get streaming(): boolean {
    return mediaType(this.contentType) === "text/event-stream";
  }

  override _write(chunk: Buffer, _encoding: BufferEncoding, callback: (error?: Error | null) => void): void {
    this.started = true;
    if (this.streaming) this.client.write(chunk, callback);
    else {
      this.buffered.push(Buffer.from(chunk));
      callback();
    }
  }

  override _final(callback: (error?: Error | null) => void): void {
    const json = Buffer.concat(this.buffered).toString("utf8").trim();
    if (!this.streaming && json) this.client.write(`event: message\ndata: ${json.replace(/\r?\n/g, " ")}\n\n`);
    this.client.end(callback);
  }
}
