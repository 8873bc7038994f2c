/**
 * A tiny stand-in for a loaded avatar, for session tests that need thousands of frames fast or
 * an engine of a chosen speed: 32 x 32 frames, a 16 x 16 model crop, and a "model" whose runs
 * go through the real Batcher (deadlines, cancellation, dropping) but only copy bytes.
 */
import { DEFAULT_MEL, defaultMelTiming, SAMPLES_PER_FRAME } from "../src/audio/constants.js";
import type { Avatar } from "../src/avatar/avatar.js";
import { Batcher } from "../src/engine/batcher.js";
import { LocalComposer } from "../src/engine/compose.js";
import type { ImageContract } from "../src/engine/contract.js";
import { pasteMask } from "../src/engine/image-ops.js";

export interface StubAvatar {
  avatar: Avatar;
  /** Frames the stub UNet actually ran (never the cancelled or dropped ones). */
  unetRuns: { count: number };
  /** Whether the stub UNet has a batch running or items waiting. */
  busy(): boolean;
  close(): void;
}

export function stubAvatar(options: { runMs?: number; maxBatch?: number } = {}): StubAvatar {
  const size = 16;
  const width = 32;
  const height = 32;
  const frameCount = 10;
  const unetRuns = { count: 0 };
  let running = false;
  const delay = (ms: number) => (ms > 0 ? new Promise((r) => setTimeout(r, ms)) : Promise.resolve());
  const unet = new Batcher<{ image: Float32Array; audio: Float32Array }, Float32Array>(async (items) => {
    running = true;
    await delay(options.runMs ?? 0);
    running = false;
    unetRuns.count += items.length;
    return items.map(() => new Float32Array(3 * size * size).fill(0.5));
  }, { maxBatch: options.maxBatch ?? 8, maxWaitMs: 0 });
  const encoder = new Batcher<Float32Array, Float32Array>(async (items) => items.map(() => new Float32Array(4)), { maxBatch: 64, maxWaitMs: 0 });
  const frame = { data: new Uint8Array(width * height * 3).fill(100), width, height };
  const rect = [8, 8, size, size] as const;
  const image: ImageContract = { size, channelOrder: "RGB", valueRange: [0, 1], cropSize: size, border: 0, filter: "bilinear", mask: [4, 4, 12, 12], paste: [4, 4, 12, 12], feather: 0 };
  const mask = pasteMask(rect, image);
  const model = {
    shape: { size },
    encode: (window: Float32Array, opts?: object) => encoder.submit(window, opts).then((r) => ({ value: r.output, timing: r.timing })),
    generate: (image: Float32Array, audio: Float32Array, opts?: object) => unet.submit({ image, audio }, opts).then((r) => ({ value: r.output, timing: r.timing })),
    noteAfterRun: (ms: number) => unet.noteAfterRun(ms),
  };
  const avatar = {
    name: "stub",
    frameCount,
    samplesPerFrame: SAMPLES_PER_FRAME,
    output: image,
    manifest: {
      width, height, fps: 25,
      model: { image, samplesPerFrame: SAMPLES_PER_FRAME, audio: { featureDim: 4, window: { first: -1, last: 0, padding: "silence" }, frontEnd: { kind: "mel", mel: DEFAULT_MEL, timing: defaultMelTiming(DEFAULT_MEL) } } },
    },
    model,
    silenceFeature: new Float32Array(4),
    sourceJpegs: Array.from({ length: frameCount }, () => new Uint8Array(8)),
    frame: async () => frame,
    frameRef: async () => ({ image: frame }),
    composer: new LocalComposer(),
    input: async () => new Float32Array(6 * size * size),
    rect: () => rect,
    mask: () => mask,
    idleImage: (index: number) => new Uint8Array(8).fill(index),
    windowSource: { audio: { featureDim: 4, window: { first: -1, last: 0, padding: "silence" } }, silence: new Float32Array(4) },
  } as unknown as Avatar;
  return { avatar, unetRuns, busy: () => running || unet.waiting > 0, close: () => (unet.close(), encoder.close()) };
}
