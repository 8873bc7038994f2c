import { readFileSync } from "node:fs";
import path from "node:path";
import { describe, expect, it } from "vitest";
import { MODELS_DIR } from "../../test/reference.js";
import { LipSyncError } from "../errors.js";
import { frameFile, parseManifest } from "./manifest.js";

const demo = () => JSON.parse(readFileSync(path.join(MODELS_DIR, "demo", "manifest.json"), "utf8"));

function rejects(mutate: (m: Record<string, any>) => void, field: string) {
  const m = demo();
  mutate(m);
  let err: unknown;
  try {
    parseManifest(m, "demo");
  } catch (e) {
    err = e;
  }
  expect(err).toBeInstanceOf(LipSyncError);
  expect((err as LipSyncError).message).toContain(`"${field}"`);
  expect((err as LipSyncError).message).not.toContain(MODELS_DIR);
}

describe("manifest validation", () => {
  it("accepts the demo package", () => {
    const m = parseManifest(demo(), "demo");
    expect(m.frameCount).toBe(m.cropBoxes.length);
    expect(frameFile(m, 7)).toBe("frames/0007.jpg");
  });

  it("reads version 1 into the contract it always meant", () => {
    const { model } = parseManifest(demo(), "demo");
    expect(model.image).toEqual({ size: 128, channelOrder: "RGB", valueRange: [0, 1], cropSize: 128, border: 0, filter: "bilinear", mask: [4, 6, 124, 126], paste: [4, 6, 124, 126], feather: 4 });
    expect(model.audio.window).toEqual({ first: -7, last: 0, padding: "silence" });
    expect(model.audio.frontEnd).toMatchObject({ kind: "mel", timing: { offsetSamples: -1600, edge: "silence" } });
    expect(model.unet.audio.dims).toEqual([8, 64]);
    expect(model.encoder!.input.dims).toEqual([1, 80, 16]);
    expect([model.fps, model.samplesPerFrame, model.lookaheadFrames]).toEqual([25, 640, 2]);
  });

  it("names the field of every inconsistency", () => {
    rejects((m) => (m.format_version = 3), "format_version");
    rejects((m) => (m.fps = 30), "fps");
    rejects((m) => delete m.frame_count, "frame_count");
    rejects((m) => (m.crop_boxes = m.crop_boxes.slice(1)), "crop_boxes");
    rejects((m) => (m.crop_boxes[3] = [500, 500, 128, 128]), "crop_boxes[3]");
    rejects((m) => (m.crop_boxes[0] = [1, 2, 3]), "crop_boxes[0]");
    rejects((m) => (m.mouth_box = [0, 0, 999, 10]), "mouth_box");
    rejects((m) => (m.frames = "../../etc/{index:04d}.jpg"), "frames");
    rejects((m) => (m.frames = "/abs/{index:04d}.jpg"), "frames");
    rejects((m) => (m.frames = "frames/%04d.jpg"), "frames");
    rejects((m) => (m.model.unet = "../unet.onnx"), "model.unet");
    rejects((m) => delete m.model.audio_encoder, "model.audio_encoder");
    rejects((m) => (m.model.mel.sample_rate = 22050), "model.mel.sample_rate");
    rejects((m) => (m.model.mel.hop_length = "200"), "model.mel.hop_length");
    rejects((m) => (m.model.channel_order = "BGR"), "model.channel_order");
    rejects((m) => (m.model.mel.n_fft = 1024), "model.mel.n_fft");
    rejects((m) => (m.model.value_range = [-1, 1]), "model.value_range");
    rejects((m) => (m.idle = { policy: "random" }), "idle.policy");
    rejects((m) => (m.model.input_size = 3.5), "model.input_size");
  });

  it("rejects what is not an object", () => {
    expect(() => parseManifest([], "demo")).toThrow(/must be an object/);
    expect(() => parseManifest(null, "demo")).toThrow(LipSyncError);
  });
});

/** A SyncTalk_2D package as `lipsync avatar import` writes it (docs/models.md shows the same). */
function syncTalk(): Record<string, any> {
  return {
    format: "lipsync-avatar", format_version: 2, name: "may", fps: 25, frame_count: 3, width: 640, height: 480,
    frames: "frames/{index}.jpg", audio_track: "aud.wav", crop_boxes: [[100, 200, 152, 152], [101, 200, 152, 152], [102, 201, 152, 152]],
    model: {
      unet: { file: "unet.onnx", inputs: { image: "input", audio: "audio" }, output: "output", audio_dims: [32, 16, 16] },
      image: { size: 320, channel_order: "BGR", value_range: [0, 1], crop: { border: 4, filter: "area" }, mask: [5, 5, 315, 310], paste: [0, 0, 320, 320], feather: 0 },
      audio: {
        feature_dim: 512, window: { offsets: [-8, 7], padding: "zero" },
        frontend: { kind: "mel", encoder: { file: "audio_encoder.onnx", input: "mel", output: "feature" }, mel: { window_frames: 16 }, offset_samples: -640, edge: "clamp" },
        own_features: "aud_ave.npy",
      },
    },
  };
}

function rejectsV2(mutate: (m: Record<string, any>) => void, field: string, problem?: RegExp) {
  const m = syncTalk();
  mutate(m);
  let err: unknown;
  try {
    parseManifest(m, "may");
  } catch (e) {
    err = e;
  }
  expect(err, field).toBeInstanceOf(LipSyncError);
  expect((err as LipSyncError).message).toContain(`"${field}"`);
  if (problem) expect((err as LipSyncError).message).toMatch(problem);
}

