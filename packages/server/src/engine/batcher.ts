/**
 * Collects items from any number of callers and runs them together. A batch starts when
 * `maxBatch` items wait or the first has waited `maxWaitMs`; only one batch runs at a time (the
 * model already uses every core), so items arriving during a run form the next batch.
 *
 * Scheduling is earliest-deadline-first: a live session's frame, due soon, goes ahead of a bulk
 * render due later, so one busy caller cannot starve the others. An item may be cancelled (its
 * AbortSignal) or, if `droppable`, dropped by the late-frame rule (deadline.ts) once its deadline
 * can no longer be met: it has passed, or is nearer than a batch's recent run time plus the recent
 * time from a run to the finished frame (`noteAfterRun`). Neither is ever run. Under overload that matters:
 * plain EDF would keep running the most urgent items just too late to be of use, so that every
 * frame is computed and then thrown away; dropping the hopeless ones first spends the model on
 * frames that still arrive in time.
 * With `buckets`, a batch of n items runs at the smallest bucket size >= n (the model pads), so
 * the model sees only a few batch shapes, each warmed up once at load.
 */
import { DEFAULTS } from "../config.js";
import { LipSyncError } from "../errors.js";
import { DROPPED, FrameDropped, tooLate, type Schedule } from "./deadline.js";

export interface BatchTiming {
  /** Time the item waited before its batch started, ms. */
  queueMs: number;
  /** Time the batch's run took, ms. */
  runMs: number;
  /** Items in the batch (before padding). */
  batchSize: number;
}

/** Deadlines are on the batcher's clock (performance.now() unless a test passes its own). */
export type SubmitOptions = Schedule;

interface Pending<I, O> {
  input: I;
  enqueued: number;
  deadline: number;
  droppable: boolean;
  signal: AbortSignal | undefined;
  onAbort: (() => void) | undefined;
  resolve: (value: { output: O; timing: BatchTiming }) => void;
  reject: (err: unknown) => void;
}

/** Runs a batch; `size` >= inputs.length is the bucket the model should pad the batch to. */
export type BatchRunner<I, O> = (inputs: I[], size: number) => Promise<O[]>;

export interface BatcherOptions {
  maxBatch: number;
  maxWaitMs: number;
  /** Allowed batch sizes, ascending; the largest is the effective maxBatch. Default: any size. */
  buckets?: number[];
  /** Deadline of an item submitted without one: enqueue time + this, ms (ServerConfig.offlineSlackMs). */
  defaultSlackMs?: number;
  /** The clock, ms (tests pass their own). Default: performance.now. */
  now?: () => number;
}

/** Rejection reasons: a cancelled item, and (deadline.ts) a dropped one. */
export const CANCELLED = "cancelled";
export { DROPPED, FrameDropped };

export class Batcher<I, O> {
  /** Waiting items, ordered by deadline. */
  private queue: Pending<I, O>[] = [];
  private running = false;
  private timer: NodeJS.Timeout | undefined;
  private closed: LipSyncError | undefined;
  private readonly maxBatch: number;
  private readonly buckets: number[] | undefined;
  /** Batches run, items run, items dropped late and padding rows run, for statistics. */
  batches = 0;
  items = 0;
  dropped = 0;
  padded = 0;
  /** Recent batch run time (moving average), ms: an item due sooner than this is hopeless. */
  private runEstimateMs = 0;
  /** Recent time from a run's end to its item's use (compositing, encoding; moving average), ms. */
  private afterEstimateMs = 0;
  private readonly now: () => number;
  private readonly defaultSlackMs: number;

  constructor(private readonly run: BatchRunner<I, O>, private readonly options: BatcherOptions) {
    const buckets = options.buckets?.filter((b) => b >= 1 && b <= options.maxBatch).sort((a, b) => a - b);
    this.buckets = buckets?.length ? buckets : undefined;
    this.maxBatch = this.buckets ? this.buckets.at(-1)! : Math.max(1, options.maxBatch);
    this.now = options.now ?? (() => performance.now());
    this.defaultSlackMs = options.defaultSlackMs ?? DEFAULTS.offlineSlackMs;
  }

