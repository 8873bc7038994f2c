/**
 * The manifest of a built package (format version 1, as the demo's) and the footage record that
 * `lipsync avatar train` learns from.
 */
import { FPS } from "../../audio/constants.js";
import { FEATHER, MOUTH_BOX } from "./geometry.js";

export interface BuiltPackage {
  name: string;
  description: string;
  license: string;
  source: string;
  width: number;
  height: number;
  cropBoxes: [number, number, number, number][];
  audioTrack: boolean;
  model: Record<string, unknown>;
  modelLicense: string;
}

/** manifest.json text: one crop box per line keeps it readable. */
export function manifestText(p: BuiltPackage): string {
  const manifest = {
    format: "lipsync-avatar",
    format_version: 1,
    name: p.name,
    description: p.description,
    fps: FPS,
    frame_count: p.cropBoxes.length,
    width: p.width,
    height: p.height,
    frames: "frames/{index:04d}.jpg",
    ...(p.audioTrack ? { audio_track: "audio.wav" } : {}),
    crop_boxes: p.cropBoxes,
    mouth_box: MOUTH_BOX,
    feather: FEATHER,
    idle: { policy: "ping-pong" },
    model: p.model,
    license: { footage: p.license, source: p.source, model: p.modelLicense },
    // Read by `lipsync avatar train`; the server ignores it.
    training: { state: "base-model", footage: "footage/footage.json" },
  };
  return JSON.stringify(manifest, null, 1).replace(/\[\s+(-?\d+),\s+(-?\d+),\s+(-?\d+),\s+(-?\d+)\s+\]/g, "[$1, $2, $3, $4]") + "\n";
}
