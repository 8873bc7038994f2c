/**
 * A pool of compose workers (compose-worker.ts): each frame's compositing and JPEG encoding runs
 * off the main thread. Frames of preloaded avatars live in shared FrameStores the workers read in
 * place; the model output (a frame's copy of its batch's) is transferred, the image transferred
 * back: no other copies between threads but the one of a lazily decoded frame. Jobs go to the worker with the fewest in flight.
 */
import { Worker } from "node:worker_threads";
import { LipSyncError } from "../errors.js";
import type { Composed, ComposeRequest, Composer, FrameRef, FrameStore } from "./compose.js";

interface Slot {
  worker: Worker;
  inFlight: number;
}

interface Pending {
  slot: Slot;
  resolve: (c: Composed) => void;
  reject: (e: Error) => void;
}

function workerUrl(): { url: URL } {
  // From source (tests), a small .mjs boots the TypeScript worker through tsx; built, the
  // compiled worker sits next to this module.
  const fromSource = import.meta.url.endsWith(".ts");
  return { url: new URL(fromSource ? "./compose-boot.mjs" : "./compose-worker.js", import.meta.url) };
}

export class ComposePool implements Composer {
  private readonly slots: Slot[];
  private readonly pending = new Map<number, Pending>();
  private readonly stores = new Set<FrameStore>();
  private nextId = 1;
  private closed = false;

  constructor(readonly size: number) {
    this.slots = Array.from({ length: size }, () => {
      const slot: Slot = { worker: new Worker(workerUrl().url), inFlight: 0 };
      slot.worker.on("message", (msg: { type: string; id: number; result?: Composed; message?: string }) => {
        const p = this.pending.get(msg.id);
        if (!p) return;
        this.pending.delete(msg.id);
        p.slot.inFlight--;
        if (msg.type === "done") p.resolve(msg.result!);
        else p.reject(new LipSyncError("internal", "compositing failed", { cause: new Error(msg.message) }));
      });
      slot.worker.on("error", (err) => this.fail(slot, err));
      slot.worker.on("exit", () => this.fail(slot, new Error("compose worker exited")));
      slot.worker.unref();
      return slot;
    });
  }

  /** Makes a frame store readable by every worker (once per avatar load). */
  register(store: FrameStore): void {
    this.stores.add(store);
    for (const s of this.slots) s.worker.postMessage({ type: "store", id: store.id, buffer: store.buffer, width: store.width, height: store.height });
  }

  unregister(store: FrameStore): void {
    if (!this.stores.delete(store)) return;
    for (const s of this.slots) s.worker.postMessage({ type: "drop", id: store.id });
  }

  compose(frame: FrameRef, req: ComposeRequest): Promise<Composed> {
    if (this.closed) return Promise.reject(new LipSyncError("unavailable", "server is shutting down"));
    const slot = this.slots.reduce((a, b) => (b.inFlight < a.inFlight ? b : a));
    const id = this.nextId++;
    slot.inFlight++;
    return new Promise((resolve, reject) => {
      this.pending.set(id, { slot, resolve, reject });
      const where = "store" in frame ? { store: frame.store.id, index: frame.index } : { image: frame.image };
      if ("store" in frame && !this.stores.has(frame.store)) this.register(frame.store);
      // A model output is a view of its batch's buffer (inference-worker.ts): transferring that
      // would take the other frames' outputs with it, and cloning a view clones all of it. This
      // frame's own copy is transferred.
      const whole = req.output.byteOffset === 0 && req.output.byteLength === req.output.buffer.byteLength;
      const output = whole ? req.output : req.output.slice();
      slot.worker.postMessage({ type: "job", id, ...where, req: { ...req, output } }, [output.buffer as ArrayBuffer]);
    });
  }

  async close(): Promise<void> {
    this.closed = true;
    await Promise.all(this.slots.map((s) => s.worker.terminate()));
  }

  private fail(slot: Slot, err: Error): void {
    for (const [id, p] of this.pending) {
      if (p.slot !== slot) continue;
      this.pending.delete(id);
      p.reject(new LipSyncError("unavailable", "compose worker stopped", { cause: err }));
    }
  }
}
