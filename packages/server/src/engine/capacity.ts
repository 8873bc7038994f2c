/**
 * How many real-time sessions this machine holds for an avatar, measured when the avatar loads:
 * frames go through the whole pipeline (audio encoder, UNet batches, compositing, JPEG) with
 * enough in flight to fill the largest batch twice, once to warm up and once timed. The rate
 * that comes out is what the engine sustains; a session needs `fps` of it.
 *
 * Measured, not configured, because it depends on the device, the model, the frame size and
 * the other avatars loaded; `ServerConfig.sessionCapacity` overrides it where an operator has
 * measured better (bench/sessions.ts).
 */
import { renderFrame, type RenderSource } from "./renderer.js";

export interface Throughput {
  /** Frames per second the engine sustains with whole-frame JPEGs. */
  fullFps: number;
  /** Frames per second with mouth patches (what <lip-sync-player> asks for). */
  patchFps: number;
  /** Frames in flight during the measurement. */
  inFlight: number;
  /** Wall time the measurement took, ms. */
  ms: number;
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

async function rate(source: RenderSource, o: MeasureOptions, patch: boolean, frames: number, inFlight: number): Promise<number> {
  const started = performance.now();
  let next = 0;
  const worker = async () => {
    for (let i = next++; i < frames; i = next++) {
      if (o.encoderInput) await source.model.encode(o.encoderInput);
      await renderFrame(source, { index: i % o.frameCount, audio: o.audio, encoding: "jpeg", quality: o.quality, patch });
    }
  };
  await Promise.all(Array.from({ length: inFlight }, worker));
  return (frames * 1000) / (performance.now() - started);
}

export async function measureThroughput(source: RenderSource, o: MeasureOptions): Promise<Throughput> {
  const started = performance.now();
  const inFlight = Math.max(2, 2 * o.maxBatch);
  const frames = Math.max(16, 3 * o.maxBatch);
  // Warm-up: first runs of a batch shape pay for allocations (and on CUDA, kernel selection).
  await rate(source, o, false, inFlight, inFlight);
  const fullFps = await rate(source, o, false, frames, inFlight);
  const patchFps = await rate(source, o, true, frames, inFlight);
  return { fullFps, patchFps, inFlight, ms: performance.now() - started };
}

/**
 * Sessions of `fps` frames per second that fit in `throughput` at `utilisation` (0..1]: the
 * headroom absorbs the audio front end, bursts and the variance of a shared machine.
 */
export function sessionsFor(throughputFps: number, fps: number, utilisation: number): number {
  return Math.max(1, Math.floor((throughputFps * utilisation) / fps));
}
