/**
 * Writing an avatar package without ever leaving half of one: everything goes into a hidden
 * staging folder inside the avatar root (same file system, so the final step is a rename), and
 * the folder is removed on any failure or interrupt. Hidden names (a leading dot) are never
 * listed or loaded by the server.
 */
import { randomBytes } from "node:crypto";
import { copyFileSync, existsSync, mkdirSync, readFileSync, renameSync, rmSync, writeFileSync } from "node:fs";
import path from "node:path";
import { LipSyncError } from "../../errors.js";
import { checkAvatarName } from "../registry.js";
import { CROP_SIZE } from "./geometry.js";

export class PackageStaging {
  readonly dir: string;
  private finished = false;
  private readonly onSignal = () => {
    this.abort();
    process.exit(130);
  };

  private constructor(readonly root: string, readonly name: string, readonly target: string) {
    this.dir = path.join(root, `.${name}.staging-${process.pid}-${randomBytes(3).toString("hex")}`);
    mkdirSync(path.join(this.dir, "frames"), { recursive: true });
    process.once("SIGINT", this.onSignal);
    process.once("SIGTERM", this.onSignal);
  }

  /** A staging folder for package `name` in `root`; refuses to replace one unless `replace`. */
  static create(root: string, name: string, replace: boolean): PackageStaging {
    checkAvatarName(name);
    const target = path.join(root, name);
    if (existsSync(target) && !replace) {
      throw new LipSyncError("already_exists", `avatar "${name}" already exists in ${root}: choose another --name, or pass --force to replace it`);
    }
    mkdirSync(root, { recursive: true });
    return new PackageStaging(root, name, target);
  }

  write(rel: string, bytes: Uint8Array | string): void {
    const file = path.join(this.dir, rel);
    mkdirSync(path.dirname(file), { recursive: true });
    writeFileSync(file, bytes);
  }

  copy(from: string, rel: string): void {
    copyFileSync(from, path.join(this.dir, rel));
  }

  /** Moves the staged package into place (replacing an older one atomically enough: rename, rename, delete). */
  commit(): string {
    const old = existsSync(this.target) ? path.join(this.root, `.${this.name}.old-${process.pid}-${randomBytes(3).toString("hex")}`) : undefined;
    if (old) renameSync(this.target, old);
    try {
      renameSync(this.dir, this.target);
    } catch (err) {
      if (old) renameSync(old, this.target);
      throw err;
    }
    if (old) rmSync(old, { recursive: true, force: true });
    this.release();
    return this.target;
  }

  abort(): void {
    if (this.finished) return;
    rmSync(this.dir, { recursive: true, force: true });
    this.release();
  }

  private release(): void {
    this.finished = true;
    process.removeListener("SIGINT", this.onSignal);
    process.removeListener("SIGTERM", this.onSignal);
  }
}

/** The model section and file names of a base package (the demo), to serve a new face with. */
export function baseModel(baseDir: string): { model: Record<string, unknown>; files: string[]; license: string } {
  let manifest: { format_version?: number; model?: Record<string, unknown>; license?: { model?: string } | string };
  try {
    manifest = JSON.parse(readFileSync(path.join(baseDir, "manifest.json"), "utf8"));
  } catch {
    throw new LipSyncError("failed_precondition", `the base model package (${baseDir}) has no readable manifest.json: pass --base DIR of an avatar package`);
  }
  const model = manifest.model;
  if (!model || typeof model.unet !== "string" || typeof model.audio_encoder !== "string") {
    throw new LipSyncError("failed_precondition", `the base model package (${baseDir}) names no model files`);
  }
  // Faces are placed for the demo family's crop (geometry.ts); another geometry would not fit.
  if (manifest.format_version !== 1 || model.input_size !== CROP_SIZE) {
    throw new LipSyncError("failed_precondition", `the base model (${baseDir}) is not of the demo model family (format 1, ${CROP_SIZE} px crops), for which avatar build places faces`);
  }
  const files = [model.unet, model.audio_encoder];
  // The CPU variant (INT8) of the same model serves the new face as well: its files go along.
  const variant = model.cpu_variant as { unet?: unknown; audio_encoder?: unknown } | undefined;
  for (const f of [variant?.unet, variant?.audio_encoder]) if (typeof f === "string") files.push(f);
  for (const f of files) {
    if (!existsSync(path.join(baseDir, f))) throw new LipSyncError("failed_precondition", `the base model package (${baseDir}) lacks ${f}`);
  }
  const license = typeof manifest.license === "object" && manifest.license?.model ? manifest.license.model : "see the base package";
  return { model, files, license };
}