describe("manifest format version 2", () => {
  it("reads a SyncTalk_2D contract: BGR, 4 px border, mask apart from paste, centred window, clamped mel", () => {
    const m = parseManifest(syncTalk(), "may");
    expect(frameFile(m, 7)).toBe("frames/7.jpg");
    expect(m.model.image).toEqual({ size: 320, channelOrder: "BGR", valueRange: [0, 1], cropSize: 328, border: 4, filter: "area", mask: [5, 5, 315, 310], paste: [0, 0, 320, 320], feather: 0 });
    expect(m.model.audio.window).toEqual({ first: -8, last: 7, padding: "zero" });
    expect(m.model.audio.frontEnd).toMatchObject({ kind: "mel", timing: { offsetSamples: -640, edge: "clamp" }, mel: { windowFrames: 16, nMels: 80 } });
    expect(m.model.unet.image).toMatchObject({ name: "input", dims: [6, 320, 320] });
    expect(m.model.unet.audio).toMatchObject({ name: "audio", dims: [32, 16, 16] });
    expect(m.model.encoder!.input.dims).toEqual([1, 80, 16]);
    expect(m.model.audio.ownFeatures).toBe("aud_ave.npy");
    // 7 future frames and the mel window's reach: (7 * 640 + 2120) / 640 -> 11 frames.
    expect(m.model.lookaheadFrames).toBe(11);
  });

  it("reads a 20 fps waveform front end: 800 samples per frame", () => {
    const m = syncTalk();
    m.fps = 20;
    m.model.unet.audio_dims = [128, 16, 32];
    m.model.audio = { feature_dim: 8192, window: { offsets: [-4, 3], padding: "repeat" },
      frontend: { kind: "waveform", encoder: { file: "audio_encoder.onnx", input: "waveform", output: "feature", output_dims: [16, 512] }, window_samples: 10960, offset_samples: 0 } };
    const { model } = parseManifest(m, "ul");
    expect([model.fps, model.samplesPerFrame]).toEqual([20, 800]);
    expect(model.audio.frontEnd).toEqual({ kind: "waveform", windowSamples: 10960, offsetSamples: 0 });
    expect(model.encoder!.output.dims).toEqual([16, 512]);
    expect(model.lookaheadFrames).toBe(Math.ceil((10960 - 800 + 3 * 800) / 800));
  });

  it("names the field of every inconsistency", () => {
    rejectsV2((m) => (m.fps = 30), "fps", /divide 16000/);
    rejectsV2((m) => (m.frames = "frames/{i}.jpg"), "frames");
    rejectsV2((m) => (m.model.image.channel_order = "GBR"), "model.image.channel_order");
    rejectsV2((m) => (m.model.image.value_range = [0, 255]), "model.image.value_range");
    rejectsV2((m) => (m.model.image.crop.filter = "cubic"), "model.image.crop.filter");
    rejectsV2((m) => (m.model.image.crop.border = -1), "model.image.crop.border");
    rejectsV2((m) => (m.model.image.mask = [5, 5, 400, 310]), "model.image.mask");
    rejectsV2((m) => (m.model.image.paste = [0, 0, 320]), "model.image.paste");
    rejectsV2((m) => (m.model.unet.audio_dims = [16, 32, 32]), "model.unet.audio_dims", /16 frames x 512 features = 8192 values, not 16384/);
    rejectsV2((m) => (m.model.unet.audio_dims = [32, 16, 0]), "model.unet.audio_dims");
    rejectsV2((m) => delete m.model.unet.inputs.audio, "model.unet.inputs.audio");
    rejectsV2((m) => (m.model.unet.file = "/etc/unet.onnx"), "model.unet.file");
    rejectsV2((m) => (m.model.audio.window.offsets = [1, 7]), "model.audio.window.offsets");
    rejectsV2((m) => (m.model.audio.window.padding = "mirror"), "model.audio.window.padding");
    rejectsV2((m) => (m.model.audio.frontend.kind = "fbank"), "model.audio.frontend.kind");
    rejectsV2((m) => (m.model.audio.frontend.edge = "wrap"), "model.audio.frontend.edge");
    rejectsV2((m) => (m.model.audio.frontend.mel.n_mels = 64), "model.audio.frontend.mel.n_mels");
    rejectsV2((m) => delete m.model.audio.frontend.mel.window_frames, "model.audio.frontend.mel.window_frames");
    rejectsV2((m) => delete m.model.audio.frontend.encoder.file, "model.audio.frontend.encoder.file");
    rejectsV2((m) => (m.model.audio.frontend.encoder.output_dims = [2, 1024]), "model.audio.frontend.encoder.output_dims");
    rejectsV2((m) => (m.model.audio.own_features = "../aud.npy"), "model.audio.own_features");
    rejectsV2((m) => {
      m.model.audio.frontend = { kind: "none" };
      delete m.model.audio.own_features;
    }, "model.audio.own_features");
    rejectsV2((m) => {
      m.model.audio.frontend = { kind: "none" };
      m.model.audio.window.padding = "silence";
    }, "model.audio.window.padding");
    rejectsV2((m) => (m.model.audio.frontend = { kind: "waveform", encoder: { file: "a.onnx", input: "w", output: "f" }, offset_samples: 0 }), "model.audio.frontend.window_samples");
  });

  it("reads a package with precomputed features only", () => {
    const m = syncTalk();
    m.model.audio.frontend = { kind: "none" };
    const { model } = parseManifest(m, "may");
    expect(model.encoder).toBeUndefined();
    expect(model.lookaheadFrames).toBe(0);
  });
});
