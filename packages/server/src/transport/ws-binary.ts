/**
 * The server's side of the binary WebSocket messages: the layout itself lives in
 * @lipsync/proto/ws-binary (shared with the client SDK); here a malformed message becomes the
 * server's INVALID_ARGUMENT and a rendered frame becomes a FRAME message.
 */
import { BinaryFormatError, decodeRequest, encodeFrame, type BinaryRequest } from "@lipsync/proto/ws-binary";
import type { Rect } from "../engine/image-ops.js";
import type { ImageEncoding, StageTimings } from "../engine/renderer.js";
import { invalidArgument } from "../errors.js";

export { encodeError, encodeSourceFrame, KIND_IDLE, KIND_INFERENCE, KIND_SPEECH, type BinaryRequest } from "@lipsync/proto/ws-binary";

export function decodeBinaryRequest(bytes: Uint8Array): BinaryRequest {
  try {
    return decodeRequest(bytes);
  } catch (err) {
    throw err instanceof BinaryFormatError ? invalidArgument(err.message) : err;
  }
}

export interface FrameFields {
  kind: number;
  patch: boolean;
  encoding: ImageEncoding;
  requestId: number;
  sourceIndex: number;
  pts: number;
  width: number;
  height: number;
  mouthRect: Rect | undefined;
  timings: StageTimings | undefined;
  image: Uint8Array;
}

export function frameMessage(f: FrameFields): Uint8Array {
  return encodeFrame({
    kind: f.kind, patch: f.patch, format: f.encoding === "rgb" ? "rgb" : "jpeg", requestId: f.requestId, sourceIndex: f.sourceIndex, pts: f.pts,
    width: f.width, height: f.height, mouthBox: f.mouthRect ? [f.mouthRect[0], f.mouthRect[1], f.mouthRect[2], f.mouthRect[3]] : undefined,
    timings: f.timings, image: f.image,
  });
}
