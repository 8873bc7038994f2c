/**
 * `lipsync avatar build`: a photo or a video to an avatar package that serves at once with the
 * base (demo) model, placed so the face's mouth sits where that model expects it, and that
 * `lipsync avatar train` can later fine-tune on the footage kept in footage/.
 */
import { existsSync, statSync } from "node:fs";
import path from "node:path";
import { LipSyncError } from "../../errors.js";
import { FaceFinder } from "./faces.js";
import { manifestText } from "./manifest-writer.js";
import { baseModel, PackageStaging } from "./package-writer.js";
import { buildFromPhoto, type SourceResult } from "./photo.js";
import { silentProgress, type Progress } from "./progress.js";
import { buildFromVideo } from "./video.js";

export interface BuildOptions {
  photo?: string;
  video?: string;
  name: string;
  /** The avatar root the package goes into. */
  root: string;
  license: string;
  description?: string;
  /** Package whose model the new avatar serves with until it is trained (the demo). */
  base: string;
  /** Replace an existing package of the same name. */
  force?: boolean;
  jpegQuality?: number;
  /** Longest idle loop taken from a video, frames. */
  maxIdleFrames?: number;
  progress?: Progress;
}

export interface BuildSummary extends SourceResult {
  name: string;
  dir: string;
  kind: "photo" | "video";
  frames: number;
  seconds: number;
}

export async function buildAvatar(options: BuildOptions): Promise<BuildSummary> {
  const started = performance.now();
  const progress = options.progress ?? silentProgress;
  const input = options.photo ?? options.video;
  if (!input || (options.photo && options.video)) throw new LipSyncError("invalid_argument", "give exactly one of --photo FILE or --video FILE");
  if (!existsSync(input) || !statSync(input).isFile()) throw new LipSyncError("invalid_argument", `${input}: no such file`);
  if (!options.license.trim()) throw new LipSyncError("invalid_argument", "--license must say under what terms the footage may be used");
  const base = baseModel(options.base);
  const staging = PackageStaging.create(options.root, options.name, options.force ?? false);
  try {
    const finder = await FaceFinder.create();
    let frameCount = 0;
    const sink = {
      frame: (i: number, jpeg: Uint8Array) => {
        staging.write(`frames/${String(i).padStart(4, "0")}.jpg`, jpeg);
        frameCount = Math.max(frameCount, i + 1);
      },
      file: (rel: string, bytes: Uint8Array | string) => staging.write(rel, bytes),
    };
    const quality = options.jpegQuality ?? 90;
    const result = options.photo
      ? await buildFromPhoto(options.photo, finder, sink, progress, quality)
      : await buildFromVideo(options.video!, finder, sink, progress, quality, options.maxIdleFrames ?? 250);
    progress.stage("writing the package", 0);
    for (const f of base.files) staging.copy(path.join(options.base, f), f);
    const kind = options.photo ? "photo" : "video";
    staging.write("manifest.json", manifestText({
      name: options.name,
      description: options.description ?? `${options.name}: built from a ${kind} by lipsync avatar build`,
      license: options.license,
      source: `${kind} ${path.basename(input)}, built by lipsync avatar build`,
      width: result.width,
      height: result.height,
      cropBoxes: result.cropBoxes,
      audioTrack: result.audio,
      model: base.model,
      modelLicense: base.license,
    }));
    if (frameCount !== result.cropBoxes.length) throw new LipSyncError("internal", `wrote ${frameCount} frames for ${result.cropBoxes.length} crop boxes`);
    const dir = staging.commit();
    progress.done();
    return { ...result, name: options.name, dir, kind, frames: frameCount, seconds: (performance.now() - started) / 1000 };
  } catch (err) {
    staging.abort();
    progress.done(false);
    throw err;
  }
}
