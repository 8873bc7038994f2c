/**
 * The output stage of a session: what it has produced, in pts order, as the consumer reads it.
 * Speech frames enter while still rendering and leave in order when done; a barge-in starts a new
 * generation, and speech of the old one is never sent. A frame dropped by the late-frame rule
 * leaves as part of one `frames-dropped` run. `length` is what backpressure counts: the consumer
 * that does not read holds the session's work back.
 */
import type { LipSyncError } from "../errors.js";
import type { SessionOutput } from "./protocol.js";

/** What a queued entry came to. */
export type Settled =
  | { kind: "output"; output: SessionOutput }
  | { kind: "dropped"; pts: number }
  | { kind: "skip" }
  | { kind: "error"; error: LipSyncError };

interface Entry {
  generation: number;
  speech: boolean;
  /** Settles exactly once and never rejects; `cancel` settles it as skipped. */
  settled: Promise<Settled>;
  cancel: () => void;
}

export interface QueueHooks {
  /** An entry left the queue: there is room for more work. */
  consumed(): void;
  /** Everything up to pts `endPts` has reached the consumer (a frame sent, or reported dropped). */
  sentUpTo(endPts: number): void;
  /** A frame of this many was dropped late. */
  dropped(frames: number): void;
}

interface Deferred {
  promise: Promise<void>;
  resolve: () => void;
}

function deferred(): Deferred {
  let resolve!: () => void;
  const promise = new Promise<void>((r) => (resolve = r));
  return { promise, resolve };
}

export class OutputQueue implements AsyncIterable<SessionOutput> {
  private entries: Entry[] = [];
  private wake = deferred();
  private gen = 0;
  private closed = false;
  private failure: LipSyncError | undefined;
  /** A run of dropped frames not yet reported: [startPts, endPts). */
  private dropRun: { startPts: number; endPts: number } | undefined;

  /** `spf`: samples per frame, the pts step of a dropped frame. */
  constructor(private readonly spf: number, private readonly hooks: QueueHooks) {}

  /** Entries waiting for the consumer (speech still rendering included). */
  get length(): number {
    return this.entries.length;
  }

  /** The current generation: work of an older one is stale. */
  get generation(): number {
    return this.gen;
  }

  /** An output that is ready now. */
  push(output: SessionOutput): void {
    this.add({ generation: this.gen, speech: false, settled: Promise.resolve({ kind: "output", output }), cancel: () => undefined });
  }

  /**
   * Work that settles later (a speech frame rendering, or an idle frame decoding). `work` must
   * never reject. Speech of a generation a barge-in ended is cancelled.
   */
  pushPending(work: Promise<Settled>, speech: boolean): void {
    let cancel!: () => void;
    const settled = new Promise<Settled>((resolve) => {
      cancel = () => resolve({ kind: "skip" });
      void work.then(resolve);
    });
    this.add({ generation: this.gen, speech, settled, cancel });
  }

  /** Barge-in: queued speech is cancelled and a new generation begins. */
  newGeneration(): void {
    this.gen++;
    this.entries = this.entries.filter((e) => {
      if (e.speech) e.cancel();
      return !e.speech;
    });
    this.dropRun = undefined;
  }

  /** The stream ends after what is queued, or at once (everything dropped) with `error`. */
  close(error?: LipSyncError): void {
    if (this.closed) return;
    this.closed = true;
    this.failure = error;
    if (error) this.dropAll();
    this.wake.resolve();
  }

  dropAll(): void {
    for (const e of this.entries) e.cancel();
    this.entries = [];
    this.dropRun = undefined;
  }

  async *[Symbol.asyncIterator](): AsyncIterator<SessionOutput> {
    for (;;) {
      const head = this.entries[0];
      if (!head) {
        const drops = this.takeDropRun();
        if (drops) {
          yield drops;
          continue;
        }
        if (this.closed) {
          if (this.failure) throw this.failure;
          return;
        }
        await this.wake.promise;
        this.wake = deferred();
        continue;
      }
      const r = await head.settled;
      if (this.entries[0] !== head) continue; // dropped by a clear or an abort while we waited
      this.entries.shift();
      if (head.speech && head.generation !== this.gen) continue;
      if (r.kind === "skip") continue;
      if (r.kind === "error") {
        this.close(r.error);
        throw r.error;
      }
      if (r.kind === "dropped") {
        this.dropRun = { startPts: this.dropRun?.startPts ?? r.pts, endPts: r.pts + this.spf };
        this.hooks.sentUpTo(r.pts + this.spf);
        this.hooks.dropped(1);
        this.hooks.consumed();
        continue;
      }
      const drops = this.takeDropRun();
      if (drops) yield drops;
      const value = r.output;
      if (value.type === "frame") this.hooks.sentUpTo(Number(value.frame.pts) + this.spf);
      this.hooks.consumed();
      yield value;
    }
  }

  private add(entry: Entry): void {
    this.entries.push(entry);
    this.wake.resolve();
  }

  private takeDropRun(): SessionOutput | undefined {
    const run = this.dropRun;
    this.dropRun = undefined;
    return run ? { type: "frames-dropped", startPts: run.startPts, endPts: run.endPts } : undefined;
  }
}
