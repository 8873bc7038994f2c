/** Test accessors of the server's frame record (a lipsync.v1 Frame) in the shapes tests compare. */
import { FrameKind, type Box, type Frame } from "@lipsync/proto";

/** x, y, width, height of a mouth box. */
export function rectOf(box: Box | undefined): [number, number, number, number] | undefined {
  return box && [box.x, box.y, box.width, box.height];
}

export function kindOf(frame: Frame): "speech" | "idle" {
  return frame.kind === FrameKind.SPEECH ? "speech" : "idle";
}

/** A frame with its pts as a number and its mouth box as a rect. */
export function plain(frame: Frame): Frame & { ptsN: number; mouthRect: [number, number, number, number] | undefined } {
  return Object.assign(frame, { ptsN: Number(frame.pts), mouthRect: rectOf(frame.mouthBox) });
}
