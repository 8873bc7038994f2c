import path from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { maxAbsDiff, MODELS_DIR, readTensor, referenceIndex } from "../../test/reference.js";
import { readManifest } from "../avatar/loader.js";
import { silentLogger } from "../logger.js";
import { LipSyncModel } from "./model.js";
import { DEFAULT_MEL } from "../audio/constants.js";
import { FrameWindows } from "../audio/frame-windows.js";
import { melSpectrogram } from "../audio/mel.js";
import { parseWav } from "../audio/wav.js";
import { readFileSync } from "node:fs";
import { REFERENCE_DIR } from "../../test/reference.js";

let model: LipSyncModel;
const index = referenceIndex();

beforeAll(async () => {
  const dir = path.join(MODELS_DIR, "demo");
  const m = await readManifest(dir, "demo");
  model = await LipSyncModel.load({ unet: path.join(dir, m.model.unet.file), encoder: path.join(dir, m.model.encoder!.file) }, m.model,
    { device: "cpu", threads: 2, maxBatch: 8, maxBatchWaitMs: 2 }, silentLogger());
});

afterAll(() => model?.close());

describe("ONNX model through onnxruntime-node", () => {
  it("gives the UNet output PyTorch gave, to 1e-4", async () => {
    const image = readTensor(index.unet.image);
    const audio = readTensor(index.unet.audio);
    const expected = readTensor(index.unet.output);
    const n = image.shape[0]!;
    const imageLen = image.data.length / n;
    const audioLen = audio.data.length / n;
    const outLen = expected.data.length / n;
    for (let i = 0; i < n; i++) {
      const out = await model.generate(image.data.subarray(i * imageLen, (i + 1) * imageLen), audio.data.subarray(i * audioLen, (i + 1) * audioLen));
      expect(maxAbsDiff(out.value, expected.data.subarray(i * outLen, (i + 1) * outLen))).toBeLessThanOrEqual(1e-4);
    }
  });

  it("gives the encoder features PyTorch gave for the reference WAV, from our own mel", async () => {
    const wav = parseWav(readFileSync(path.join(REFERENCE_DIR, index.audio)));
    const expected = readTensor(index.features);
    const windows = new FrameWindows(DEFAULT_MEL);
    windows.add(melSpectrogram(wav.samples, DEFAULT_MEL));
    windows.end();
    const dim = expected.shape[1]!;
    for (const j of [0, 17, expected.shape[0]! - 1]) {
      const f = await model.encode(windows.window(j));
      expect(maxAbsDiff(f.value, expected.data.subarray(j * dim, (j + 1) * dim))).toBeLessThanOrEqual(1e-4);
    }
  });

  it("reads a dynamic batch from the demo export", () => {
    expect(model.shape.unetBatch).toBeUndefined();
    expect(model.shape.encoderBatch).toBeUndefined();
    expect(model.shape.unet.audio.dims).toEqual([8, 64]);
  });

  it("renders a frame alone exactly as inside a batch of eight (within 1e-4)", async () => {
    const image = readTensor(index.unet.image);
    const audio = readTensor(index.unet.audio);
    const imageLen = image.data.length / image.shape[0]!;
    const audioLen = audio.data.length / audio.shape[0]!;
    const one = image.data.subarray(0, imageLen);
    const oneAudio = audio.data.subarray(0, audioLen);
    const alone = Float32Array.from((await model.generate(one, oneAudio)).value);
    // Seven other sessions' frames around it, submitted together so they share one run.
    const others = Array.from({ length: 7 }, (_, k) => {
      const a = Float32Array.from(audio.data.subarray(audioLen, 2 * audioLen), (x) => x * (0.5 + k * 0.1));
      return model.generate(image.data.subarray(imageLen, 2 * imageLen), a);
    });
    const inBatch = model.generate(one, oneAudio);
    const results = await Promise.all([...others, inBatch]);
    const batched = results[results.length - 1]!;
    expect(batched.timing.batchSize).toBeGreaterThan(1);
    expect(maxAbsDiff(alone, batched.value)).toBeLessThanOrEqual(1e-4);
  });
});
