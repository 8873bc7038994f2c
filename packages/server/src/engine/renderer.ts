/**
 * One frame through the whole pipeline: model input (cached per source frame) + audio context
 * -> batched UNet -> composite into the source frame -> encode. Knows nothing of avatars,
 * sessions or transports: a `RenderSource` supplies the pixels and the model.
 */
import type { SubmitOptions } from "./batcher.js";
import type { Composer, FrameRef, ImageEncoding } from "./compose.js";
import type { OutputGeometry, PasteMask, Rect } from "./image-ops.js";
import type { ImageInput, LipSyncModel } from "./model.js";

export type { ImageEncoding };

export interface RenderSource {
  readonly model: LipSyncModel;
  /** Where compositing and encoding run (this thread or a worker pool). */
  readonly composer: Composer;
  /** The source frame, where the composer can read it. */
  frameRef(index: number): Promise<FrameRef>;
  /** The 6-channel model input of the source frame (cached; see ImageInput). */
  input(index: number): Promise<ImageInput>;
  /** The model crop of the frame, in frame pixels. */
  rect(index: number): Rect;
  /** Where and how the output is pasted (same for every frame of a crop size). */
  mask(index: number): PasteMask;
  /** The model output's geometry, channel order and value range. */
  readonly output: OutputGeometry;
}

export interface StageTimings {
  prepareMs: number;
  queueMs: number;
  inferenceMs: number;
  compositeMs: number;
  encodeMs: number;
  totalMs: number;
  batchSize: number;
}

export interface RenderedFrame {
  /** The whole frame, or only the mouth box when `patch`. */
  image: Uint8Array;
  width: number;
  height: number;
  patch: boolean;
  /** pts on the avatar's own-track clock (index * samples per frame), set by who knows the avatar. */
  pts?: number;
  /** Where the output was pasted (the paste region), frame pixels (x, y, width, height). */
  mouthRect: Rect;
  timings: StageTimings;
}

export interface RenderRequest {
  index: number;
  /** The frame's audio window: per-frame features, oldest first, flat (the model's audio input). */
  audio: Float32Array;
  encoding: ImageEncoding;
  quality: number;
  /** Encode only the mouth box (the client pastes it over the source frame). */
  patch?: boolean;
  /** performance.now() when the work for this frame began (defaults to now). */
  startedAt?: number;
  /** Deadline, late dropping and cancellation of the model run (engine/batcher.ts). */
  schedule?: SubmitOptions;
}

export async function renderFrame(source: RenderSource, req: RenderRequest): Promise<RenderedFrame> {
  const t0 = req.startedAt ?? performance.now();
  // The frame (decoded on demand in lazy mode) is fetched while the model runs.
  const frame = source.frameRef(req.index);
  frame.catch(() => undefined);
  const input = await source.input(req.index);
  const t1 = performance.now();
  const { value: output, timing } = await source.model.generate(input, req.audio, req.schedule);
  const ran = performance.now();
  const rect = source.rect(req.index);
  const mask = source.mask(req.index);
  const composed = await source.composer.compose(await frame, {
    output, geometry: source.output, rect, mask, patch: Boolean(req.patch), encoding: req.encoding, quality: req.quality,
  });
  const t2 = performance.now();
  source.model.noteAfterRun(t2 - ran);
  return {
    image: composed.image,
    width: composed.width,
    height: composed.height,
    patch: Boolean(req.patch),
    mouthRect: [rect[0] + mask.x0, rect[1] + mask.y0, mask.x1 - mask.x0, mask.y1 - mask.y0],
    timings: {
      prepareMs: t1 - t0,
      queueMs: timing.queueMs,
      inferenceMs: timing.runMs,
      compositeMs: composed.compositeMs,
      encodeMs: composed.encodeMs,
      totalMs: t2 - t0,
      batchSize: timing.batchSize,
    },
  };
}
