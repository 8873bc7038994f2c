/** App results as lipsync.v1 messages (used by the Connect transport). */
import { create } from "@bufbuild/protobuf";
import {
  AvatarInfoSchema, BoxSchema, FrameKind, FrameSchema, ImageFormat, StageTimingsSchema,
  type AvatarInfo, type Box, type Frame,
} from "@lipsync/proto";
import type { AvatarSummary } from "../app.js";
import type { Rect } from "../engine/image-ops.js";
import type { ImageEncoding, RenderedFrame, StageTimings } from "../engine/renderer.js";
import { invalidArgument } from "../errors.js";
import type { OutFrame } from "../session/session-runner.js";

export function box(rect: Rect): Box {
  return create(BoxSchema, { x: rect[0], y: rect[1], width: rect[2], height: rect[3] });
}

export function avatarInfo(s: AvatarSummary): AvatarInfo {
  return create(AvatarInfoSchema, {
    name: s.name, loaded: s.loaded, frameCount: s.frameCount, fps: s.fps, width: s.width, height: s.height,
    description: s.description, license: s.license, error: s.error ?? "",
    ...(s.model ? { model: { inputSize: s.model.inputSize, lookaheadFrames: s.model.lookaheadFrames, gmacPerFrame: s.model.gmacPerFrame, executionProvider: s.model.provider } } : {}),
    ...(s.capacity ? {
      capacity: { sessions: s.capacity.sessions, sessionsMouthPatch: s.capacity.sessionsPatch, engineFps: s.capacity.fullFps, engineFpsMouthPatch: s.capacity.patchFps, measured: s.capacity.measured },
    } : {}),
  });
}

export function imageEncoding(format: ImageFormat): ImageEncoding {
  if (format === ImageFormat.UNSPECIFIED || format === ImageFormat.JPEG) return "jpeg";
  if (format === ImageFormat.RGB) return "rgb";
  throw invalidArgument(`unknown image format ${format}`);
}

function imageFormat(e: ImageEncoding): ImageFormat {
  return e === "rgb" ? ImageFormat.RGB : ImageFormat.JPEG;
}

function timings(t: StageTimings) {
  return create(StageTimingsSchema, {
    prepareMs: t.prepareMs, queueMs: t.queueMs, inferenceMs: t.inferenceMs, compositeMs: t.compositeMs,
    encodeMs: t.encodeMs, totalMs: t.totalMs, batchSize: t.batchSize,
  });
}

/** A frame rendered from the avatar's own audio: pts is its index on the track's clock (index * samples per frame). */
export function renderedFrame(f: RenderedFrame, index: number, encoding: ImageEncoding): Frame {
  return create(FrameSchema, {
    image: f.image, format: imageFormat(encoding), width: f.width, height: f.height, sourceIndex: index,
    pts: BigInt(f.pts ?? 0), kind: FrameKind.SPEECH, mouthBox: box(f.mouthRect), timings: timings(f.timings),
  });
}

export function sessionFrame(f: OutFrame): Frame {
  return create(FrameSchema, {
    image: f.image, format: imageFormat(f.encoding), width: f.width, height: f.height, sourceIndex: f.sourceIndex,
    pts: BigInt(f.pts), kind: f.kind === "speech" ? FrameKind.SPEECH : FrameKind.IDLE, patch: f.patch,
    ...(f.mouthRect ? { mouthBox: box(f.mouthRect) } : {}),
    ...(f.timings ? { timings: timings(f.timings) } : {}),
  });
}
