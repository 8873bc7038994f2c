/**
 * The avatar package format (manifest.json) and its validation. Format version 1 (the demo
 * package) and version 2 (any model of the SyncTalk_2D / Ultralight shape: channel order, value
 * range, crop border, separate mask and paste regions, audio windows and front ends, fps) are
 * read into one `Manifest` whose `model` is the normalized ModelContract. Every check names the
 * field it rejects; messages never include file system paths because they may reach clients.
 */
import { FPS, SAMPLE_RATE, samplesPerFrameAt } from "../audio/constants.js";
import type { ModelContract } from "../engine/contract.js";
import { Fields } from "./fields.js";
import { parseModelV1 } from "./manifest-v1.js";
import { parseModelV2 } from "./manifest-v2.js";
import { parseCpuVariant, type CpuVariant } from "./manifest-variant.js";

export const FORMAT = "lipsync-avatar";
export const FORMAT_VERSIONS = [1, 2] as const;

/** x, y, width, height in frame pixels. */
export type Rect = [number, number, number, number];

export interface Manifest {
  name: string;
  description: string;
  formatVersion: number;
  fps: number;
  frameCount: number;
  width: number;
  height: number;
  /** Frame file pattern relative to the package, with {index} or {index:0Nd}. */
  frames: string;
  /** The avatar's own audio track (WAV), or undefined. */
  audioTrack: string | undefined;
  /** Per frame, the square region that is resized into the model's crop. */
  cropBoxes: Rect[];
  license: string;
  model: ModelContract;
  /** Other model files for the CPU (model.cpu_variant: manifest-variant.ts), or undefined. */
  cpuVariant: CpuVariant | undefined;
}

const FRAME_PATTERN = /\{index(?::0([1-9])d)?\}/;

/**
 * Most frames a package may have: 66 minutes of footage at 25 fps. Every count that sizes an
 * allocation is bounded before anything is allocated: frames and crop boxes here, frame size
 * below, the model's tensors in manifest-v1/v2, and what the whole package would hold in
 * memory against the server's budget (memory.ts) before a frame is read.
 */
export const MAX_FRAMES = 100_000;
/** Largest frame side, pixels. */
export const MAX_FRAME_SIDE = 8192;

/** Validates a parsed manifest.json of the package in directory `name`. */
export function parseManifest(raw: unknown, name: string): Manifest {
  const f = new Fields(name);
  const m = f.object(raw, "(root)");
  if (m.format !== FORMAT) f.fail("format", `must be "${FORMAT}"`);
  const version = m.format_version === 1 || m.format_version === 2 ? m.format_version : f.fail("format_version", `must be one of ${FORMAT_VERSIONS.join(", ")}`);
  const fps = f.number(m, "fps", "fps", { int: true, min: 1, max: 100 });
  if (version === 1 && fps !== FPS) f.fail("fps", `must be ${FPS} in format version 1`);
  if (samplesPerFrameAt(fps) === undefined) f.fail("fps", `must divide ${SAMPLE_RATE} (a frame must be a whole number of 16 kHz samples: 20, 25, 50, ...)`);
  const frameCount = f.number(m, "frame_count", "frame_count", { int: true, min: 2, max: MAX_FRAMES });
  const width = f.number(m, "width", "width", { int: true, min: 16, max: MAX_FRAME_SIDE });
  const height = f.number(m, "height", "height", { int: true, min: 16, max: MAX_FRAME_SIDE });
  const frames = f.file(m, "frames");
  if (!FRAME_PATTERN.test(frames)) f.fail("frames", 'must contain "{index}" or "{index:04d}"');
  const audioTrack = m.audio_track === undefined ? undefined : f.file(m, "audio_track");
  const model = version === 1 ? parseModelV1(f, m) : parseModelV2(f, m, fps);
  const cpuVariant = parseCpuVariant(f, f.object(m.model, "model"), model.encoder !== undefined);

  if (!Array.isArray(m.crop_boxes) || m.crop_boxes.length !== frameCount) {
    f.fail("crop_boxes", `must list one box per frame (${frameCount})`);
  }
  const cropBoxes = (m.crop_boxes as unknown[]).map((box, i) => {
    const [x, y, w, h] = f.ints(box, `crop_boxes[${i}]`, 4) as Rect;
    if (w < 8 || h < 8 || x < 0 || y < 0 || x + w > width || y + h > height) {
      f.fail(`crop_boxes[${i}]`, `must lie inside the ${width}x${height} frame`);
    }
    return [x, y, w, h] as Rect;
  });
  const idle = m.idle === undefined ? { policy: "ping-pong" } : f.object(m.idle, "idle");
  if (idle.policy !== "ping-pong") f.fail("idle.policy", 'must be "ping-pong"');
  const license = m.license === undefined ? "" : typeof m.license === "string" ? m.license : String(f.object(m.license, "license").footage ?? "");

  return {
    name: typeof m.name === "string" ? m.name : name,
    description: typeof m.description === "string" ? m.description : "",
    formatVersion: version,
    fps,
    frameCount,
    width,
    height,
    frames,
    audioTrack,
    cropBoxes,
    license,
    model,
    cpuVariant,
  };
}

/** Path of frame `index` inside the package. */
export function frameFile(manifest: Manifest, index: number): string {
  return manifest.frames.replace(FRAME_PATTERN, (_, width: string | undefined) => String(index).padStart(width ? Number(width) : 0, "0"));
}
