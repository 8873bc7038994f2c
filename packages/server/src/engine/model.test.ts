import path from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { maxAbsDiff, MODELS_DIR, readTensor, referenceIndex } from "../../test/reference.js";
import { readManifest } from "../avatar/loader.js";
import { silentLogger } from "../logger.js";
import { batchBuckets, LipSyncModel } from "./model.js";
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

/** A reference image (values k / 255 in [0, 1]) as the cached input bytes the engine takes. */
function bytes(image: Float32Array): { bytes: Uint8Array } {
  const out = Uint8Array.from(image, (v) => Math.round(v * 255));
  for (let i = 0; i < image.length; i++) if (Math.abs(out[i]! / 255 - image[i]!) > 1e-6) throw new Error("reference image is not 8-bit");
  return { bytes: out };
}

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
      const out = await model.generate(bytes(image.data.subarray(i * imageLen, (i + 1) * imageLen)), audio.data.subarray(i * audioLen, (i + 1) * audioLen));
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
    const one = bytes(image.data.subarray(0, imageLen));
    const oneAudio = audio.data.subarray(0, audioLen);
    const alone = Float32Array.from((await model.generate(one, oneAudio)).value);
    // Seven other sessions' frames around it, submitted together so they share one run.
    const others = Array.from({ length: 7 }, (_, k) => {
      const a = Float32Array.from(audio.data.subarray(audioLen, 2 * audioLen), (x) => x * (0.5 + k * 0.1));
      return model.generate(bytes(image.data.subarray(imageLen, 2 * imageLen)), a);
    });
    const inBatch = model.generate(one, oneAudio);
    const results = await Promise.all([...others, inBatch]);
    const batched = results[results.length - 1]!;
    expect(batched.timing.batchSize).toBeGreaterThan(1);
    expect(maxAbsDiff(alone, batched.value)).toBeLessThanOrEqual(1e-4);
  });
});

describe("batch buckets", () => {
  it("are powers of two up to the cap on CUDA, any size on the CPU, the fixed batch when there is one", () => {
    expect(batchBuckets("cuda", 32, undefined)).toEqual([1, 2, 4, 8, 16, 32]);
    expect(batchBuckets("cuda", 12, undefined)).toEqual([1, 2, 4, 8, 12]);
    expect(batchBuckets("cpu", 8, undefined)).toBeUndefined();
    expect(batchBuckets("cpu", 8, undefined, "pow2")).toEqual([1, 2, 4, 8]);
    expect(batchBuckets("cuda", 8, undefined, "any")).toBeUndefined();
    expect(batchBuckets("cuda", 8, 1)).toEqual([1]);
  });

  it("are each run once at load, and batches are padded to them", async () => {
    const dir = path.join(MODELS_DIR, "demo");
    const m = await readManifest(dir, "demo");
    const padded = await LipSyncModel.load({ unet: path.join(dir, m.model.unet.file), encoder: path.join(dir, m.model.encoder!.file) }, m.model,
      { device: "cpu", threads: 2, maxBatch: 8, maxBatchWaitMs: 20, buckets: "pow2" }, silentLogger());
    try {
      expect(padded.unetBuckets).toEqual([1, 2, 4, 8]);
      expect(padded.warmupMs).toBeGreaterThan(0);
      const ran = [...padded.runs];
      expect(ran.filter((r) => r.model === "unet").map((r) => r.rows)).toEqual(expect.arrayContaining([1, 2, 4, 8]));
      // Three frames submitted together run as one padded batch of four.
      const image = { bytes: new Uint8Array(6 * 128 * 128) };
      const results = await Promise.all([0, 1, 2].map(() => padded.generate(image, new Float32Array(8 * 64))));
      expect(results.map((r) => r.timing.batchSize)).toEqual([3, 3, 3]);
      expect(padded.runs.at(-1)).toEqual({ model: "unet", rows: 4 });
    } finally {
      await padded.close();
    }
  });
});
