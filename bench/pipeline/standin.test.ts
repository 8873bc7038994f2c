import { silentAudioWindow } from "../../packages/server/src/audio/frontends/feature-window.js";
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { createRequire } from "node:module";
import os from "node:os";
import path from "node:path";
import { afterAll, describe, expect, it } from "vitest";
import { AvatarRegistry } from "../../packages/server/src/avatar/registry.js";
import { resolveConfig } from "../../packages/server/src/config.js";
import { expandInput } from "../../packages/server/src/engine/image-ops.js";
import { silentLogger } from "../../packages/server/src/logger.js";
import { standInPackage } from "./build.js";
import { buildEncoderStandIn, buildStandIn, StandInError, type TensorMeta } from "./standin.js";

const ROOT = path.resolve(import.meta.dirname, "../..");
const ort = createRequire(path.join(ROOT, "packages/server/package.json"))("onnxruntime-node");
const tmp = mkdtempSync(path.join(os.tmpdir(), "lipsync-standin-"));
afterAll(() => rmSync(tmp, { recursive: true, force: true }));

const f32 = (name: string, shape: (number | string)[]): TensorMeta => ({ name, isTensor: true, type: "float32", shape });
const synctalk = {
  image: "input", audio: "audio", output: "output",
  inputs: [f32("input", [1, 6, 320, 320]), f32("audio", [1, 32, 16, 16])], outputs: [f32("output", [1, 3, 320, 320])],
};

/** The StandInError's message of a build that must refuse. */
function refusalOf(build: () => unknown): string {
  try {
    build();
  } catch (err) {
    expect(err).toBeInstanceOf(StandInError);
    return (err as Error).message;
  }
  throw new Error("accepted");
}

async function metadata(bytes: Uint8Array) {
  const file = path.join(tmp, `m${Math.random().toString(36).slice(2)}.onnx`);
  writeFileSync(file, bytes);
  const s = await ort.InferenceSession.create(file);
  const meta = { inputs: s.inputMetadata, outputs: s.outputMetadata };
  await s.release();
  return meta;
}

describe("zero-cost stand-in of a UNet", () => {
  it("mirrors the demo model's tensors and returns the reference channels of the image input", async () => {
    const dir = await standInPackage(path.join(ROOT, "models", "demo"), "demo", tmp);
    const registry = new AvatarRegistry(resolveConfig({ avatarRoots: [tmp], inferenceThreads: 1, memory: "lazy" }), silentLogger());
    try {
      const original = await ort.InferenceSession.create(path.join(ROOT, "models", "demo", "unet.onnx"));
      const stand = await ort.InferenceSession.create(path.join(dir, "unet.standin.onnx"));
      expect(stand.inputMetadata).toEqual(original.inputMetadata);
      expect(stand.outputMetadata).toEqual(original.outputMetadata);
      await Promise.all([original.release(), stand.release()]);

      const avatar = await registry.get("demo-standin");
      const size = avatar.manifest.model.image.size;
      for (const index of [0, 57]) {
        const bytes = await avatar.inputBytes(index);
        const out = await avatar.model.generate({ bytes }, silentAudioWindow(avatar.windowSource));
        const reference = expandInput(bytes.subarray(0, 3 * size * size), avatar.manifest.model.image.valueRange);
        expect(out.value.length).toBe(reference.length);
        expect(Math.max(...out.value.map((v, i) => Math.abs(v - reference[i]!)))).toBe(0);
      }
      expect(avatar.model.runtimeOptions.model_precision).toBe("fp32");
    } finally {
      await registry.closeAll();
    }
  });

  it("keeps a fixed batch and the declared sides (the original SyncTalk_2D export)", async () => {
    const meta = await metadata(buildStandIn(synctalk));
    expect(meta.inputs.map((t: TensorMeta) => [t.name, t.type, t.shape])).toEqual([["input", "float32", [1, 6, 320, 320]], ["audio", "float32", [1, 32, 16, 16]]]);
    expect(meta.outputs[0].shape).toEqual([1, 3, 320, 320]);
    const dynamic = await metadata(buildStandIn({ ...synctalk, inputs: [f32("input", ["batch", 6, 320, 320]), f32("audio", ["batch", 512])], outputs: [f32("output", ["batch", 3, 320, 320])] }));
    expect(dynamic.inputs[1].shape).toEqual(["batch", 512]);
  });

  it("refuses a model it cannot mirror, naming the input or output", () => {
    const refusal = (change: Partial<typeof synctalk>) => refusalOf(() => buildStandIn({ ...synctalk, ...change }));
    expect(refusal({ inputs: [...synctalk.inputs, f32("mask", [1, 1, 320, 320])] })).toContain('input "mask"');
    expect(refusal({ inputs: [synctalk.inputs[0]!, { ...synctalk.inputs[1]!, type: "int64" }] })).toMatch(/input "audio".*int64/);
    expect(refusal({ inputs: [f32("input", [1, 3, 320, 320]), synctalk.inputs[1]!] })).toContain('input "input"');
    expect(refusal({ inputs: [synctalk.inputs[0]!] })).toContain('input "audio"');
    expect(refusal({ outputs: [f32("output", [1, 3, 160, 160])] })).toContain('output "output"');
    expect(refusal({ outputs: [f32("output", [1, 3, 320, 320]), f32("features", [1, 64])] })).toContain('output "features"');
  });
});

