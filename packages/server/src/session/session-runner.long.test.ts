/**
 * The runner over a stub engine (test/stub-avatar.ts): long sessions, overload and cancellation,
 * where the real model would be too slow to produce thousands of frames or too fast to fall behind.
 */
import { runInNewContext } from "node:vm";
import { setFlagsFromString } from "node:v8";
import { afterEach, describe, expect, it } from "vitest";
import { SAMPLES_PER_FRAME } from "../audio/constants.js";
import { stubAvatar, type StubAvatar } from "../../test/stub-avatar.js";
import { until } from "../../test/wait.js";
import { SessionRunner, type SessionOutput } from "./session-runner.js";

setFlagsFromString("--expose-gc");
const gc = runInNewContext("gc") as () => void;

let stub: StubAvatar | undefined;
afterEach(() => stub?.close());

const speech = (frames: number) => Float32Array.from({ length: frames * SAMPLES_PER_FRAME }, (_, i) => 0.2 * Math.sin(i * 0.05));

function runner(options: Partial<ConstructorParameters<typeof SessionRunner>[1]> = {}, engine: Parameters<typeof stubAvatar>[0] = {}) {
  stub = stubAvatar(engine);
  return new SessionRunner(stub.avatar, { continuous: false, inputRate: 16000, encoding: "rgb", quality: 80, maxQueuedFrames: 64, maxQueuedSeconds: 60, ...options });
}


/** Reads outputs until `stop` says so, with a bound on how many. */
async function read(r: SessionRunner, stop: (o: SessionOutput) => boolean, max = 100_000): Promise<SessionOutput[]> {
  const out: SessionOutput[] = [];
  for await (const o of r) {
    out.push(o);
    if (stop(o) || out.length >= max) break;
  }
  return out;
}

describe("a long session", () => {
  it("keeps retained memory flat over tens of thousands of frames", async () => {
    const r = runner();
    const heapAfter = async (frames: number) => {
      // Utterances of 200 frames: audio in, every frame read out.
      for (let done = 0; done < frames; done += 200) {
        r.pushAudio(speech(200));
        r.end();
        await read(r, (o) => o.type === "playback-finished");
      }
      gc();
      return process.memoryUsage().heapUsed;
    };
    await heapAfter(2_000);
    const base = await heapAfter(2_000);
    const after = await heapAfter(10_000);
    // Before the fix every output left a reaction on a long-lived promise: ~1 KB each (10 MB here).
    expect(after - base).toBeLessThan(2 * 1024 * 1024);
    r.close();
  }, 120_000);
});

describe("audio after end", () => {
  it("starts the next utterance behind the one still rendering, in order, on one clock", async () => {
    const r = runner({}, { runMs: 5 });
    r.pushAudio(speech(10));
    r.end();
    // The player does exactly this: the next utterance arrives before the last one is rendered.
    expect(() => r.pushAudio(speech(5))).not.toThrow();
    r.end();
    let ended = 0;
    const out = await read(r, (o) => o.type === "playback-finished" && ++ended === 2);
    const kinds = out.filter((o) => o.type !== "frame").map((o) => o.type);
    expect(kinds).toEqual(["speech-started", "speech-ended", "playback-finished", "speech-started", "speech-ended", "playback-finished"]);
    const pts = out.flatMap((o) => (o.type === "frame" ? [Number(o.frame.pts)] : []));
    expect(pts).toEqual(Array.from({ length: 15 }, (_, i) => pts[0]! + i * SAMPLES_PER_FRAME));
    const second = out.filter((o) => o.type === "speech-started")[1];
    expect(second).toEqual({ type: "speech-started", pts: pts[0]! + 10 * SAMPLES_PER_FRAME });
    r.close();
  });
});

describe("overload", () => {
  it("drops frames that would come too late, says which, and catches up", async () => {
    // An engine at a fifth of real time: 8 frames per 64 ms batch... of which the bound leaves few.
    const r = runner({ maxLatencyMs: 100 }, { runMs: 200, maxBatch: 8 });
    const frames = 100;
    r.pushAudio(speech(frames));
    r.end();
    const out = await read(r, (o) => o.type === "playback-finished");
    const rendered = out.flatMap((o) => (o.type === "frame" ? [Number(o.frame.pts)] : []));
    const dropped = out.flatMap((o) => (o.type === "frames-dropped" ? [[o.startPts, o.endPts] as const] : []));
    expect(dropped.length).toBeGreaterThan(0);
    // Every pts is accounted for exactly once, rendered or dropped, in order.
    const covered: number[] = [];
    for (const o of out) {
      if (o.type === "frame") covered.push(Number(o.frame.pts));
      if (o.type === "frames-dropped") for (let p = o.startPts; p < o.endPts; p += SAMPLES_PER_FRAME) covered.push(p);
    }
    expect(covered).toEqual(Array.from({ length: frames }, (_, i) => covered[0]! + i * SAMPLES_PER_FRAME));
    expect(rendered.length).toBeGreaterThan(0);
    expect(rendered.length).toBeLessThan(frames);
    // Frames dropped before their run cost the engine nothing (a frame finishing past the bound
    // is dropped too, after its run).
    expect(stub!.unetRuns.count).toBeGreaterThanOrEqual(rendered.length);
    expect(stub!.unetRuns.count).toBeLessThan(frames);
    r.close();
  });

  it("never drops a frame without a latency bound (offline rendering)", async () => {
    const r = runner({}, { runMs: 20, maxBatch: 4 });
    r.pushAudio(speech(40));
    r.end();
    const out = await read(r, (o) => o.type === "playback-finished");
    expect(out.filter((o) => o.type === "frame")).toHaveLength(40);
    expect(out.some((o) => o.type === "frames-dropped")).toBe(false);
    r.close();
  });
});

describe("cancellation", () => {
  it("never renders the frames a barge-in abandoned", async () => {
    const r = runner({ continuous: false }, { runMs: 30, maxBatch: 2 });
    r.pushAudio(speech(60));
    r.end();
    const first = await read(r, (o) => o.type === "frame");
    expect(first.at(-1)!.type).toBe("frame");
    r.clear();
    const afterClear = stub!.unetRuns.count;
    r.pushAudio(speech(4));
    r.end();
    const rest = await read(r, (o) => o.type === "playback-finished" && !o.interrupted);
    expect(rest.filter((o) => o.type === "frame")).toHaveLength(4);
    // At most the batch that was already running when the clear came, plus the new 4.
    expect(stub!.unetRuns.count - afterClear).toBeLessThanOrEqual(2 + 4);
    r.close();
  });

  it("stops the engine work of an aborted session", async () => {
    const r = runner({}, { runMs: 30, maxBatch: 2 });
    r.pushAudio(speech(60));
    r.end();
    await read(r, (o) => o.type === "frame");
    r.abort();
    const atAbort = stub!.unetRuns.count;
    await until(() => !stub!.busy(), "engine idle");
    expect(stub!.unetRuns.count - atAbort).toBeLessThanOrEqual(2);
  });
});
