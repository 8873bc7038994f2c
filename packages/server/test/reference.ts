/** Reads the tensors training/export.py writes to models/reference/ for cross-checks. */
import { readFileSync } from "node:fs";
import path from "node:path";
import { fileURLToPath } from "node:url";

export const REPO_ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), "../../..");
export const MODELS_DIR = path.join(REPO_ROOT, "models");
export const REFERENCE_DIR = path.join(MODELS_DIR, "reference");

export interface Tensor {
  data: Float32Array;
  shape: number[];
}

export function readTensor(entry: { file: string; shape: number[] }): Tensor {
  const bytes = readFileSync(path.join(REFERENCE_DIR, entry.file));
  const data = new Float32Array(bytes.buffer.slice(bytes.byteOffset, bytes.byteOffset + bytes.byteLength));
  const expected = entry.shape.reduce((a, b) => a * b, 1);
  if (data.length !== expected) throw new Error(`${entry.file}: ${data.length} values, expected ${expected}`);
  return { data, shape: entry.shape };
}

export function referenceIndex(): {
  audio: string;
  mel: { file: string; shape: number[] };
  features: { file: string; shape: number[] };
  unet: {
    frames: number[];
    image: { file: string; shape: number[] };
    audio: { file: string; shape: number[] };
    output: { file: string; shape: number[] };
  };
} {
  return JSON.parse(readFileSync(path.join(REFERENCE_DIR, "index.json"), "utf8"));
}

export function maxAbsDiff(a: ArrayLike<number>, b: ArrayLike<number>): number {
  if (a.length !== b.length) throw new Error(`length ${a.length} != ${b.length}`);
  let m = 0;
  for (let i = 0; i < a.length; i++) m = Math.max(m, Math.abs(a[i]! - b[i]!));
  return m;
}
