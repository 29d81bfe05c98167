import { ReadBuffer, serializeMessage } from "@modelcontextprotocol/sdk/shared/stdio.js";
import type { Transport } from "@modelcontextprotocol/sdk/shared/transport.js";
import type { JSONRPCMessage } from "@modelcontextprotocol/sdk/types.js";
import type { StdioProcess } from "../proxy/stdio-process.ts";

/**
 * An MCP client transport over a stdio server the gateway started itself (gateway/proxy/stdio-process.ts), so
 * the catalog's child runs exactly as agents' children do: its own process group, a cwd outside the data dir,
 * the configured user/group. Closing it stops the whole group.
 */
export class ProcessTransport implements Transport {
  onclose?: () => void;
  onerror?: (error: Error) => void;
  onmessage?: (message: JSONRPCMessage) => void;
  private readonly buffer = new ReadBuffer();
  private readonly process: StdioProcess;

  constructor(process: StdioProcess) {
    this.process = process;
  }

  async start(): Promise<void> {
    const { child } = this.process;
    child.stderr.resume();
    child.stdout.on("data", (chunk: Buffer) => {
      try {
        this.buffer.append(chunk);
      } catch (error) {
        this.onerror?.(error as Error);
        void this.close();
        return;
      }
      for (;;) {
        try {
          const message = this.buffer.readMessage();
          if (message === null) break;
          this.onmessage?.(message);
        } catch (error) {
          this.onerror?.(error as Error);
        }
      }
    });
    this.process.onExit(() => this.onclose?.());
  }

  send(message: JSONRPCMessage): Promise<void> {
    return new Promise((resolve, reject) => this.process.child.stdin.write(serializeMessage(message), (error) => (error ? reject(error) : resolve())));
  }

  async close(): Promise<void> {
    await this.process.stop();
  }
}
