import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { loadDemo } from "../../test/harness.js";
import { until } from "../../test/wait.js";
import { FRAME_MS } from "../audio/constants.js";
import type { Avatar } from "../avatar/avatar.js";
import type { AvatarRegistry } from "../avatar/registry.js";
import { SessionRunner, type SessionOutput } from "./session-runner.js";
import { kindOf, rectOf } from "../../test/frames.js";

let registry: AvatarRegistry;
let avatar: Avatar;

beforeAll(async () => {
  ({ registry, avatar } = await loadDemo());
});

afterAll(() => registry.closeAll());

const tone = (seconds: number) => Float32Array.from({ length: Math.round(16000 * seconds) }, (_, i) => 0.3 * Math.sin(i * 0.2) * Math.sin(i * 0.002));

describe("backpressure", () => {
  it("bounds queued frames for a consumer that does not read, then refuses more audio", async () => {
    const runner = new SessionRunner(avatar, { continuous: false, inputRate: 16000, encoding: "jpeg", quality: 80, maxQueuedFrames: 6, maxQueuedSeconds: 2 });
    runner.pushAudio(tone(1.5));
    // Until the queue is full and nothing more is in the engine: then nothing else may come.
    await until(() => runner.queuedOutputs >= 6 && runner.inFlightFrames === 0, "queue full, engine idle");
    // One speech-started marker plus at most the bound of frames; the rest waits as audio.
    expect(runner.queuedOutputs).toBeLessThanOrEqual(7);
    expect(runner.session.queuedSamples).toBeGreaterThan(16000);
    expect(() => runner.pushAudio(tone(1))).toThrow(/audio queued/);
    // Reading drains it, and no speech frame was dropped.
    runner.end();
    const pts: number[] = [];
    for await (const out of runner) {
      if (out.type === "frame") pts.push(Number(out.frame.pts));
      if (out.type === "playback-finished") break;
    }
    expect(pts.length).toBe(Math.ceil(24000 / 640));
    pts.forEach((p, i) => expect(p - pts[0]!).toBe(i * 640));
    runner.close();
  });

  it("drops idle frames first when a continuous consumer falls behind", async () => {
    const runner = new SessionRunner(avatar, { continuous: true, inputRate: 16000, encoding: "jpeg", quality: 80, maxQueuedFrames: 5, maxQueuedSeconds: 5 });
    const t0 = performance.now();
    // Unread for ten frame periods: the queue holds five, the clock has moved on past the rest.
    await until(() => (runner.session.nextIdleAt() ?? 0) - t0 > 10 * FRAME_MS, "ten idle frames due");
    expect(runner.queuedOutputs).toBe(5);
    const outputs: SessionOutput[] = [];
    for await (const out of runner) {
      outputs.push(out);
      if (outputs.length === 7) break;
    }
    const pts = outputs.map((o) => (o.type === "frame" ? Number(o.frame.pts) : -1));
    // Frames stay in pts order; the ones that did not fit were skipped, not queued.
    for (let i = 1; i < pts.length; i++) expect(pts[i]!).toBeGreaterThan(pts[i - 1]!);
    expect(pts.at(-1)! - pts[0]!).toBeGreaterThan(6 * 640);
    runner.close();
  });
});

describe("barge-in", () => {
  it("drops unsent speech and goes straight back to idle", async () => {
    const runner = new SessionRunner(avatar, { continuous: true, inputRate: 16000, encoding: "jpeg", quality: 80, maxQueuedFrames: 50, maxQueuedSeconds: 30 });
    runner.pushAudio(tone(3));
    const after: SessionOutput[] = [];
    let cleared = false;
    for await (const out of runner) {
      if (!cleared && out.type === "frame" && kindOf(out.frame) === "speech") {
        runner.clear();
        cleared = true;
        continue;
      }
      if (cleared) after.push(out);
      if (cleared && out.type === "frame") break;
    }
    // "cleared" tells an adapter that keeps its own queue (a LiveKit room) to empty it.
    expect(after.map((o) => o.type)).toEqual(["speech-ended", "playback-finished", "cleared", "frame"]);
    expect(after[0]).toMatchObject({ interrupted: true });
    expect(after[3]!.type === "frame" && kindOf(after[3]!.frame)).toBe("idle");
    runner.close();
  });
});

describe("mouth patches", () => {
  it("carry exactly the mouth box of the full frame, far fewer bytes", async () => {
    const run = async (patch: boolean) => {
      const runner = new SessionRunner(avatar, { continuous: false, inputRate: 16000, encoding: "rgb", quality: 80, patch, maxQueuedFrames: 100, maxQueuedSeconds: 30, now: () => 0 });
      runner.pushAudio(tone(0.4));
      runner.end();
      const frames = [];
      for await (const out of runner) {
        if (out.type === "frame") frames.push(out.frame);
        if (out.type === "speech-ended") break;
      }
      runner.close();
      return frames;
    };
    const full = await run(false);
    const patches = await run(true);
    expect(patches.length).toBe(full.length);
    patches.forEach((p, i) => {
      const f = full[i]!;
      const [x0, y0, w, h] = rectOf(p.mouthBox)!;
      expect(p.patch).toBe(true);
      expect(p.sourceIndex).toBe(f.sourceIndex);
      expect([p.width, p.height]).toEqual([w, h]);
      expect(p.image.length).toBeLessThan(f.image.length / 10);
      for (const [x, y] of [[0, 0], [w >> 1, h >> 1], [w - 1, h - 1]] as const) {
        for (let c = 0; c < 3; c++) expect(p.image[(y * w + x) * 3 + c]).toBe(f.image[((y0 + y) * f.width + x0 + x) * 3 + c]);
      }
    });
  });
});
