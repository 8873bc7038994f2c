/**
 * The one frame record of the server: lipsync.v1's `Frame` (and its `StageTimings`), made here
 * once per frame, by the renderer for speech and by the session for idle frames. Transports send
 * it as it is (Connect) or map it once per encoding (WebSocket JSON and binary).
 */
import { create } from "@bufbuild/protobuf";
import { BoxSchema, FrameKind, FrameSchema, ImageFormat, StageTimingsSchema, type Box, type Frame, type StageTimings } from "@lipsync/proto";
import { invalidArgument } from "../errors.js";
import type { Rect } from "./image-ops.js";

export type { Frame, StageTimings };

/** How a frame's image is encoded: JPEG, or raw pixels for consumers that encode video themselves. */
export type ImageEncoding = "jpeg" | "rgb" | "rgba" | "i420";

const FORMATS: Record<ImageEncoding, ImageFormat> = {
  jpeg: ImageFormat.JPEG, rgb: ImageFormat.RGB, rgba: ImageFormat.RGBA, i420: ImageFormat.I420,
};

/** The encoding an image_format field asks for (unset: JPEG). */
export function encodingOf(format: ImageFormat): ImageEncoding {
  if (format === ImageFormat.UNSPECIFIED) return "jpeg";
  const found = (Object.keys(FORMATS) as ImageEncoding[]).find((k) => FORMATS[k] === format);
  if (!found) throw invalidArgument(`unknown image format ${format}`);
  return found;
}

export function formatOf(encoding: ImageEncoding): ImageFormat {
  return FORMATS[encoding];
}

export function box(rect: Rect): Box {
  return create(BoxSchema, { x: rect[0], y: rect[1], width: rect[2], height: rect[3] });
}

export interface FrameFields {
  image: Uint8Array;
  encoding: ImageEncoding;
  width: number;
  height: number;
  sourceIndex: number;
  /** Samples of the 16 kHz session clock (for rendering from the avatar's own track: index * samples per frame). */
  pts: number;
  kind: "speech" | "idle";
  /** Where the mouth was pasted, frame pixels (speech frames). */
  mouthRect?: Rect;
  /** The image is the mouth box only. */
  patch?: boolean;
  timings?: StageTimings;
}

export function makeFrame(f: FrameFields): Frame {
  return create(FrameSchema, {
    image: f.image, format: FORMATS[f.encoding], width: f.width, height: f.height, sourceIndex: f.sourceIndex, pts: BigInt(f.pts),
    kind: f.kind === "speech" ? FrameKind.SPEECH : FrameKind.IDLE, patch: f.patch ?? false,
    ...(f.mouthRect ? { mouthBox: box(f.mouthRect) } : {}),
    ...(f.timings ? { timings: f.timings } : {}),
  });
}

export function makeTimings(t: Omit<StageTimings, "$typeName" | "$unknown">): StageTimings {
  return create(StageTimingsSchema, t);
}

/** JPEG quality as every request states it: an integer 1..100. */
export function checkQuality(q: number): number {
  if (!Number.isInteger(q) || q < 1 || q > 100) throw invalidArgument(`quality must be an integer 1..100, got ${q}`);
  return q;
}