  submit(input: I, opts: SubmitOptions = {}): Promise<{ output: O; timing: BatchTiming }> {
    if (this.closed) return Promise.reject(this.closed);
    if (opts.signal?.aborted) return Promise.reject(new LipSyncError("cancelled", CANCELLED));
    return new Promise((resolve, reject) => {
      const enqueued = this.now();
      const p: Pending<I, O> = {
        input, enqueued, deadline: opts.deadline ?? enqueued + this.defaultSlackMs, droppable: opts.droppable ?? false,
        signal: opts.signal, onAbort: undefined, resolve, reject,
      };
      if (opts.signal) {
        // Removed again when the item settles: a session's signal outlives thousands of items.
        p.onAbort = () => {
          const i = this.queue.indexOf(p);
          if (i >= 0) {
            this.queue.splice(i, 1);
            this.settle(p, undefined, new LipSyncError("cancelled", CANCELLED));
          }
        };
        opts.signal.addEventListener("abort", p.onAbort, { once: true });
      }
      this.insert(p);
      this.schedule();
    });
  }

  /**
   * Tells the batcher how long an item's result took to be of use after its run ended (the
   * frame composited and encoded): an item that cannot also get through that in time is dropped.
   */
  noteAfterRun(ms: number): void {
    this.afterEstimateMs = 0.9 * this.afterEstimateMs + 0.1 * Math.max(0, ms);
  }

  /** Items waiting for a batch. */
  get waiting(): number {
    return this.queue.length;
  }

  /** The bucket a batch of `n` items runs at. */
  bucketFor(n: number): number {
    return this.buckets?.find((b) => b >= n) ?? n;
  }

  /** Refuses new items and fails the waiting ones with `reason` (retryable: unavailable). */
  close(reason = new LipSyncError("unavailable", "the model was unloaded")): void {
    this.closed = reason;
    if (this.timer) clearTimeout(this.timer);
    for (const p of this.queue.splice(0)) this.settle(p, undefined, reason);
  }

  private insert(p: Pending<I, O>): void {
    // Binary search for the first item due later; ties keep arrival order.
    let lo = 0;
    let hi = this.queue.length;
    while (lo < hi) {
      const mid = (lo + hi) >> 1;
      if (this.queue[mid]!.deadline <= p.deadline) lo = mid + 1;
      else hi = mid;
    }
    this.queue.splice(lo, 0, p);
  }

  private settle(p: Pending<I, O>, value: { output: O; timing: BatchTiming } | undefined, err?: unknown): void {
    if (p.onAbort) p.signal!.removeEventListener("abort", p.onAbort);
    if (value) p.resolve(value);
    else p.reject(err);
  }

  private schedule(): void {
    if (this.running || this.queue.length === 0) return;
    if (this.queue.length >= this.maxBatch || this.options.maxWaitMs <= 0) {
      void this.flush();
      return;
    }
    if (!this.timer) {
      let oldest = Infinity;
      for (const p of this.queue) oldest = Math.min(oldest, p.enqueued);
      this.timer = setTimeout(() => {
        this.timer = undefined;
        void this.flush();
      }, Math.max(0, this.options.maxWaitMs - (this.now() - oldest)));
    }
  }

  /** The next batch: droppable items that cannot be in time are dropped on the way. */
  private take(): Pending<I, O>[] {
    // What an item taken now still needs before it is of use: a run, then compositing and encoding.
    const now = this.now();
    const ahead = this.runEstimateMs + this.afterEstimateMs;
    const batch: Pending<I, O>[] = [];
    while (this.queue.length > 0 && batch.length < this.maxBatch) {
      const p = this.queue.shift()!;
      if (tooLate(p, now, ahead)) {
        this.dropped++;
        this.settle(p, undefined, new FrameDropped());
      } else {
        batch.push(p);
      }
    }
    return batch;
  }

  private async flush(): Promise<void> {
    if (this.running || this.queue.length === 0) return;
    if (this.timer) {
      clearTimeout(this.timer);
      this.timer = undefined;
    }
    const batch = this.take();
    if (batch.length === 0) return;
    this.running = true;
    const size = this.bucketFor(batch.length);
    const start = this.now();
    try {
      const outputs = await this.run(batch.map((p) => p.input), size);
      const runMs = this.now() - start;
      this.runEstimateMs = this.batches === 0 ? runMs : 0.8 * this.runEstimateMs + 0.2 * runMs;
      this.batches++;
      this.items += batch.length;
      this.padded += size - batch.length;
      batch.forEach((p, i) => this.settle(p, { output: outputs[i]!, timing: { queueMs: start - p.enqueued, runMs, batchSize: batch.length } }));
    } catch (err) {
      for (const p of batch) this.settle(p, undefined, err);
    } finally {
      this.running = false;
      this.schedule();
    }
  }
}
