/** Waits for tests: every one ends in a failure that says what did not happen, never in a hang. */

/** Resolves once `cond()` holds (checked every few ms); fails after `ms` naming `what`. */
export function until(cond: () => boolean, what = "condition", ms = 10_000): Promise<void> {
  return new Promise<void>((resolve, reject) => {
    const start = Date.now();
    const tick = () => (cond() ? resolve() : Date.now() - start > ms ? reject(new Error(`${what}: not met in ${ms} ms`)) : setTimeout(tick, 5));
    tick();
  });
}

/** `promise`'s value, or a failure naming `what` when it has not settled in `ms`. */
export function within<T>(promise: Promise<T>, ms: number, what: string): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new Error(`${what}: not in ${ms} ms`)), ms);
  });
  return Promise.race([promise, timeout]).finally(() => clearTimeout(timer));
}
