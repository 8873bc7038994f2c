/**
 * One frame through the whole pipeline: model input (cached per source frame) + audio context
 * -> batched UNet -> composite into the source frame -> encode. Knows nothing of avatars,
 * sessions or transports: a `RenderSource` supplies the pixels and the model.
 */
import { encodeJpeg } from "./jpeg.js";
import { composite, compositePatch, type OutputGeometry, type PasteMask, type Rect, type RgbImage } from "./image-ops.js";
import type { SubmitOptions } from "./batcher.js";
import type { LipSyncModel } from "./model.js";

export interface RenderSource {
  readonly model: LipSyncModel;
  /** The decoded source frame. */
  frame(index: number): Promise<RgbImage>;
  /** The 6-channel model input of the source frame (cached). */
  input(index: number): Promise<Float32Array>;
  /** The model crop of the frame, in frame pixels. */
  rect(index: number): Rect;
  /** Where and how the output is pasted (same for every frame of a crop size). */
  mask(index: number): PasteMask;
  /** The model output's geometry, channel order and value range. */
  readonly output: OutputGeometry;
}

export type ImageEncoding = "jpeg" | "rgb";

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
  const [input, frame] = await Promise.all([source.input(req.index), source.frame(req.index)]);
  const t1 = performance.now();
  const { value: output, timing } = await source.model.generate(input, req.audio, req.schedule);
  const t2 = performance.now();
  const rect = source.rect(req.index);
  const mask = source.mask(req.index);
  const g = source.output;
  const picture = req.patch ? compositePatch(frame, output, g, rect, mask) : { data: composite(frame, output, g, rect, mask), width: frame.width, height: frame.height };
  const t3 = performance.now();
  const image = req.encoding === "rgb" ? picture.data : new Uint8Array(await encodeJpeg(picture.data, picture.width, picture.height, req.quality));
  const t4 = performance.now();
  return {
    image,
    width: picture.width,
    height: picture.height,
    patch: Boolean(req.patch),
    mouthRect: [rect[0] + mask.x0, rect[1] + mask.y0, mask.x1 - mask.x0, mask.y1 - mask.y0],
    timings: {
      prepareMs: t1 - t0,
      queueMs: timing.queueMs,
      inferenceMs: timing.runMs,
      compositeMs: t3 - t2,
      encodeMs: t4 - t3,
      totalMs: t4 - t0,
      batchSize: timing.batchSize,
    },
  };
}
