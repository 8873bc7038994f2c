/**
 * The model section of format version 1 (the demo package): RGB in [0, 1], a crop at the model's
 * size with no border, one mouth box that is both blanked and pasted, and a past-only audio
 * context of mel-encoder features padded with the feature of silence. Read into the same
 * ModelContract as version 2, so v1 packages keep loading unchanged.
 */
import { DEFAULT_MEL, SAMPLES_PER_FRAME, type MelConfig } from "../audio/constants.js";
import type { ModelContract } from "../engine/contract.js";
import type { Fields, Json } from "./fields.js";

/** Mel settings as v1 and v2 state them; the spectral ones must be the convention we implement. */
export function parseMel(f: Fields, raw: Json, prefix: string, windowRequired: boolean): MelConfig {
  const num = (key: string, fallback: number, opts: { int?: boolean; min?: number } = {}) =>
    windowRequired || raw[key] !== undefined ? f.number(raw, key, `${prefix}.${key}`, opts) : fallback;
  const mel: MelConfig = {
    sampleRate: num("sample_rate", DEFAULT_MEL.sampleRate, { int: true }),
    nFft: num("n_fft", DEFAULT_MEL.nFft, { int: true, min: 2 }),
    hopLength: num("hop_length", DEFAULT_MEL.hopLength, { int: true, min: 1 }),
    winLength: num("win_length", DEFAULT_MEL.winLength, { int: true, min: 2 }),
    nMels: num("n_mels", DEFAULT_MEL.nMels, { int: true, min: 1 }),
    fMin: num("f_min", DEFAULT_MEL.fMin, { min: 0 }),
    fMax: num("f_max", DEFAULT_MEL.fMax, { min: 1 }),
    preemphasis: num("preemphasis", DEFAULT_MEL.preemphasis),
    minLevelDb: num("min_level_db", DEFAULT_MEL.minLevelDb),
    refLevelDb: num("ref_level_db", DEFAULT_MEL.refLevelDb),
    maxAbsValue: num("max_abs_value", DEFAULT_MEL.maxAbsValue, { min: 0 }),
    windowFrames: f.number(raw, "window_frames", `${prefix}.window_frames`, { int: true, min: 1, max: 256 }),
    windowOffset: windowRequired ? f.number(raw, "window_offset", `${prefix}.window_offset`, { int: true }) : 0,
  };
  if (mel.sampleRate !== DEFAULT_MEL.sampleRate) f.fail(`${prefix}.sample_rate`, `must be ${DEFAULT_MEL.sampleRate}`);
  if (mel.sampleRate % mel.hopLength !== 0) f.fail(`${prefix}.hop_length`, "must divide the sample rate");
  if (mel.winLength > mel.nFft) f.fail(`${prefix}.win_length`, "must not exceed n_fft");
  if (mel.fMax > mel.sampleRate / 2 || mel.fMin >= mel.fMax) f.fail(`${prefix}.f_max`, "must lie above f_min and at most at Nyquist");
  const keys: Record<string, string> = { nFft: "n_fft", hopLength: "hop_length", winLength: "win_length", nMels: "n_mels", fMin: "f_min", fMax: "f_max",
    preemphasis: "preemphasis", minLevelDb: "min_level_db", refLevelDb: "ref_level_db", maxAbsValue: "max_abs_value" };
  for (const [key, name] of Object.entries(keys)) {
    const want = (DEFAULT_MEL as unknown as Record<string, number>)[key];
    // The front end implements exactly one convention: a model trained on another would get
    // features it never saw.
    if ((mel as unknown as Record<string, number>)[key] !== want) f.fail(`${prefix}.${name}`, `must be ${want} (the SyncTalk_2D / Wav2Lip mel convention the server implements)`);
  }
  return mel;
}

export function parseModelV1(f: Fields, m: Json): ModelContract {
  const raw = f.object(m.model, "model");
  const size = f.number(raw, "input_size", "model.input_size", { int: true, min: 16, max: 1024 });
  const inputs = f.object(raw.inputs, "model.inputs");
  const outputs = f.object(raw.outputs, "model.outputs");
  const context = f.number(raw, "audio_context", "model.audio_context", { int: true, min: 1, max: 64 });
  const featureDim = f.number(raw, "audio_feature_dim", "model.audio_feature_dim", { int: true, min: 1, max: 65536 });
  const lookaheadFrames = f.number(raw, "lookahead_frames", "model.lookahead_frames", { int: true, min: 0, max: 25 });
  const gmacPerFrame = f.number(raw, "gmac_per_frame", "model.gmac_per_frame", { min: 0 });
  const mel = parseMel(f, f.object(raw.mel, "model.mel"), "model.mel", true);
  if (raw.channel_order !== "RGB") f.fail("model.channel_order", 'must be "RGB" in format version 1 (version 2 also takes "BGR")');
  const range = raw.value_range;
  if (!Array.isArray(range) || range[0] !== 0 || range[1] !== 1) f.fail("model.value_range", "must be [0, 1] in format version 1 (version 2 also takes [-1, 1])");
  const mouth = f.box(m.mouth_box, "mouth_box", size);
  const feather = m.feather === undefined ? 0 : f.number(m, "feather", "feather", { int: true, min: 0, max: 64 });
  const melDims = [1, mel.nMels, mel.windowFrames];
  return {
    formatVersion: 1,
    unet: {
      file: f.file(raw, "unet", "model.unet"),
      fileField: "model.unet",
      image: { name: f.string(inputs, "image", "model.inputs.image"), nameField: "model.inputs.image", dims: [6, size, size], field: "model.input_size" },
      audio: { name: f.string(inputs, "audio", "model.inputs.audio"), nameField: "model.inputs.audio", dims: [context, featureDim], field: "model.audio_context" },
      output: { name: f.string(outputs, "image", "model.outputs.image"), nameField: "model.outputs.image", dims: [3, size, size], field: "model.input_size" },
    },
    encoder: {
      file: f.file(raw, "audio_encoder", "model.audio_encoder"),
      fileField: "model.audio_encoder",
      input: { name: f.string(inputs, "mel", "model.inputs.mel"), nameField: "model.inputs.mel", dims: melDims, field: "model.mel" },
      output: { name: f.string(outputs, "feature", "model.outputs.feature"), nameField: "model.outputs.feature", dims: [featureDim], field: "model.audio_feature_dim" },
    },
    image: { size, channelOrder: "RGB", valueRange: [0, 1], cropSize: size, border: 0, filter: "bilinear", mask: mouth, paste: mouth, feather },
    audio: {
      featureDim,
      window: { first: 1 - context, last: 0, padding: "silence" },
      frontEnd: { kind: "mel", mel, timing: { offsetSamples: mel.windowOffset * mel.hopLength, edge: "silence" } },
      ownFeatures: undefined,
    },
    fps: 25,
    samplesPerFrame: SAMPLES_PER_FRAME,
    lookaheadFrames,
    gmacPerFrame,
  };
}
