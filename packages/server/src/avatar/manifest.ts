/**
 * The avatar package format (manifest.json, format_version 1) and its validation. Every check
 * names the field it rejects, so a broken package says what to fix; messages never include
 * file system paths because they may reach clients.
 */
import { DEFAULT_MEL, FPS, type MelConfig } from "../audio/constants.js";
import { LipSyncError } from "../errors.js";

export const FORMAT = "lipsync-avatar";
export const FORMAT_VERSION = 1;

/** x, y, width, height in frame pixels. */
export type Rect = [number, number, number, number];
/** x0, y0, x1, y1 (exclusive) in model-input pixels. */
export type Box = [number, number, number, number];

export interface ModelSpec {
  unet: string;
  audioEncoder: string;
  inputSize: number;
  inputs: { image: string; audio: string; mel: string };
  outputs: { image: string; feature: string };
  audioContext: number;
  audioFeatureDim: number;
  lookaheadFrames: number;
  gmacPerFrame: number;
  mel: MelConfig;
}

export interface Manifest {
  name: string;
  description: string;
  fps: number;
  frameCount: number;
  width: number;
  height: number;
  /** Frame file pattern relative to the package, with {index:04d}. */
  frames: string;
  /** The avatar's own audio track (16 kHz WAV), or undefined. */
  audioTrack: string | undefined;
  cropBoxes: Rect[];
  mouthBox: Box;
  feather: number;
  license: string;
  model: ModelSpec;
}

class Fields {
  constructor(private readonly name: string) {}

  fail(field: string, problem: string): never {
    throw new LipSyncError("failed_precondition", `avatar "${this.name}": manifest field "${field}" ${problem}`);
  }

  object(value: unknown, field: string): Record<string, unknown> {
    if (typeof value !== "object" || value === null || Array.isArray(value)) this.fail(field, "must be an object");
    return value as Record<string, unknown>;
  }

  string(obj: Record<string, unknown>, key: string, field = key, optional = false): string {
    const v = obj[key];
    if (v === undefined && optional) return "";
    if (typeof v !== "string" || v.length === 0) this.fail(field, "must be a non-empty string");
    return v;
  }

  number(obj: Record<string, unknown>, key: string, field = key, opts: { int?: boolean; min?: number; max?: number } = {}): number {
    const v = obj[key];
    if (typeof v !== "number" || !Number.isFinite(v)) this.fail(field, "must be a number");
    if (opts.int && !Number.isInteger(v)) this.fail(field, "must be an integer");
    if (opts.min !== undefined && v < opts.min) this.fail(field, `must be at least ${opts.min}`);
    if (opts.max !== undefined && v > opts.max) this.fail(field, `must be at most ${opts.max}`);
    return v;
  }

  ints(value: unknown, field: string, length: number): number[] {
    if (!Array.isArray(value) || value.length !== length || !value.every((x) => Number.isInteger(x))) {
      this.fail(field, `must be a list of ${length} integers`);
    }
    return value as number[];
  }

  /** A file name inside the package: no directories above it, no absolute paths. */
  file(obj: Record<string, unknown>, key: string, field = key): string {
    const v = this.string(obj, key, field);
    if (v.startsWith("/") || v.includes("\\") || v.split("/").some((part) => part === ".." || part === "")) {
      this.fail(field, "must be a relative path inside the package");
    }
    return v;
  }
}

function parseMel(f: Fields, raw: Record<string, unknown>): MelConfig {
  const num = (key: string, opts: { int?: boolean; min?: number } = {}) => f.number(raw, key, `model.mel.${key}`, opts);
  const mel: MelConfig = {
    sampleRate: num("sample_rate", { int: true }),
    nFft: num("n_fft", { int: true, min: 2 }),
    hopLength: num("hop_length", { int: true, min: 1 }),
    winLength: num("win_length", { int: true, min: 2 }),
    nMels: num("n_mels", { int: true, min: 1 }),
    fMin: num("f_min", { min: 0 }),
    fMax: num("f_max", { min: 1 }),
    preemphasis: num("preemphasis"),
    minLevelDb: num("min_level_db"),
    refLevelDb: num("ref_level_db"),
    maxAbsValue: num("max_abs_value", { min: 0 }),
    windowFrames: num("window_frames", { int: true, min: 1 }),
    windowOffset: num("window_offset", { int: true }),
  };
  if (mel.sampleRate !== DEFAULT_MEL.sampleRate) f.fail("model.mel.sample_rate", `must be ${DEFAULT_MEL.sampleRate} in format version 1`);
  if (mel.sampleRate % mel.hopLength !== 0) f.fail("model.mel.hop_length", "must divide the sample rate");
  if (mel.winLength > mel.nFft) f.fail("model.mel.win_length", "must not exceed n_fft");
  if (mel.fMax > mel.sampleRate / 2 || mel.fMin >= mel.fMax) f.fail("model.mel.f_max", "must lie above f_min and at most at Nyquist");
  return mel;
}

