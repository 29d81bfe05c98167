import type { ServerResponse } from "node:http";

/**
 * A view of a response whose `end` is held back until `release()`. Every upstream finishes the answer to a
 * call with `end` (the JSON body, the gateway's own error, or the answer's event on a stream), so holding it
 * lets the gateway settle a call's accounting (give back a limit slot or an approval when the call did not
 * run) before the agent can see the answer and retry. Everything else passes straight to the response.
 *
 * @example
 * const held = holdAnswer(res);
 * const outcome = await upstream.post({ ...x, res: held.res });
 * if (gaveNoEffect(outcome)) await refund();
 * held.release();
 */
export function holdAnswer(res: ServerResponse): { res: ServerResponse; release: () => void } {
  let ending: unknown[] | undefined;
  let released = false;
  const view: ServerResponse = new Proxy(res, {
    get(target, property) {
      if (property === "end") {
        return (...args: unknown[]) => {
          if (released) return (target.end as (...a: unknown[]) => unknown)(...args), view;
          ending ??= args;
          return view;
        };
      }
      if (property === "writableEnded") return ending !== undefined || target.writableEnded;
      const value: unknown = Reflect.get(target, property, target);
      if (typeof value !== "function") return value;
      // Chaining methods (writeHead, setHeader) return the view, so `writeHead(…).end(…)` is held too.
      return (...args: unknown[]) => {
        const result: unknown = (value as (...a: unknown[]) => unknown).apply(target, args);
        return result === target ? view : result;
      };
    },
  });
  return {
    res: view,
    release() {
      if (released) return;
      released = true;
      if (ending) (res.end as (...a: unknown[]) => unknown)(...ending);
    },
  };
}
