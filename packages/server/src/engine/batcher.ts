/**
 * Collects items from any number of callers and runs them together: a batch starts when
 * `maxBatch` items wait or the oldest has waited `maxWaitMs`, and only one batch runs at a time
 * (the model already uses every core), so items arriving during a run form the next batch.
 */
export interface BatchTiming {
  /** Time the item waited before its batch started, ms. */
  queueMs: number;
  /** Time the batch's run took, ms. */
  runMs: number;
  /** Items in the batch. */
  batchSize: number;
}

interface Pending<I, O> {
  input: I;
  enqueued: number;
  resolve: (value: { output: O; timing: BatchTiming }) => void;
  reject: (err: unknown) => void;
}

export type BatchRunner<I, O> = (inputs: I[]) => Promise<O[]>;

export class Batcher<I, O> {
  private queue: Pending<I, O>[] = [];
  private running = false;
  private timer: NodeJS.Timeout | undefined;
  private closed = false;
  /** Batches run and items processed, for the mean batch size. */
  batches = 0;
  items = 0;

  constructor(
    private readonly run: BatchRunner<I, O>,
    private readonly maxBatch: number,
    private readonly maxWaitMs: number,
  ) {}

  submit(input: I): Promise<{ output: O; timing: BatchTiming }> {
    if (this.closed) return Promise.reject(new Error("batcher closed"));
    return new Promise((resolve, reject) => {
      this.queue.push({ input, enqueued: performance.now(), resolve, reject });
      this.schedule();
    });
  }

  /** Items waiting for a batch. */
  get waiting(): number {
    return this.queue.length;
  }

  close(): void {
    this.closed = true;
    if (this.timer) clearTimeout(this.timer);
    for (const p of this.queue.splice(0)) p.reject(new Error("batcher closed"));
  }

  private schedule(): void {
    if (this.running || this.queue.length === 0) return;
    if (this.queue.length >= this.maxBatch || this.maxWaitMs <= 0) {
      void this.flush();
      return;
    }
    if (!this.timer) {
      const waited = performance.now() - this.queue[0]!.enqueued;
      this.timer = setTimeout(() => {
        this.timer = undefined;
        void this.flush();
      }, Math.max(0, this.maxWaitMs - waited));
    }
  }

  private async flush(): Promise<void> {
    if (this.running || this.queue.length === 0) return;
    if (this.timer) {
      clearTimeout(this.timer);
      this.timer = undefined;
    }
    this.running = true;
    const batch = this.queue.splice(0, this.maxBatch);
    const start = performance.now();
    try {
      const outputs = await this.run(batch.map((p) => p.input));
      const runMs = performance.now() - start;
      this.batches++;
      this.items += batch.length;
      batch.forEach((p, i) => p.resolve({ output: outputs[i]!, timing: { queueMs: start - p.enqueued, runMs, batchSize: batch.length } }));
    } catch (err) {
      for (const p of batch) p.reject(err);
    } finally {
      this.running = false;
      this.schedule();
    }
  }
}
