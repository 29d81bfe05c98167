import type { Logger } from "pino";
import { storeFault, unavailableStore, type StoreFault } from "./store-faults.ts";

export interface GuardOptions {
  /** How the store is named to people, e.g. "configuration store (PostgreSQL)". */
  name: string;
  /** Logs each fault with its real code; omit where the caller logs (the audit log logs once per outage). */
  log?: Logger;
  /** Hears of every fault that makes the store unwritable (a full or read-only disk). */
  onUnwritable?: (fault: StoreFault) => void;
}

/**
 * The store with every method guarded: a store fault (a full disk, a damaged file, a lost connection)
 * reaches the caller as a ToolgateError `unavailable` naming the store and the real cause, which the
 * admin API answers with 503. Every other error passes unchanged. The store's methods must not use `this`.
 */
export function guardStore<T extends object>(store: T, options: GuardOptions): T {
  const translate = (error: unknown): unknown => {
    const fault = storeFault(error);
    if (!fault) return error;
    options.log?.error({ store: options.name, code: fault.code, reason: fault.text }, "store operation failed");
    if (fault.unwritable) options.onUnwritable?.(fault);
    return unavailableStore(options.name, fault, error);
  };
  const guarded: Record<string, unknown> = {};
  for (const [key, value] of Object.entries(store)) {
    guarded[key] =
      typeof value !== "function"
        ? value
        : function guardedMethod(...args: unknown[]) {
            try {
              const result: unknown = value(...args);
              return result instanceof Promise ? result.catch((error: unknown) => Promise.reject(translate(error))) : result;
            } catch (error) {
              throw translate(error);
            }
          };
  }
  return guarded as T;
}
