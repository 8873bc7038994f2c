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
