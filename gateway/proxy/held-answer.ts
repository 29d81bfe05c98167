import type { ServerResponse } from "node:http";

/**
 * Holds back `res.end` until the returned release is called. Every upstream finishes the answer to a call with
 * `end` (the JSON body, the gateway's own error, or the answer's event on a stream), so holding it lets the
 * gateway settle a call's accounting (give back a limit slot or an approval when the call did not run) before
 * the agent can see the answer and retry. Everything else goes straight to the response.
 *
 * @example
 * const release = holdAnswer(res);
 * const outcome = await upstream.post({ ...x, res });
 * if (gaveNoEffect(outcome)) await refund();
 * release();
 */
export function holdAnswer(res: ServerResponse): () => void {
  const end = res.end;
  let ending: Parameters<typeof res.end> | undefined;
  res.end = ((...args: Parameters<typeof res.end>) => {
    ending ??= args;
    return res;
  }) as typeof res.end;
  return () => {
    // Assigned back rather than deleted: a deleted property would turn res into a slow dictionary object.
    res.end = end;
    if (ending) (end as (...a: unknown[]) => unknown).apply(res, ending);
    ending = undefined;
  };
}
