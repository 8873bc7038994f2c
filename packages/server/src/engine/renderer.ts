/**
 * The render stage: one frame through the engine. Model input (cached per source frame) and the
 * frame's audio window -> the batched UNet -> composite into the source frame -> encode, as a
 * lipsync.v1 Frame. Knows nothing of avatars, sessions or transports: a `RenderSource` supplies
 * the pixels and the model. A droppable frame that missed its deadline by the time it is encoded
 * is dropped here (deadline.ts), as the batcher drops one that could not make it before its run.
 */
import type { Composer, FrameRef } from "./compose.js";
import { FrameDropped, tooLate, type Schedule } from "./deadline.js";
import { makeFrame, makeTimings, type Frame, type ImageEncoding, type StageTimings } from "./frame.js";
import type { OutputGeometry, PasteMask, Rect } from "./image-ops.js";
import type { ImageInput, LipSyncModel } from "./model.js";

export type { Frame, ImageEncoding, StageTimings };

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

export interface RenderRequest {
  /** Source frame index. */
  index: number;
  /** pts the frame shows, 16 kHz samples of its clock (default 0). */
  pts?: number;
  /** The frame's audio window: per-frame features, oldest first, flat (the model's audio input). */
  audio: Float32Array;
  encoding: ImageEncoding;
  quality: number;
  /** Encode only the mouth box (the client pastes it over the source frame). */
  patch?: boolean;
  /** performance.now() when the work for this frame began (defaults to now). */
  startedAt?: number;
  /** Deadline, late dropping and cancellation (deadline.ts). */
  schedule?: Schedule;
}

export async function renderFrame(source: RenderSource, req: RenderRequest): Promise<Frame> {
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
  if (req.schedule && tooLate(req.schedule, t2)) throw new FrameDropped();
  return makeFrame({
    image: composed.image, encoding: req.encoding, width: composed.width, height: composed.height, sourceIndex: req.index, pts: req.pts ?? 0, kind: "speech",
    patch: Boolean(req.patch), mouthRect: [rect[0] + mask.x0, rect[1] + mask.y0, mask.x1 - mask.x0, mask.y1 - mask.y0],
    timings: makeTimings({
      prepareMs: t1 - t0, queueMs: timing.queueMs, inferenceMs: timing.runMs, compositeMs: composed.compositeMs, encodeMs: composed.encodeMs,
      totalMs: t2 - t0, batchSize: timing.batchSize,
    }),
  });
}
