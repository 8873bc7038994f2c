/**
 * Live sessions' audio front ends (resampling, mel features) in worker threads, so that on a
 * many-core machine the main thread does not spend a core on them at a hundred sessions. An
 * utterance stays on the worker it was opened on (its stream state lives there), placed on the
 * least busy one; messages to one worker keep their order, so updates arrive in order.
 */
import { Worker } from "node:worker_threads";
import type { FrontEnd, FrontEndUpdate, UpdateListener, UtteranceSpec } from "./host.js";

interface Slot {
  worker: Worker;
  open: number;
}

function workerUrl(): URL {
  const fromSource = import.meta.url.endsWith(".ts");
  return new URL(fromSource ? "./frontend-boot.mjs" : "./frontend-worker.js", import.meta.url);
}

export class FrontEndPool {
  private readonly slots: Slot[];
  private readonly routes = new Map<number, { slot: Slot; listener: UpdateListener }>();

  constructor(readonly size: number) {
    this.slots = Array.from({ length: size }, () => {
      const slot: Slot = { worker: new Worker(workerUrl()), open: 0 };
      slot.worker.on("message", (msg: { key: number; update?: FrontEndUpdate; error?: string }) => {
        const route = this.routes.get(msg.key);
        if (!route || !msg.update) return;
        if (msg.update.ended) this.forget(msg.key);
        route.listener(msg.key, msg.update);
      });
      slot.worker.unref();
      return slot;
    });
  }

  /** A FrontEnd whose updates go to `listener` (one per session). */
  client(listener: UpdateListener): FrontEnd {
    return {
      open: (key: number, spec: UtteranceSpec) => {
        const slot = this.slots.reduce((a, b) => (b.open < a.open ? b : a));
        slot.open++;
        this.routes.set(key, { slot, listener });
        slot.worker.postMessage({ type: "open", key, spec });
      },
      push: (key: number, samples: Float32Array) => this.routes.get(key)?.slot.worker.postMessage({ type: "push", key, samples }),
      end: (key: number) => this.routes.get(key)?.slot.worker.postMessage({ type: "end", key }),
      drop: (key: number) => {
        const route = this.routes.get(key);
        if (!route) return;
        route.slot.worker.postMessage({ type: "drop", key });
        this.forget(key);
      },
    };
  }

  async close(): Promise<void> {
    this.routes.clear();
    await Promise.all(this.slots.map((s) => s.worker.terminate()));
  }

  private forget(key: number): void {
    const route = this.routes.get(key);
    if (!route) return;
    route.slot.open--;
    this.routes.delete(key);
  }
}
