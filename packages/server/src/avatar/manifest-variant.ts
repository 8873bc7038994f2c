/**
 * The optional CPU variant of a package's models (manifest field "model.cpu_variant", format 1
 * and 2): other ONNX files with the same tensors, run when the engine runs on the CPU. The demo
 * package's are the static INT8 files training/quantize.py makes; a CUDA server keeps the
 * float32 files, and a package without the field is served as it always was.
 *
 *   "cpu_variant": { "precision": "int8", "unet": "unet.int8.onnx", "audio_encoder": "audio_encoder.int8.onnx",
 *                    "source_sha256": { "unet": "<hex>", "audio_encoder": "<hex>" } }
 *
 * source_sha256 names the float32 files the variant was made from. A package whose float32
 * model changed since (a fine-tuned `lipsync avatar train` copy, a file replaced by hand) keeps
 * serving the model it now holds: the variant is skipped, with a warning, rather than serving an
 * older model on the CPU than on a GPU. So is a variant whose files are absent (a package copied
 * with its float32 files only).
 */
import { createHash } from "node:crypto";
import { access, readFile } from "node:fs/promises";
import path from "node:path";
import type { Device } from "../config.js";
import type { EngineContract } from "../engine/contract.js";
import type { Fields, Json } from "./fields.js";

export const VARIANT_PRECISIONS = ["int8"] as const;
export type Precision = "fp32" | (typeof VARIANT_PRECISIONS)[number];

export interface CpuVariant {
  precision: (typeof VARIANT_PRECISIONS)[number];
  unet: string;
  /** The encoder's variant file; undefined keeps the float32 encoder. */
  encoder: string | undefined;
  /** SHA-256 (hex) of the float32 files the variant was made from. */
  sourceSha256: { unet: string; encoder: string | undefined };
}

const HEX64 = /^[0-9a-f]{64}$/;

/** Reads model.cpu_variant (undefined when absent); `hasEncoder`: the package has an audio encoder. */
export function parseCpuVariant(f: Fields, model: Json, hasEncoder: boolean): CpuVariant | undefined {
  if (model.cpu_variant === undefined) return undefined;
  const p = "model.cpu_variant";
  const raw = f.object(model.cpu_variant, p);
  const precision = f.choice(raw, "precision", `${p}.precision`, VARIANT_PRECISIONS);
  const hashes = f.object(raw.source_sha256, `${p}.source_sha256`);
  const hash = (key: string) => {
    const v = hashes[key];
    if (typeof v !== "string" || !HEX64.test(v)) f.fail(`${p}.source_sha256.${key}`, "must be the SHA-256 of the float32 file, 64 lower-case hex digits");
    return v;
  };
  const encoder = raw.audio_encoder === undefined ? undefined : f.file(raw, "audio_encoder", `${p}.audio_encoder`);
  if (encoder !== undefined && !hasEncoder) f.fail(`${p}.audio_encoder`, "cannot be given: the model has no audio encoder");
  return { precision, unet: f.file(raw, "unet", `${p}.unet`), encoder, sourceSha256: { unet: hash("unet"), encoder: encoder === undefined ? undefined : hash("audio_encoder") } };
}

export interface ModelFiles {
  /** Absolute paths of the files to load. */
  unet: string;
  encoder: string | undefined;
  /** The contract with the chosen files (error messages name the variant's fields when it is used). */
  contract: EngineContract;
  precision: Precision;
  /** Why a declared variant was not used (for a warning), when it was not. */
  skipped?: string;
}

async function sha256(file: string): Promise<string | undefined> {
  try {
    return createHash("sha256").update(await readFile(file)).digest("hex");
  } catch {
    return undefined;
  }
}

/** The ONNX files the engine runs on `device`: the CPU variant where declared and valid, else the float32 ones. */
export async function chooseModelFiles(dir: string, contract: EngineContract, variant: CpuVariant | undefined, device: Device): Promise<ModelFiles> {
  const fp32: ModelFiles = {
    unet: path.join(dir, contract.unet.file), encoder: contract.encoder ? path.join(dir, contract.encoder.file) : undefined, contract, precision: "fp32",
  };
  const v = variant;
  if (!v || device !== "cpu") return fp32;
  const p = "model.cpu_variant";
  const checks: [string, string, string][] = [["unet", contract.unet.file, v.sourceSha256.unet]];
  if (v.encoder && contract.encoder) checks.push(["audio_encoder", contract.encoder.file, v.sourceSha256.encoder!]);
  for (const [role, file, want] of checks) {
    if ((await sha256(path.join(dir, file))) !== want) return { ...fp32, skipped: `${p}.source_sha256.${role} is not the SHA-256 of the float32 file: the variant was made from another model` };
  }
  const files = [v.unet, ...(v.encoder ? [v.encoder] : [])];
  for (const [i, file] of files.entries()) {
    try {
      await access(path.join(dir, file));
    } catch {
      return { ...fp32, skipped: `${p}.${i === 0 ? "unet" : "audio_encoder"} names a file the package lacks` };
    }
  }
  return {
    unet: path.join(dir, v.unet),
    encoder: v.encoder ? path.join(dir, v.encoder) : fp32.encoder,
    contract: {
      unet: { ...contract.unet, file: v.unet, fileField: `${p}.unet` },
      encoder: contract.encoder && v.encoder ? { ...contract.encoder, file: v.encoder, fileField: `${p}.audio_encoder` } : contract.encoder,
    },
    precision: v.precision,
  };
}
