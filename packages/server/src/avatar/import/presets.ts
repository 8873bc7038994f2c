/**
 * What the original projects' models expect, as manifest version 2 states it. A model is
 * recognised by its tensors: the image input's size gives the family, the audio input's per-item
 * dims give the audio mode. docs/models.md explains every value.
 */
import { samplesPerFrameAt } from "../../audio/constants.js";

export type Family = "synctalk_2d" | "ultralight";
export type AudioMode = "ave" | "hubert" | "wenet";

export interface FamilyPreset {
  label: string;
  size: number;
  border: number;
  /** cv2.rectangle((5, 5, w, h)) in the originals: x in [5, 5 + w), y in [5, 5 + h). */
  mask: [number, number, number, number];
}

export const FAMILIES: Record<Family, FamilyPreset> = {
  synctalk_2d: { label: "SyncTalk_2D", size: 320, border: 4, mask: [5, 5, 315, 310] },
  ultralight: { label: "Ultralight-Digital-Human", size: 160, border: 4, mask: [5, 5, 155, 150] },
};

export interface ModePreset {
  family: Family;
  mode: AudioMode;
  audioDims: number[];
  /** Window of per-frame features around frame i: SyncTalk_2D i-8 .. i+7, Ultralight i-4 .. i+3. */
  window: [number, number];
  featureDim: number;
  fps: number;
  /** The precomputed features the original preprocessing writes. */
  featuresFile: string;
}

export const MODES: ModePreset[] = [
  { family: "synctalk_2d", mode: "ave", audioDims: [32, 16, 16], window: [-8, 7], featureDim: 512, fps: 25, featuresFile: "aud_ave.npy" },
  { family: "synctalk_2d", mode: "hubert", audioDims: [32, 32, 32], window: [-8, 7], featureDim: 2048, fps: 25, featuresFile: "aud_hu.npy" },
  { family: "synctalk_2d", mode: "wenet", audioDims: [256, 16, 32], window: [-8, 7], featureDim: 8192, fps: 20, featuresFile: "aud_wenet.npy" },
  { family: "ultralight", mode: "hubert", audioDims: [16, 32, 32], window: [-4, 3], featureDim: 2048, fps: 25, featuresFile: "aud_hu.npy" },
  { family: "ultralight", mode: "wenet", audioDims: [128, 16, 32], window: [-4, 3], featureDim: 8192, fps: 20, featuresFile: "aud_wenet.npy" },
];

const same = (a: readonly (number | string)[], b: readonly number[]) => a.length === b.length && a.every((d, i) => d === b[i]);

/** The preset whose audio dims (batch axis left out) these are, or undefined. */
export function modeOf(audioDims: readonly (number | string)[]): ModePreset | undefined {
  return MODES.find((m) => same(audioDims, m.audioDims));
}

export function familyOfSize(size: number | string | undefined): Family | undefined {
  return (Object.keys(FAMILIES) as Family[]).find((f) => FAMILIES[f].size === size);
}

/** The live front end of a model, as the audio encoder file and its sidecar describe it. */
export type FrontEndChoice =
  | { kind: "mel"; file: string; input: string; output: string }
  | { kind: "waveform"; file: string; input: string; output: string; windowSamples: number; offsetSamples: number; outputDims: number[] }
  | { kind: "none" };

export interface ModelSection {
  preset: ModePreset;
  unetFile: string;
  names: { image: string; audio: string; output: string };
  channelOrder: "RGB" | "BGR";
  filter: "area" | "bilinear";
  fps: number;
  frontEnd: FrontEndChoice;
  ownFeatures: string | undefined;
}

/** The manifest's "model" object for a recognised model. */
export function modelManifest(s: ModelSection): Record<string, unknown> {
  const family = FAMILIES[s.preset.family];
  const spf = samplesPerFrameAt(s.fps)!;
  let frontend: Record<string, unknown>;
  if (s.frontEnd.kind === "mel") {
    // SyncTalk_2D: frame i's features are the encoder's of the mel window at int(80 (i - 1) / 25),
    // the first one repeated (clamped) and the last window moved back to fit.
    frontend = { kind: "mel", encoder: { file: s.frontEnd.file, input: s.frontEnd.input, output: s.frontEnd.output }, mel: { window_frames: 16 }, offset_samples: -spf, edge: "clamp" };
  } else if (s.frontEnd.kind === "waveform") {
    const f = s.frontEnd;
    frontend = { kind: "waveform", encoder: { file: f.file, input: f.input, output: f.output, output_dims: f.outputDims }, window_samples: f.windowSamples, offset_samples: f.offsetSamples };
  } else {
    frontend = { kind: "none" };
  }
  return {
    family: `${s.preset.family}/${s.preset.mode}`,
    unet: { file: s.unetFile, inputs: { image: s.names.image, audio: s.names.audio }, output: s.names.output, audio_dims: s.preset.audioDims },
    image: {
      size: family.size,
      channel_order: s.channelOrder,
      value_range: [0, 1],
      crop: { border: family.border, filter: s.filter },
      mask: family.mask,
      paste: [0, 0, family.size, family.size],
      feather: 0,
    },
    audio: {
      feature_dim: s.preset.featureDim,
      window: { offsets: s.preset.window, padding: "zero" },
      frontend,
      ...(s.ownFeatures ? { own_features: s.ownFeatures } : {}),
    },
  };
}