describe("zero-cost stand-in of an audio encoder", () => {
  it("mirrors the demo encoder's tensors and returns the first values of its input as the feature", async () => {
    const dir = await standInPackage(path.join(ROOT, "models", "demo"), "demo", path.join(tmp, "enc"));
    const original = await ort.InferenceSession.create(path.join(ROOT, "models", "demo", "audio_encoder.onnx"));
    const stand = await ort.InferenceSession.create(path.join(dir, "audio_encoder.standin.onnx"));
    try {
      expect(stand.inputMetadata).toEqual(original.inputMetadata);
      expect(stand.outputMetadata).toEqual(original.outputMetadata);
      const input = original.inputMetadata[0];
      const dims = [3, ...input.shape.slice(1)] as number[];
      const data = Float32Array.from({ length: dims.reduce((a, b) => a * b, 1) }, (_, i) => i * 0.5);
      const out = (await stand.run({ [input.name]: new ort.Tensor("float32", data, dims) }))[original.outputNames[0]];
      const per = data.length / 3;
      const feature = out.data.length / 3;
      expect(out.dims[0]).toBe(3);
      for (const row of [0, 2]) expect([...out.data.subarray(row * feature, (row + 1) * feature)]).toEqual([...data.subarray(row * per, row * per + feature)]);
    } finally {
      await Promise.all([original.release(), stand.release()]);
    }
  });

  it("keeps the real encoder when asked", async () => {
    const dir = await standInPackage(path.join(ROOT, "models", "demo"), "demo", path.join(tmp, "keep"), { keepEncoder: true });
    const manifest = JSON.parse(readFileSync(path.join(dir, "manifest.json"), "utf8"));
    expect(manifest.model.audio_encoder).toBe("audio_encoder.onnx");
    expect(manifest.model.unet).toBe("unet.standin.onnx");
  });

  it("refuses an encoder it cannot mirror, naming the input or output", () => {
    const spec = { input: "mel", output: "feature", inputs: [f32("mel", ["batch", 80, 16])], outputs: [f32("feature", ["batch", 64])] };
    const refusal = (change: Partial<typeof spec>) => refusalOf(() => buildEncoderStandIn({ ...spec, ...change }));
    expect(buildEncoderStandIn(spec).length).toBeGreaterThan(0);
    expect(refusal({ inputs: [f32("mel", ["batch", 80, "frames"])] })).toContain('encoder input "mel"');
    expect(refusal({ inputs: [f32("mel", ["batch", 4, 8])] })).toMatch(/encoder output "feature".*more than input "mel"/);
    expect(refusal({ inputs: [...spec.inputs, f32("speaker", ["batch", 8])] })).toContain('encoder input "speaker"');
    expect(refusal({ outputs: [{ ...spec.outputs[0]!, type: "float16" }] })).toMatch(/encoder output "feature".*float16/);
  });
});
