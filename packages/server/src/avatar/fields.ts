/**
 * Typed reads of manifest.json values, each failing with a LipSyncError that names the field
 * ("model.image.mask must be ..."), never a file system path: the message may reach clients.
 */
import { LipSyncError } from "../errors.js";

export type Json = Record<string, unknown>;

export class Fields {
  constructor(private readonly name: string) {}

  fail(field: string, problem: string): never {
    throw new LipSyncError("failed_precondition", `avatar "${this.name}": manifest field "${field}" ${problem}`);
  }

  object(value: unknown, field: string): Json {
    if (typeof value !== "object" || value === null || Array.isArray(value)) this.fail(field, "must be an object");
    return value as Json;
  }

  string(obj: Json, key: string, field = key, optional = false): string {
    const v = obj[key];
    if (v === undefined && optional) return "";
    if (typeof v !== "string" || v.length === 0) this.fail(field, "must be a non-empty string");
    return v;
  }

  number(obj: Json, key: string, field = key, opts: { int?: boolean; min?: number; max?: number } = {}): number {
    const v = obj[key];
    if (typeof v !== "number" || !Number.isFinite(v)) this.fail(field, "must be a number");
    if (opts.int && !Number.isInteger(v)) this.fail(field, "must be an integer");
    if (opts.min !== undefined && v < opts.min) this.fail(field, `must be at least ${opts.min}`);
    if (opts.max !== undefined && v > opts.max) this.fail(field, `must be at most ${opts.max}`);
    return v;
  }

  /** An optional number: `fallback` when absent, checked like number() when present. */
  optionalNumber(obj: Json, key: string, field: string, fallback: number, opts: { int?: boolean; min?: number; max?: number } = {}): number {
    return obj[key] === undefined ? fallback : this.number(obj, key, field, opts);
  }

  ints(value: unknown, field: string, length: number): number[] {
    if (!Array.isArray(value) || value.length !== length || !value.every((x) => Number.isInteger(x))) {
      this.fail(field, `must be a list of ${length} integers`);
    }
    return value as number[];
  }

  /** A list of 1..8 positive integers (tensor dims). */
  dims(value: unknown, field: string): number[] {
    if (!Array.isArray(value) || value.length < 1 || value.length > 8 || !value.every((x) => Number.isInteger(x) && x > 0)) {
      this.fail(field, "must be a list of 1 to 8 positive integers");
    }
    return value as number[];
  }

  choice<T extends string>(obj: Json, key: string, field: string, choices: readonly T[], fallback?: T): T {
    const v = obj[key];
    if (v === undefined && fallback !== undefined) return fallback;
    if (typeof v !== "string" || !(choices as readonly string[]).includes(v)) this.fail(field, `must be one of ${choices.map((c) => `"${c}"`).join(", ")}`);
    return v as T;
  }

  /** A file name inside the package: no directories above it, no absolute paths. */
  file(obj: Json, key: string, field = key): string {
    const v = this.string(obj, key, field);
    if (v.startsWith("/") || v.includes("\\") || v.split("/").some((part) => part === ".." || part === "")) {
      this.fail(field, "must be a relative path inside the package");
    }
    return v;
  }

  /** [x0, y0, x1, y1] inside a size x size square, at least 2 pixels each way. */
  box(value: unknown, field: string, size: number): [number, number, number, number] {
    const [x0, y0, x1, y1] = this.ints(value, field, 4) as [number, number, number, number];
    if (x0 < 0 || y0 < 0 || x1 > size || y1 > size || x1 - x0 < 2 || y1 - y0 < 2) {
      this.fail(field, `must be [x0, y0, x1, y1] inside the ${size}x${size} model input`);
    }
    return [x0, y0, x1, y1];
  }
}
