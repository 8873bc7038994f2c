import { createHash } from "node:crypto";
import { cpSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import os from "node:os";
import path from "node:path";
import { afterAll, describe, expect, it } from "vitest";
import { MODELS_DIR } from "../../test/reference.js";
import { LipSyncError } from "../errors.js";
import { parseManifest } from "./manifest.js";
import { chooseModelFiles } from "./manifest-variant.js";

const DEMO = path.join(MODELS_DIR, "demo");
const sha = (file: string) => createHash("sha256").update(readFileSync(file)).digest("hex");

/** A scratch package: the demo's manifest and fp32 model files, INT8 stand-ins named by a variant. */
function scratch(variant: Record<string, unknown> | undefined) {
  const dir = mkdtempSync(path.join(os.tmpdir(), "lipsync-variant-"));
  const m = JSON.parse(readFileSync(path.join(DEMO, "manifest.json"), "utf8"));
  for (const f of [m.model.unet, m.model.audio_encoder]) cpSync(path.join(DEMO, f), path.join(dir, f));
  writeFileSync(path.join(dir, "u8.onnx"), "stand-in");
  writeFileSync(path.join(dir, "e8.onnx"), "stand-in");
  if (variant) m.model.cpu_variant = variant;
  else delete m.model.cpu_variant;
  return { dir, manifest: parseManifest(m, "demo"), raw: m };
}

const dirs: string[] = [];
afterAll(() => dirs.forEach((d) => rmSync(d, { recursive: true, force: true })));

function hashes() {
  return { unet: sha(path.join(DEMO, "unet.onnx")), audio_encoder: sha(path.join(DEMO, "audio_encoder.onnx")) };
}

describe("model.cpu_variant", () => {
  it("leaves a package without a variant as it was, on every device", async () => {
    const { dir, manifest } = scratch(undefined);
    dirs.push(dir);
    expect(manifest.cpuVariant).toBeUndefined();
    for (const device of ["cpu", "cuda"] as const) {
      const files = await chooseModelFiles(dir, manifest.model, manifest.cpuVariant, device);
      expect(files).toMatchObject({ unet: path.join(dir, "unet.onnx"), encoder: path.join(dir, "audio_encoder.onnx"), precision: "fp32" });
      expect(files.skipped).toBeUndefined();
      expect(files.contract.unet.fileField).toBe("model.unet");
    }
  });

  it("runs the variant on the CPU and the float32 files on CUDA", async () => {
    const { dir, manifest } = scratch({ precision: "int8", unet: "u8.onnx", audio_encoder: "e8.onnx", source_sha256: hashes() });
    dirs.push(dir);
    const cpu = await chooseModelFiles(dir, manifest.model, manifest.cpuVariant, "cpu");
    expect(cpu).toMatchObject({ unet: path.join(dir, "u8.onnx"), encoder: path.join(dir, "e8.onnx"), precision: "int8" });
    expect(cpu.skipped).toBeUndefined();
    // A variant file that does not load is then reported by its own field.
    expect(cpu.contract.unet).toMatchObject({ file: "u8.onnx", fileField: "model.cpu_variant.unet", image: manifest.model.unet.image });
    expect(cpu.contract.encoder).toMatchObject({ file: "e8.onnx", fileField: "model.cpu_variant.audio_encoder" });
    const cuda = await chooseModelFiles(dir, manifest.model, manifest.cpuVariant, "cuda");
    expect(cuda).toMatchObject({ unet: path.join(dir, "unet.onnx"), encoder: path.join(dir, "audio_encoder.onnx"), precision: "fp32" });
  });

  it("keeps the float32 encoder when the variant names only a UNet", async () => {
    const { dir, manifest } = scratch({ precision: "int8", unet: "u8.onnx", source_sha256: { unet: hashes().unet } });
    dirs.push(dir);
    const cpu = await chooseModelFiles(dir, manifest.model, manifest.cpuVariant, "cpu");
    expect(cpu).toMatchObject({ unet: path.join(dir, "u8.onnx"), encoder: path.join(dir, "audio_encoder.onnx"), precision: "int8" });
    expect(cpu.contract.encoder!.fileField).toBe("model.audio_encoder");
  });

  it("serves the float32 model, saying why, when it changed since the variant was made", async () => {
    const { dir, manifest } = scratch({ precision: "int8", unet: "u8.onnx", audio_encoder: "e8.onnx", source_sha256: hashes() });
    dirs.push(dir);
    // A fine-tuned model written over the float32 file (what `lipsync avatar train` does).
    writeFileSync(path.join(dir, "unet.onnx"), Buffer.concat([readFileSync(path.join(dir, "unet.onnx")), Buffer.of(0)]));
    const cpu = await chooseModelFiles(dir, manifest.model, manifest.cpuVariant, "cpu");
    expect(cpu).toMatchObject({ unet: path.join(dir, "unet.onnx"), precision: "fp32" });
    expect(cpu.skipped).toContain("model.cpu_variant.source_sha256.unet");
  });

  it("serves the float32 model when the variant's file is absent (a package copied without it)", async () => {
    const { dir, manifest } = scratch({ precision: "int8", unet: "u8.onnx", audio_encoder: "missing.onnx", source_sha256: hashes() });
    dirs.push(dir);
    const cpu = await chooseModelFiles(dir, manifest.model, manifest.cpuVariant, "cpu");
    expect(cpu).toMatchObject({ unet: path.join(dir, "unet.onnx"), encoder: path.join(dir, "audio_encoder.onnx"), precision: "fp32" });
    expect(cpu.skipped).toContain("model.cpu_variant.audio_encoder");
    expect(cpu.skipped).not.toContain(dir);
  });

  it("names the field of every inconsistency", () => {
    const good = { precision: "int8", unet: "u8.onnx", audio_encoder: "e8.onnx", source_sha256: hashes() };
    const cases: [Record<string, unknown>, string][] = [
      [{ ...good, precision: "int4" }, "model.cpu_variant.precision"],
      [{ ...good, unet: "../u8.onnx" }, "model.cpu_variant.unet"],
      [{ ...good, audio_encoder: "/abs/e8.onnx" }, "model.cpu_variant.audio_encoder"],
      [{ ...good, source_sha256: undefined }, "model.cpu_variant.source_sha256"],
      [{ ...good, source_sha256: { unet: "abc", audio_encoder: hashes().audio_encoder } }, "model.cpu_variant.source_sha256.unet"],
      [{ ...good, source_sha256: { unet: hashes().unet } }, "model.cpu_variant.source_sha256.audio_encoder"],
    ];
    for (const [variant, field] of cases) {
      const m = JSON.parse(readFileSync(path.join(DEMO, "manifest.json"), "utf8"));
      m.model.cpu_variant = variant;
      let err: unknown;
      try {
        parseManifest(m, "demo");
      } catch (e) {
        err = e;
      }
      expect({ field, err: err instanceof LipSyncError ? err.message : String(err) }).toEqual({ field, err: expect.stringContaining(`"${field}"`) });
    }
  });
});

describe("the demo package's CPU variant", () => {
  const m = JSON.parse(readFileSync(path.join(DEMO, "manifest.json"), "utf8"));
  // A retrained model exported without a variant is served in float32 everywhere until
  // python3 -m training.quantize is rerun; a variant left from an older model must not stay declared.
  it.skipIf(!m.model.cpu_variant)("was made from the float32 files the package holds now (rerun python3 -m training.quantize after retraining)", () => {
    expect(m.model.cpu_variant.source_sha256).toEqual(hashes());
    for (const f of [m.model.cpu_variant.unet, m.model.cpu_variant.audio_encoder]) expect(readFileSync(path.join(DEMO, f)).length).toBeGreaterThan(1000);
  });
});
