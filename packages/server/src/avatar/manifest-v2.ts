/**
 * The model section of format version 2: the contract a SyncTalk_2D / Ultralight-Digital-Human
 * model (or any model of that shape) needs, field by field. docs/models.md is its reference.
 *
 *   model.unet      file, input/output names, the audio input's per-item dims
 *   model.image     size, channel_order, value_range, crop {border, filter}, mask, paste, feather
 *   model.audio     feature_dim, window {offsets, padding}, frontend {kind, encoder, ...}, own_features
 */
import { samplesPerFrameAt, type MelTiming } from "../audio/constants.js";
import { inputLookaheadSamples } from "../audio/frontends/inputs.js";
import type { FrontEndSpec, WindowSpec } from "../audio/frontends/types.js";
import type { ModelContract, TensorSpec } from "../engine/contract.js";
import type { Fields, Json } from "./fields.js";
import { parseMel } from "./manifest-v1.js";

const MAX_WINDOW_SAMPLES = 30 * 16_000;

function product(dims: number[]): number {
  return dims.reduce((a, b) => a * b, 1);
}

function parseEncoder(f: Fields, raw: Json, prefix: string, featureDim: number, inputDims: number[]): NonNullable<ModelContract["encoder"]> {
  const enc = f.object(raw.encoder, `${prefix}.encoder`);
  const outputDims = enc.output_dims === undefined ? [featureDim] : f.dims(enc.output_dims, `${prefix}.encoder.output_dims`);
  if (product(outputDims) !== featureDim) f.fail(`${prefix}.encoder.output_dims`, `must hold model.audio.feature_dim (${featureDim}) values per item`);
  return {
    file: f.file(enc, "file", `${prefix}.encoder.file`),
    fileField: `${prefix}.encoder.file`,
    input: { name: f.string(enc, "input", `${prefix}.encoder.input`), nameField: `${prefix}.encoder.input`, dims: inputDims, field: prefix },
    output: { name: f.string(enc, "output", `${prefix}.encoder.output`), nameField: `${prefix}.encoder.output`, dims: outputDims, field: `${prefix}.encoder.output_dims` },
  };
}

function parseFrontEnd(f: Fields, raw: Json, featureDim: number): { frontEnd: FrontEndSpec; encoder: ModelContract["encoder"] } {
  const p = "model.audio.frontend";
  const kind = f.choice(raw, "kind", `${p}.kind`, ["mel", "waveform", "none"] as const);
  if (kind === "none") return { frontEnd: { kind }, encoder: undefined };
  const offsetSamples = f.number(raw, "offset_samples", `${p}.offset_samples`, { int: true, min: -MAX_WINDOW_SAMPLES, max: MAX_WINDOW_SAMPLES });
  if (kind === "mel") {
    const mel = parseMel(f, f.object(raw.mel, `${p}.mel`), `${p}.mel`, false);
    const timing: Omit<MelTiming, "samplesPerFrame"> = { offsetSamples, edge: f.choice(raw, "edge", `${p}.edge`, ["silence", "clamp"] as const, "silence") };
    return { frontEnd: { kind, mel, timing }, encoder: parseEncoder(f, raw, p, featureDim, [1, mel.nMels, mel.windowFrames]) };
  }
  const windowSamples = f.number(raw, "window_samples", `${p}.window_samples`, { int: true, min: 1, max: MAX_WINDOW_SAMPLES });
  return { frontEnd: { kind, windowSamples, offsetSamples }, encoder: parseEncoder(f, raw, p, featureDim, [windowSamples]) };
}

function parseWindow(f: Fields, raw: Json, hasEncoder: boolean): WindowSpec {
  const p = "model.audio.window";
  const [first, last] = f.ints(raw.offsets, `${p}.offsets`, 2) as [number, number];
  if (first > 0 || last < 0 || last - first + 1 > 256) f.fail(`${p}.offsets`, "must be [first, last] with first <= 0 <= last and at most 256 frames");
  const padding = f.choice(raw, "padding", `${p}.padding`, ["zero", "repeat", "silence"] as const);
  if (padding === "silence" && !hasEncoder) f.fail(`${p}.padding`, 'cannot be "silence" without an audio encoder (model.audio.frontend.kind "none")');
  return { first, last, padding };
}

