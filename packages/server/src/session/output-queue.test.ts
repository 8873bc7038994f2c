/** The output stage alone: order, barge-in generations, dropped runs, errors, backpressure count. */
import { describe, expect, it } from "vitest";
import { LipSyncError } from "../errors.js";
import { OutputQueue, type Settled } from "./output-queue.js";
import type { SessionOutput } from "./protocol.js";

function queue() {
  const seen = { sentUpTo: 0, dropped: 0, consumed: 0 };
  const q = new OutputQueue(640, { consumed: () => seen.consumed++, sentUpTo: (p) => (seen.sentUpTo = p), dropped: (n) => (seen.dropped += n) });
  return { q, seen };
}

function later<T>(): { promise: Promise<T>; resolve: (v: T) => void } {
  let resolve!: (v: T) => void;
  return { promise: new Promise<T>((r) => (resolve = r)), resolve };
}

const speechAt = (pts: number) => ({ type: "speech-started", pts }) as SessionOutput;

async function take(q: OutputQueue, n: number): Promise<SessionOutput[]> {
  const out: SessionOutput[] = [];
  for await (const o of q) {
    out.push(o);
    if (out.length === n) break;
  }
  return out;
}

describe("output queue", () => {
  it("leaves in the order entries went in, however their work finishes", async () => {
    const { q } = queue();
    const a = later<Settled>();
    const b = later<Settled>();
    q.pushPending(a.promise, true);
    q.pushPending(b.promise, true);
    q.push(speechAt(0));
    b.resolve({ kind: "output", output: speechAt(2) });
    a.resolve({ kind: "output", output: speechAt(1) });
    expect((await take(q, 3)).map((o) => (o as { pts: number }).pts)).toEqual([1, 2, 0]);
    expect(q.length).toBe(0);
  });

  it("never sends speech of a generation a barge-in ended, but keeps what is not speech", async () => {
    const { q } = queue();
    const stale = later<Settled>();
    q.pushPending(stale.promise, true);
    q.push(speechAt(5));
    q.newGeneration();
    stale.resolve({ kind: "output", output: speechAt(99) });
    q.push(speechAt(6));
    expect((await take(q, 2)).map((o) => (o as { pts: number }).pts)).toEqual([5, 6]);
  });

  it("reports consecutive dropped frames as one run, before the next output", async () => {
    const { q, seen } = queue();
    for (const pts of [640, 1280, 1920]) q.pushPending(Promise.resolve({ kind: "dropped", pts }), true);
    q.push(speechAt(2560));
    const out = await take(q, 2);
    expect(out).toEqual([{ type: "frames-dropped", startPts: 640, endPts: 2560 }, speechAt(2560)]);
    expect(seen).toMatchObject({ dropped: 3, sentUpTo: 2560 });
  });

  it("ends with an entry's error, dropping the rest", async () => {
    const { q } = queue();
    q.pushPending(Promise.resolve({ kind: "error", error: new LipSyncError("internal", "model failed") }), true);
    q.push(speechAt(1));
    await expect(take(q, 2)).rejects.toThrow("model failed");
    expect(q.length).toBe(0);
  });

  it("ends after what is queued when closed, at once when closed with an error", async () => {
    const { q } = queue();
    q.push(speechAt(1));
    q.close();
    expect(await take(q, 5)).toEqual([speechAt(1)]);
    const other = queue().q;
    other.push(speechAt(1));
    other.close(new LipSyncError("unavailable", "shutting down"));
    await expect(take(other, 5)).rejects.toThrow("shutting down");
  });
});