/** Validates a parsed manifest.json of the package in directory `name`. */
export function parseManifest(raw: unknown, name: string): Manifest {
  const f = new Fields(name);
  const m = f.object(raw, "(root)");
  if (m.format !== FORMAT) f.fail("format", `must be "${FORMAT}"`);
  if (m.format_version !== FORMAT_VERSION) f.fail("format_version", `must be ${FORMAT_VERSION}`);
  const fps = f.number(m, "fps", "fps", { int: true });
  if (fps !== FPS) f.fail("fps", `must be ${FPS}`);
  const frameCount = f.number(m, "frame_count", "frame_count", { int: true, min: 2, max: 100_000 });
  const width = f.number(m, "width", "width", { int: true, min: 16, max: 8192 });
  const height = f.number(m, "height", "height", { int: true, min: 16, max: 8192 });
  const frames = f.file(m, "frames");
  if (!frames.includes("{index:04d}")) f.fail("frames", 'must contain "{index:04d}"');
  const audioTrack = m.audio_track === undefined ? undefined : f.file(m, "audio_track");

  const modelRaw = f.object(m.model, "model");
  const inputSize = f.number(modelRaw, "input_size", "model.input_size", { int: true, min: 16, max: 1024 });
  const inputs = f.object(modelRaw.inputs, "model.inputs");
  const outputs = f.object(modelRaw.outputs, "model.outputs");
  const model: ModelSpec = {
    unet: f.file(modelRaw, "unet", "model.unet"),
    audioEncoder: f.file(modelRaw, "audio_encoder", "model.audio_encoder"),
    inputSize,
    inputs: {
      image: f.string(inputs, "image", "model.inputs.image"),
      audio: f.string(inputs, "audio", "model.inputs.audio"),
      mel: f.string(inputs, "mel", "model.inputs.mel"),
    },
    outputs: {
      image: f.string(outputs, "image", "model.outputs.image"),
      feature: f.string(outputs, "feature", "model.outputs.feature"),
    },
    audioContext: f.number(modelRaw, "audio_context", "model.audio_context", { int: true, min: 1, max: 64 }),
    audioFeatureDim: f.number(modelRaw, "audio_feature_dim", "model.audio_feature_dim", { int: true, min: 1, max: 4096 }),
    lookaheadFrames: f.number(modelRaw, "lookahead_frames", "model.lookahead_frames", { int: true, min: 0, max: 25 }),
    gmacPerFrame: f.number(modelRaw, "gmac_per_frame", "model.gmac_per_frame", { min: 0 }),
    mel: parseMel(f, f.object(modelRaw.mel, "model.mel")),
  };
  if (modelRaw.channel_order !== "RGB") f.fail("model.channel_order", 'must be "RGB"');
  const range = modelRaw.value_range;
  if (!Array.isArray(range) || range[0] !== 0 || range[1] !== 1) f.fail("model.value_range", "must be [0, 1]");

  if (!Array.isArray(m.crop_boxes) || m.crop_boxes.length !== frameCount) {
    f.fail("crop_boxes", `must list one box per frame (${frameCount})`);
  }
  const cropBoxes = (m.crop_boxes as unknown[]).map((box, i) => {
    const [x, y, w, h] = f.ints(box, `crop_boxes[${i}]`, 4);
    if (w! < 8 || h! < 8 || x! < 0 || y! < 0 || x! + w! > width || y! + h! > height) {
      f.fail(`crop_boxes[${i}]`, `must lie inside the ${width}x${height} frame`);
    }
    return [x, y, w, h] as Rect;
  });
  const [bx0, by0, bx1, by1] = f.ints(m.mouth_box, "mouth_box", 4) as Box;
  if (bx0 < 0 || by0 < 0 || bx1 > inputSize || by1 > inputSize || bx1 - bx0 < 2 || by1 - by0 < 2) {
    f.fail("mouth_box", `must be [x0, y0, x1, y1] inside the ${inputSize}x${inputSize} model input`);
  }
  const feather = m.feather === undefined ? 0 : f.number(m, "feather", "feather", { int: true, min: 0, max: 64 });
  const idle = m.idle === undefined ? { policy: "ping-pong" } : f.object(m.idle, "idle");
  if (idle.policy !== "ping-pong") f.fail("idle.policy", 'must be "ping-pong"');
  const license = m.license === undefined ? "" : typeof m.license === "string" ? m.license : String(f.object(m.license, "license").footage ?? "");

  return {
    name: typeof m.name === "string" ? m.name : name,
    description: typeof m.description === "string" ? m.description : "",
    fps,
    frameCount,
    width,
    height,
    frames,
    audioTrack,
    cropBoxes,
    mouthBox: [bx0, by0, bx1, by1],
    feather,
    license,
    model,
  };
}

/** Path of frame `index` inside the package. */
export function frameFile(manifest: Manifest, index: number): string {
  return manifest.frames.replace("{index:04d}", String(index).padStart(4, "0"));
}
