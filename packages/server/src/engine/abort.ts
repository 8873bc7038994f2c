import { setMaxListeners } from "node:events";

/**
 * A signal that aborts with `signal`, for handing to many engine items at once: each waiting
 * item listens on it (engine/batcher.ts), and a call may have hundreds. Only for request-scoped
 * signals: it leaves one listener on `signal` until that aborts or is collected.
 */
export function fanOut(signal: AbortSignal | undefined): AbortSignal | undefined {
  if (!signal) return undefined;
  const child = new AbortController();
  setMaxListeners(0, child.signal);
  if (signal.aborted) child.abort();
  else signal.addEventListener("abort", () => child.abort(), { once: true });
  return child.signal;
}