export function parseModelV2(f: Fields, m: Json, fps: number): ModelContract {
  const raw = f.object(m.model, "model");
  const samplesPerFrame = samplesPerFrameAt(fps)!;

  const unetRaw = f.object(raw.unet, "model.unet");
  const inputs = f.object(unetRaw.inputs, "model.unet.inputs");
  const imageRaw = f.object(raw.image, "model.image");
  const size = f.number(imageRaw, "size", "model.image.size", { int: true, min: 16, max: 1024 });
  const range = imageRaw.value_range;
  const valueRange = Array.isArray(range) && range.length === 2 && range[1] === 1 && (range[0] === 0 || range[0] === -1) ? [range[0] as number, 1] as const : undefined;
  if (!valueRange) f.fail("model.image.value_range", "must be [0, 1] or [-1, 1]");
  const crop = imageRaw.crop === undefined ? {} : f.object(imageRaw.crop, "model.image.crop");
  const border = f.optionalNumber(crop, "border", "model.image.crop.border", 0, { int: true, min: 0, max: 256 });

  const audioRaw = f.object(raw.audio, "model.audio");
  const featureDim = f.number(audioRaw, "feature_dim", "model.audio.feature_dim", { int: true, min: 1, max: 1 << 20 });
  const { frontEnd, encoder } = parseFrontEnd(f, f.object(audioRaw.frontend, "model.audio.frontend"), featureDim);
  const window = parseWindow(f, f.object(audioRaw.window, "model.audio.window"), encoder !== undefined);
  const audioDims = f.dims(unetRaw.audio_dims, "model.unet.audio_dims");
  const slots = window.last - window.first + 1;
  if (product(audioDims) !== slots * featureDim) {
    f.fail("model.unet.audio_dims", `must hold the audio window: ${slots} frames x ${featureDim} features = ${slots * featureDim} values, not ${product(audioDims)}`);
  }
  const ownFeatures = audioRaw.own_features === undefined ? undefined : f.file(audioRaw, "own_features", "model.audio.own_features");
  if (frontEnd.kind === "none" && !ownFeatures) f.fail("model.audio.own_features", 'is required when model.audio.frontend.kind is "none"');

  const unet: ModelContract["unet"] = {
    file: f.file(unetRaw, "file", "model.unet.file"),
    fileField: "model.unet.file",
    image: { name: f.string(inputs, "image", "model.unet.inputs.image"), nameField: "model.unet.inputs.image", dims: [6, size, size], field: "model.image.size" },
    audio: { name: f.string(inputs, "audio", "model.unet.inputs.audio"), nameField: "model.unet.inputs.audio", dims: audioDims, field: "model.unet.audio_dims" } satisfies TensorSpec,
    output: { name: f.string(unetRaw, "output", "model.unet.output"), nameField: "model.unet.output", dims: [3, size, size], field: "model.image.size" },
  };
  const lookaheadSamples = inputLookaheadSamples(frontEnd, samplesPerFrame) + window.last * samplesPerFrame;
  return {
    formatVersion: 2,
    unet,
    encoder,
    image: {
      size,
      channelOrder: f.choice(imageRaw, "channel_order", "model.image.channel_order", ["RGB", "BGR"] as const),
      valueRange,
      cropSize: size + 2 * border,
      border,
      filter: f.choice(crop, "filter", "model.image.crop.filter", ["bilinear", "area"] as const, "bilinear"),
      mask: f.box(imageRaw.mask, "model.image.mask", size),
      paste: f.box(imageRaw.paste, "model.image.paste", size),
      feather: f.optionalNumber(imageRaw, "feather", "model.image.feather", 0, { int: true, min: 0, max: 64 }),
    },
    audio: { featureDim, window, frontEnd, ownFeatures },
    fps,
    samplesPerFrame,
    lookaheadFrames: frontEnd.kind === "none" ? 0 : Math.ceil(lookaheadSamples / samplesPerFrame),
    gmacPerFrame: f.optionalNumber(raw, "gmac_per_frame", "model.gmac_per_frame", 0, { min: 0 }),
  };
}
