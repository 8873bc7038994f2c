import { describe, expect, it } from "vitest";
import { LipSyncError } from "../errors.js";
import { Batcher, CANCELLED, DROPPED } from "./batcher.js";

/** A batcher whose runs are recorded and finish only when released. */
function recorded(options: { maxBatch: number; maxWaitMs?: number; buckets?: number[]; now?: () => number }) {
  const runs: { inputs: number[]; size: number }[] = [];
  let release: (() => void) | undefined;
  const batcher = new Batcher<number, number>(async (inputs, size) => {
    runs.push({ inputs, size });
    await new Promise<void>((r) => (release = r));
    release = undefined;
    return inputs.map((x) => x * 10);
  }, { maxWaitMs: 0, ...options });
  const releaseRun = async () => {
    for (let i = 0; i < 100 && !release; i++) await new Promise((r) => setImmediate(r));
    if (!release) throw new Error("no run in progress");
    release();
  };
  return { batcher, runs, releaseRun };
}

describe("Batcher", () => {
  it("runs the earliest deadline first, whatever the arrival order", async () => {
    const { batcher, runs, releaseRun } = recorded({ maxBatch: 2 });
    const now = performance.now();
    const first = batcher.submit(0, { deadline: now });
    const results = [batcher.submit(1, { deadline: now + 900 }), batcher.submit(2, { deadline: now + 100 }), batcher.submit(3, { deadline: now + 500 })];
    await releaseRun();
    await first;
    await releaseRun();
    await releaseRun();
    expect(await Promise.all(results.map((p) => p.then((r) => r.output)))).toEqual([10, 20, 30]);
    expect(runs.map((r) => r.inputs)).toEqual([[0], [2, 3], [1]]);
  });

  it("never runs a cancelled item, and rejects it as cancelled", async () => {
    const { batcher, runs, releaseRun } = recorded({ maxBatch: 4 });
    const busy = batcher.submit(0);
    const controller = new AbortController();
    const cancelled = batcher.submit(1, { signal: controller.signal });
    const kept = batcher.submit(2);
    controller.abort();
    await expect(cancelled).rejects.toMatchObject({ code: "cancelled", message: CANCELLED });
    await releaseRun();
    await busy;
    await releaseRun();
    await kept;
    expect(runs.flatMap((r) => r.inputs)).toEqual([0, 2]);
    await expect(batcher.submit(3, { signal: controller.signal })).rejects.toMatchObject({ code: "cancelled" });
  });

  it("drops a droppable item whose deadline passed while it waited, and only that one", async () => {
    const { batcher, runs, releaseRun } = recorded({ maxBatch: 4 });
    const busy = batcher.submit(0);
    // Both are already past their deadline when the running batch ends.
    const past = performance.now() - 1;
    const late = batcher.submit(1, { deadline: past, droppable: true });
    const patient = batcher.submit(2, { deadline: past });
    await releaseRun();
    await busy;
    await releaseRun();
    await expect(late).rejects.toMatchObject({ code: "deadline_exceeded", message: DROPPED });
    expect((await patient).output).toBe(20);
    expect(runs.flatMap((r) => r.inputs)).toEqual([0, 2]);
    expect(batcher.dropped).toBe(1);
  });

  /**
   * On a clock the test moves, one 100 ms run to learn from (and `afterRunMs` reported after
   * it), then two droppable items, due `soon` and `later` ms after they are submitted while a
   * second 100 ms run goes; both deadlines are still ahead when that run ends.
   */
  async function dropsAfterARun(soon: number, later: number, afterRunMs?: number) {
    let clock = 1000;
    const { batcher, runs, releaseRun } = recorded({ maxBatch: 4, now: () => clock });
    const first = batcher.submit(0);
    clock += 100;
    await releaseRun();
    await first;
    if (afterRunMs !== undefined) for (let i = 0; i < 40; i++) batcher.noteAfterRun(afterRunMs);
    const busy = batcher.submit(1);
    const hopeless = batcher.submit(2, { deadline: clock + soon, droppable: true });
    const inTime = batcher.submit(3, { deadline: clock + later, droppable: true });
    clock += 100;
    await releaseRun();
    await busy;
    await releaseRun();
    return { hopeless, inTime, runs };
  }

  it("drops a droppable item due sooner than a batch takes to run, not one with time to spare", async () => {
    const { hopeless, inTime, runs } = await dropsAfterARun(150, 400);
    await expect(hopeless).rejects.toMatchObject({ code: "deadline_exceeded", message: DROPPED });
    expect((await inTime).output).toBe(30);
    expect(runs.flatMap((r) => r.inputs)).toEqual([0, 1, 3]);
  });

  it("counts the time a result takes to be used after its run (noteAfterRun) when dropping", async () => {
    // Each frame takes 200 ms more to composite and encode.
    const { hopeless, inTime, runs } = await dropsAfterARun(350, 600, 200);
    await expect(hopeless).rejects.toMatchObject({ code: "deadline_exceeded", message: DROPPED });
    expect((await inTime).output).toBe(30);
    expect(runs.flatMap((r) => r.inputs)).toEqual([0, 1, 3]);
  });

  it("pads batches to the smallest bucket that holds them", async () => {
    const { batcher, runs, releaseRun } = recorded({ maxBatch: 8, buckets: [1, 2, 4, 8] });
    const busy = batcher.submit(0);
    const waiting = [1, 2, 3].map((x) => batcher.submit(x));
    await releaseRun();
    await busy;
    await releaseRun();
    await Promise.all(waiting);
    expect(runs.map((r) => [r.inputs.length, r.size])).toEqual([[1, 1], [3, 4]]);
    expect(batcher.padded).toBe(1);
  });

  it("fails waiting items as unavailable (retryable) when closed, and refuses new ones", async () => {
    const { batcher, releaseRun } = recorded({ maxBatch: 1 });
    const busy = batcher.submit(0);
    const waiting = batcher.submit(1);
    batcher.close();
    const err = await waiting.catch((e: unknown) => e);
    expect(err).toBeInstanceOf(LipSyncError);
    expect(err).toMatchObject({ code: "unavailable", retryable: true });
    await expect(batcher.submit(2)).rejects.toMatchObject({ code: "unavailable" });
    await releaseRun();
    expect((await busy).output).toBe(0);
  });

  it("removes its abort listener once an item settles", async () => {
    const { batcher, releaseRun } = recorded({ maxBatch: 1 });
    const controller = new AbortController();
    let listeners = 0;
    const add = controller.signal.addEventListener.bind(controller.signal);
    const remove = controller.signal.removeEventListener.bind(controller.signal);
    controller.signal.addEventListener = ((...args: Parameters<typeof add>) => (listeners++, add(...args))) as typeof add;
    controller.signal.removeEventListener = ((...args: Parameters<typeof remove>) => (listeners--, remove(...args))) as typeof remove;
    for (let i = 0; i < 5; i++) {
      const p = batcher.submit(i, { signal: controller.signal });
      await releaseRun();
      await p;
    }
    expect(listeners).toBe(0);
  });
});
