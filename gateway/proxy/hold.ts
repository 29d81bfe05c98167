import type { IncomingMessage, ServerResponse } from "node:http";
import type { Approvals } from "../approvals/approvals.ts";
import type { ApprovalRecord } from "../approvals/approval-store.ts";
import { EventStreamResponse } from "./event-stream-response.ts";
import type { JsonRpcMessage } from "./jsonrpc.ts";
import { sseEvent } from "./sse.ts";

export interface HeldOutcome {
  /** Why the wait ended early: the agent went away, or the gateway ended it (revocation, shutdown). */
  interrupted?: "gone" | string;
  /** Where the answer goes now: an event stream the hold opened for progress notifications. */
  writer?: ServerResponse;
  approval?: ApprovalRecord;
}

/**
 * Keeps a call that needs approval (hold mode) open until a person decides, the approval expires, the agent goes
 * away or `interrupt` fires. With a progress token, the answer becomes an event stream that carries progress
 * notifications meanwhile.
 */
export async function holdForDecision(
  approvals: Approvals,
  req: IncomingMessage,
  res: ServerResponse,
  message: JsonRpcMessage,
  approval: ApprovalRecord,
  progressEveryMs: number,
  interrupt: AbortSignal,
): Promise<HeldOutcome> {
  const abort = new AbortController();
  let interrupted: string | undefined;
  const onClose = () => {
    if (!res.writableEnded) {
      interrupted ??= "gone";
      abort.abort();
    }
  };
  const onInterrupt = () => {
    interrupted ??= String(interrupt.reason ?? "interrupted");
    abort.abort();
  };
  res.once("close", onClose);
  interrupt.addEventListener("abort", onInterrupt, { once: true });
  if (interrupt.aborted) onInterrupt();
  const token = message.params?._meta?.progressToken;
  let writer: ServerResponse | undefined;
  let ticker: NodeJS.Timeout | undefined;
  if ((typeof token === "string" || typeof token === "number") && /text\/event-stream/.test(req.headers.accept ?? "")) {
    if (!res.headersSent) {
      res.writeHead(200, { "content-type": "text/event-stream", "cache-control": "no-cache" });
      res.flushHeaders();
    }
    writer = new EventStreamResponse(res) as unknown as ServerResponse;
    let progress = 0;
    const tell = () => {
      const note = { jsonrpc: "2.0", method: "notifications/progress", params: { progressToken: token, progress: ++progress, message: `Waiting for a person to approve ${approval.id} (until ${approval.expiresAt})` } };
      res.write(sseEvent(JSON.stringify(note)));
    };
    tell();
    ticker = setInterval(tell, progressEveryMs);
  }
  try {
    const decided = await approvals.waitForDecision(approval.id, Date.parse(approval.expiresAt), abort.signal);
    return { ...(interrupted ? { interrupted } : {}), ...(writer ? { writer } : {}), ...(decided ? { approval: decided } : {}) };
  } finally {
    clearInterval(ticker);
    res.off("close", onClose);
    interrupt.removeEventListener("abort", onInterrupt);
  }
}
