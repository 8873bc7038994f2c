/**
 * How many real-time sessions this machine holds for an avatar. Measured when the avatar loads:
 * frames go through the whole pipeline (audio encoder, UNet batches, compositing, JPEG) with
 * enough in flight to fill the largest batch twice, once to warm up and once timed. The rate
 * that comes out is what the engine sustains; a session needs `fps` of it.
 *
 * A measurement taken while the machine was busy (another process starting beside it) is low
 * for good. So it also records what the frames' own stages cost then, and `LiveCapacity` keeps
 * the rate true from the live frames' stage times: a model run of n frames against the run time
 * measured for n, compositing and encoding against theirs. If the live pipeline is faster than it
 * was at load, the rate rises; if it is slower (the machine got busier), it falls, and admission
 * and readiness follow. `ServerConfig.sessionCapacity` overrides all of it.
 */
import type { StageTimings } from "./frame.js";
import { renderFrame, type RenderSource } from "./renderer.js";

/** What one kind of frame cost when the rate was measured. */
export interface StageReference {
  /** Model run time of a batch of n frames: runA + runB * n, ms. */
  runA: number;
  runB: number;
  /** Compositing and encoding of one frame, ms. */
  postMs: number;
  /** Share of a frame's work that is the model run (the rest is compositing and encoding). */
  modelShare: number;
}

export interface Throughput {
  /** Frames per second the engine sustains with whole-frame JPEGs. */
  fullFps: number;
  /** Frames per second with mouth patches (what <lip-sync-player> asks for). */
  patchFps: number;
  /** Frames in flight during the measurement. */
  inFlight: number;
  /** Wall time the measurement took, ms. */
  ms: number;
  full: StageReference;
  patch: StageReference;
}

export interface MeasureOptions {
  frameCount: number;
  maxBatch: number;
  quality: number;
  /** One frame's audio context, e.g. repeated silence features. */
  audio: Float32Array;
  /** One frame's encoder input, e.g. a silent mel window: each frame runs the encoder once too (none without an encoder). */
  encoderInput: Float32Array | undefined;
}

async function rate(source: RenderSource, o: MeasureOptions, patch: boolean, frames: number, inFlight: number, seen: StageTimings[]): Promise<number> {
  const started = performance.now();
  let next = 0;
  const worker = async () => {
    for (let i = next++; i < frames; i = next++) {
      if (o.encoderInput) await source.model.encode(o.encoderInput);
      const f = await renderFrame(source, { index: i % o.frameCount, audio: o.audio, encoding: "jpeg", quality: o.quality, patch });
      seen.push(f.timings!);
    }
  };
  await Promise.all(Array.from({ length: inFlight }, worker));
  return (frames * 1000) / (performance.now() - started);
}

const mean = (xs: number[]) => (xs.length ? xs.reduce((a, b) => a + b, 0) / xs.length : 0);

/** A line through the mean run time of single frames and of the batches the timed runs formed. */
function reference(single: StageTimings[], batched: StageTimings[]): StageReference {
  const one = mean(single.map((t) => t.inferenceMs));
  const n = mean(batched.map((t) => t.batchSize));
  const many = mean(batched.map((t) => t.inferenceMs));
  const runB = n > 1.5 ? Math.max(0, (many - one) / (n - 1)) : 0;
  const runA = Math.max(0.01, one - runB);
  const postMs = mean(batched.map((t) => t.compositeMs + t.encodeMs));
  const perFrame = (runA + runB * Math.max(1, n)) / Math.max(1, n);
  return { runA, runB, postMs, modelShare: perFrame / Math.max(1e-6, perFrame + postMs) };
}

export async function measureThroughput(source: RenderSource, o: MeasureOptions): Promise<Throughput> {
  const started = performance.now();
  const inFlight = Math.max(2, 2 * o.maxBatch);
  const frames = Math.max(16, 3 * o.maxBatch);
  // Warm-up: first runs of a batch shape pay for allocations (and on CUDA, kernel selection).
  await rate(source, o, false, inFlight, inFlight, []);
  const single: StageTimings[] = [];
  await rate(source, o, false, 4, 1, single);
  const full: StageTimings[] = [];
  const patch: StageTimings[] = [];
  const fullFps = await rate(source, o, false, frames, inFlight, full);
  // A patch is a part of the whole frame's work; measured slower only by a busy machine's noise.
  const patchFps = Math.max(fullFps, await rate(source, o, true, frames, inFlight, patch));
  return { fullFps, patchFps, inFlight, ms: performance.now() - started, full: reference(single, full), patch: reference(single, patch) };
}

/** Live frames needed before their stage times correct the measured rate. */
const MIN_LIVE_FRAMES = 50;
/** Weight of one live frame in the moving averages. */
const ALPHA = 0.02;
/** The live rate stays within this factor of the measured one (a few odd frames cannot swing it far). */
const MAX_FACTOR = 4;

/** The measured rate, kept true by the stage times of live frames (see the file comment). */
export class LiveCapacity {
  private readonly slow = { full: { model: 1, post: 1, frames: 0 }, patch: { model: 1, post: 1, frames: 0 } };

  constructor(readonly measured: Throughput) {}

  /** One live frame's stage times: how much slower (> 1) or faster than at measurement its stages ran. */
  observe(t: StageTimings, patch: boolean): void {
    const ref = patch ? this.measured.patch : this.measured.full;
    const s = patch ? this.slow.patch : this.slow.full;
    const expectedRun = ref.runA + ref.runB * Math.max(1, t.batchSize);
    const model = t.inferenceMs / Math.max(1e-3, expectedRun);
    const post = (t.compositeMs + t.encodeMs) / Math.max(1e-3, ref.postMs);
    if (!Number.isFinite(model) || !Number.isFinite(post)) return;
    const a = s.frames === 0 ? 1 : ALPHA;
    s.model += a * (model - s.model);
    s.post += a * (post - s.post);
    s.frames++;
  }

  /** Frames per second the engine sustains now, whole frames or patches. */
  fps(patch: boolean): number {
    const base = patch ? this.measured.patchFps : this.measured.fullFps;
    const s = patch ? this.slow.patch : this.slow.full;
    if (s.frames < MIN_LIVE_FRAMES) return base;
    const ref = patch ? this.measured.patch : this.measured.full;
    const slowdown = ref.modelShare * s.model + (1 - ref.modelShare) * s.post;
    return base / Math.min(MAX_FACTOR, Math.max(1 / MAX_FACTOR, slowdown));
  }
}

/**
 * Sessions of `fps` frames per second that fit in `throughput` at `utilisation` (0..1]: the
 * headroom absorbs the audio front end, bursts and the variance of a shared machine.
 */
export function sessionsFor(throughputFps: number, fps: number, utilisation: number): number {
  return Math.max(1, Math.floor((throughputFps * utilisation) / fps));
}
