import { execFileSync } from "node:child_process";
import { existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, writeFileSync } from "node:fs";
import os from "node:os";
import path from "node:path";
import * as ort from "onnxruntime-node";
import { describe, expect, it } from "vitest";
import { cudaDeviceCount, doctor, formatReport } from "./doctor.js";
import { installFromTarball } from "./install.js";
import { PROVIDER_FILES } from "./runtime.js";
import { reluModel } from "./tiny-onnx.js";

/** An npm-style tarball holding `files` under package/Plugins/Linux/x64/. */
function fakeProviderTarball(files: string[]): string {
  const dir = mkdtempSync(path.join(os.tmpdir(), "lipsync-fake-gpu-"));
  const lib = path.join(dir, "package", "Plugins", "Linux", "x64");
  mkdirSync(lib, { recursive: true });
  for (const f of files) writeFileSync(path.join(lib, f), `contents of ${f}`);
  const tgz = path.join(dir, "provider.tgz");
  execFileSync("tar", ["czf", tgz, "-C", dir, "package"]);
  return tgz;
}

describe("the probe model", () => {
  it("is a valid ONNX model that onnxruntime runs", async () => {
    const session = await ort.InferenceSession.create(reluModel());
    const out = await session.run({ x: new ort.Tensor("float32", Float32Array.from([-2, -0.5, 0.5, 3]), [1, 4]) });
    expect(Array.from(out.y!.data as Float32Array)).toEqual([0, 0, 0.5, 3]);
    await session.release();
  });
});

describe("lipsync gpu install", () => {
  it("places the provider libraries beside the binding", async () => {
    const bin = mkdtempSync(path.join(os.tmpdir(), "lipsync-bin-"));
    const result = await installFromTarball(fakeProviderTarball([...PROVIDER_FILES, "libonnxruntime_providers_tensorrt.so"]), bin);
    expect(result.installed).toEqual([...PROVIDER_FILES]);
    for (const f of PROVIDER_FILES) expect(readFileSync(path.join(bin, f), "utf8")).toBe(`contents of ${f}`);
    expect(readdirSync(bin).sort()).toEqual([...PROVIDER_FILES].sort());
  });

  it("refuses a tarball without the libraries and writes nothing", async () => {
    const bin = mkdtempSync(path.join(os.tmpdir(), "lipsync-bin-"));
    await expect(installFromTarball(fakeProviderTarball(["libonnxruntime_providers_shared.so"]), bin)).rejects.toThrow(/does not hold .*libonnxruntime_providers_cuda\.so/);
    expect(readdirSync(bin)).toEqual([]);
  });
});

describe("CUDA devices a process addresses", () => {
  it("are every GPU, or those CUDA_VISIBLE_DEVICES names, renumbered from 0", () => {
    expect(cudaDeviceCount(4, undefined)).toBe(4);
    expect(cudaDeviceCount(4, "2,3")).toBe(2);
    expect(cudaDeviceCount(4, "GPU-8f2c1e0a-1b2c-4d5e-8f90-123456789abc")).toBe(1);
    // CUDA stops at the first entry it cannot read; an empty list or -1 hides every GPU.
    expect(cudaDeviceCount(4, "1,-1,2")).toBe(1);
    expect(cudaDeviceCount(4, "")).toBe(0);
    expect(cudaDeviceCount(4, "-1")).toBe(0);
    expect(cudaDeviceCount(1, "0,1,2")).toBe(1);
  });
});

describe("lipsync doctor", () => {
  it("finds the CPU usable and says why CUDA is not, and what to do", async () => {
    const report = await doctor();
    expect(report.cpu).toEqual({ usable: true });
    expect(report.onnxruntime).toMatchObject({ version: "1.29.0", expected: "1.29.0" });
    const text = formatReport(report);
    if (!report.cuda.usable) {
      // No GPU machine in CI: the reason is named, never a hang or a crash.
      expect(report.cuda.error).toMatch(/not installed|GPU|driver|cannot find|probe|linux/);
      expect(report.device).toBe("cpu");
      expect(report.devices.every((d) => !d.usable)).toBe(true);
      expect(text).toMatch(/use: lipsync serve --device cpu/);
    } else {
      expect(report.device).toBe("cuda");
      // A GPU machine: every GPU it lists is probed as cuda:N.
      expect(report.devices.map((d) => d.device)).toEqual(report.gpus.map((_, i) => `cuda:${i}`).slice(0, report.devices.length));
      expect(report.devices[0]).toMatchObject({ device: "cuda:0", usable: true });
    }
    expect(existsSync(report.onnxruntime && "binDir" in report.onnxruntime ? report.onnxruntime.binDir : "/nonexistent")).toBe(true);
  }, 90_000);
});
