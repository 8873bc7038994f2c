/**
 * `lipsync avatar import`: a SyncTalk_2D / Ultralight-Digital-Human dataset folder in, an avatar
 * package (manifest format version 2) out, serving with no hand edits.
 *
 * Everything is written into a temporary folder inside the output root, the package is loaded
 * there exactly as the server would load it (model shapes, a dry run, own-track features), and
 * only then renamed to ROOT/NAME: a failed import leaves nothing behind, and a server watching
 * the root never sees half a package (the registry skips names starting with ".").
 */
import { spawn } from "node:child_process";
import { copyFile, mkdir, mkdtemp, readdir, readFile, rename, rm, writeFile } from "node:fs/promises";
import { existsSync } from "node:fs";
import path from "node:path";
import sharp from "sharp";
import { samplesPerFrameAt } from "../../audio/constants.js";
import { resolveConfig } from "../../config.js";
import { LipSyncError } from "../../errors.js";
import type { Logger } from "../../logger.js";
import { loadAvatar } from "../loader.js";
import { FORMAT, type Rect } from "../manifest.js";
import { checkAvatarName } from "../registry.js";
import { checkBox, cropFromLandmarks, parseLandmarks, smoothBoxes } from "./crop-boxes.js";
import { readDataset, type DatasetOptions } from "./dataset.js";
import { importError } from "./errors.js";
import { FAMILIES, modelManifest } from "./presets.js";

export interface ImportOptions extends DatasetOptions {
  /** The dataset folder. */
  dir: string;
  name: string;
  /** The avatar root the package is written into (ROOT/NAME). */
  out: string;
  fps?: number;
  channelOrder?: "RGB" | "BGR";
  filter?: "area" | "bilinear";
  /** Moving-average window over the crop boxes, frames (off by default). */
  smooth?: number;
  /** Use only the first N frames as the idle footage. */
  maxFrames?: number;
  /** Replace ROOT/NAME if it exists. */
  force?: boolean;
  license?: string;
  description?: string;
  threads?: number;
  onProgress?: (phase: string, done: number, total: number) => void;
}

export interface ImportSummary {
  name: string;
  packageDir: string;
  family: string;
  mode: string;
  frames: number;
  width: number;
  height: number;
  fps: number;
  modelSize: number;
  cropSize: number;
  channelOrder: string;
  batch: number | undefined;
  frontEnd: string;
  window: [number, number];
  lookaheadMs: number;
  ownTrack: string | undefined;
  warnings: string[];
  seconds: number;
}

const FRAMES_PATTERN = "frames/{index:06d}.jpg";
const frameName = (i: number) => `frames/${String(i).padStart(6, "0")}.jpg`;

function run(cmd: string, args: string[]): Promise<void> {
  return new Promise((resolve, reject) => {
    const p = spawn(cmd, args, { stdio: ["ignore", "ignore", "pipe"] });
    let err = "";
    p.stderr.on("data", (d) => (err += d));
    p.on("error", (e) => reject(new LipSyncError("failed_precondition", `${cmd} is needed to read the video (apt-get install ${cmd}): ${e.message}`)));
    p.on("close", (code) => (code === 0 ? resolve() : reject(new LipSyncError("invalid_argument", `${cmd} could not read the video: ${err.trim().split("\n").slice(-2).join(" ")}`))));
  });
}

/** Copies the dataset's frames (JPEG bytes as they are: no generation loss) or decodes the video once. */
async function writeFrames(o: ImportOptions, ds: Awaited<ReturnType<typeof readDataset>>, tmp: string, fps: number): Promise<{ count: number; width: number; height: number }> {
  await mkdir(path.join(tmp, "frames"));
  const progress = (done: number, total: number) => o.onProgress?.("frames", done, total);
  let sources: string[];
  if (ds.frameFiles) {
    sources = ds.frameFiles.slice(0, o.maxFrames ?? Infinity).map((f) => path.join(ds.dir, f));
  } else {
    progress(0, 1);
    const args = ["-loglevel", "error", "-i", path.join(ds.dir, ds.video!), "-vf", `fps=${fps}`, "-q:v", "2", "-start_number", "0"];
    if (o.maxFrames) args.push("-frames:v", String(o.maxFrames));
    // The one encode the frames go through.
    await run("ffmpeg", [...args, path.join(tmp, "frames", "%06d.jpg")]);
    sources = (await readdir(path.join(tmp, "frames"))).filter((n) => /^\d{6}\.jpg$/.test(n)).sort().map((n) => path.join(tmp, "frames", n));
    if (sources.length < 2) throw importError(ds.video!, "", `gave ${sources.length} frames`);
  }
  let size: { width: number; height: number } | undefined;
  for (let i = 0; i < sources.length; i++) {
    const rel = ds.frameFiles ? ds.frameFiles[i]! : ds.video!;
    let meta: Awaited<ReturnType<ReturnType<typeof sharp>["metadata"]>>;
    try {
      meta = await sharp(sources[i]!).metadata();
    } catch {
      throw importError(rel, ds.frameFiles ? "" : `frame ${i}`, "is not a readable image");
    }
    if (ds.frameFiles && meta.format !== "jpeg") throw importError(rel, "", `is ${meta.format ?? "not an image"}, not JPEG`);
    size ??= { width: meta.width!, height: meta.height! };
    if (meta.width !== size.width || meta.height !== size.height) {
      throw importError(rel, "size", `is ${meta.width}x${meta.height}, frame 0 is ${size.width}x${size.height}`);
    }
    if (ds.frameFiles) await copyFile(sources[i]!, path.join(tmp, frameName(i)));
    progress(i + 1, sources.length);
  }
  return { count: sources.length, ...size! };
}

async function cropBoxes(o: ImportOptions, ds: Awaited<ReturnType<typeof readDataset>>, frames: { count: number; width: number; height: number }): Promise<Rect[]> {
  const boxes: Rect[] = [];
  if (ds.boxes) {
    const file = existsSync(path.join(ds.dir, ds.boxes)) ? path.join(ds.dir, ds.boxes) : ds.boxes;
    let raw: unknown;
    try {
      raw = JSON.parse(await readFile(file, "utf8"));
    } catch {
      throw importError(ds.boxes, "", "is not valid JSON (a list of [x, y, width, height] per frame)");
    }
    if (!Array.isArray(raw) || raw.length < frames.count) throw importError(ds.boxes, "", `must list a [x, y, width, height] box for each of the ${frames.count} frames`);
    for (let i = 0; i < frames.count; i++) {
      const b = raw[i] as unknown;
      if (!Array.isArray(b) || b.length !== 4 || !b.every((v) => Number.isInteger(v))) throw importError(ds.boxes, `[${i}]`, "must be [x, y, width, height] in whole pixels");
      boxes.push(b as Rect);
    }
  } else {
    const lmsDir = path.join(ds.dir, ds.landmarks!);
    const have = (await readdir(lmsDir)).filter((n) => /^\d+\.lms$/.test(n)).length;
    for (let i = 0; i < frames.count; i++) {
      const rel = `${ds.landmarks}/${i}.lms`;
      let text: string;
      try {
        text = await readFile(path.join(ds.dir, rel), "utf8");
      } catch {
        throw importError(rel, "", `is missing: ${have} landmark files for ${frames.count} frames`);
      }
      boxes.push(cropFromLandmarks(parseLandmarks(text, rel), rel));
      o.onProgress?.("crop boxes", i + 1, frames.count);
    }
  }
  const smoothed = smoothBoxes(boxes, o.smooth ?? 0);
  smoothed.forEach((box, i) => {
    const where = ds.boxes ? [ds.boxes, `[${i}]`] : [`${ds.landmarks}/${i}.lms`, "points 1, 31, 52"];
    checkBox(box, frames.width, frames.height, where[0]!, where[1]!);
  });
  return smoothed;
}

export async function importAvatar(o: ImportOptions, logger: Logger): Promise<ImportSummary> {
  const started = performance.now();
  checkAvatarName(o.name);
  const dest = path.join(o.out, o.name);
  if (existsSync(dest) && !o.force) throw new LipSyncError("already_exists", `${dest} already exists (--force replaces it)`);
  const ds = await readDataset(o.dir, o, logger);
  const fps = o.fps ?? ds.preset.fps;
  if (samplesPerFrameAt(fps) === undefined) throw new LipSyncError("invalid_argument", `--fps must divide 16000 (20, 25, 50, ...), got ${fps}`);
  await mkdir(o.out, { recursive: true });
  const tmp = await mkdtemp(path.join(o.out, `.${o.name}.import-`));
  const warnings: string[] = [];
  try {
    const frames = await writeFrames(o, ds, tmp, fps);
    const boxes = await cropBoxes(o, ds, frames);
    o.onProgress?.("models and audio", 0, 1);
    await copyFile(path.join(ds.dir, ds.unet), path.join(tmp, "unet.onnx"));
    if (ds.frontEnd.kind !== "none") await copyFile(path.join(ds.dir, o.audioEncoder ?? "audio_encoder.onnx"), path.join(tmp, "audio_encoder.onnx"));
    else warnings.push("no audio encoder: the avatar renders its own track (RenderFrame) but refuses Speak; export one with training/export_original.py");
    if (ds.features) await copyFile(path.join(ds.dir, ds.features), path.join(tmp, path.basename(ds.features)));
    if (ds.audio) await copyFile(path.join(ds.dir, ds.audio), path.join(tmp, "aud.wav"));
    o.onProgress?.("models and audio", 1, 1);
    if (ds.batch === 1) warnings.push("the UNet was exported with a fixed batch of 1: sessions share it one frame at a time (re-export with --dynamic-batch to batch them)");
    const family = FAMILIES[ds.preset.family];
    const manifest = {
      format: FORMAT,
      format_version: 2,
      name: o.name,
      description: o.description ?? `Imported from ${family.label} data (${ds.preset.mode} audio features).`,
      fps,
      frame_count: frames.count,
      width: frames.width,
      height: frames.height,
      frames: FRAMES_PATTERN,
      ...(ds.audio ? { audio_track: "aud.wav" } : {}),
      crop_boxes: boxes,
      idle: { policy: "ping-pong" },
      license: { footage: o.license ?? "unknown: imported, state the footage's licence here" },
      model: modelManifest({
        preset: ds.preset, unetFile: "unet.onnx", names: ds.names, channelOrder: o.channelOrder ?? "BGR", filter: o.filter ?? "area", fps,
        frontEnd: ds.frontEnd, ownFeatures: ds.features ? path.basename(ds.features) : undefined,
      }),
    };
    await writeFile(path.join(tmp, "manifest.json"), JSON.stringify(manifest, null, 1) + "\n");
    o.onProgress?.("checking the package", 0, 1);
    // Exactly what the server will do with it: shapes against the ONNX files, a dry run, the
    // own track's features, frame 0's size.
    const config = resolveConfig({ memory: "lazy", lazyCacheFrames: 4, inferenceThreads: o.threads ?? 2, logLevel: "warn" });
    const avatar = await loadAvatar(tmp, o.name, config, logger);
    const contract = avatar.manifest.model;
    await avatar.input(0);
    await avatar.close();
    if (ds.features && avatar.ownFeatures && avatar.ownFeatures.length !== frames.count) {
      warnings.push(`${ds.features} holds ${avatar.ownFeatures.length} frames of features for ${frames.count} frames of footage (RenderFrame pads the rest)`);
    }
    o.onProgress?.("checking the package", 1, 1);
    if (o.force && existsSync(dest)) {
      const old = `${tmp}.old`;
      await rename(dest, old);
      await rename(tmp, dest);
      await rm(old, { recursive: true, force: true });
    } else {
      await rename(tmp, dest);
    }
    return {
      name: o.name, packageDir: dest, family: family.label, mode: ds.preset.mode, frames: frames.count, width: frames.width, height: frames.height, fps,
      modelSize: contract.image.size, cropSize: contract.image.cropSize, channelOrder: contract.image.channelOrder, batch: ds.batch,
      frontEnd: contract.audio.frontEnd.kind, window: [contract.audio.window.first, contract.audio.window.last],
      lookaheadMs: (contract.lookaheadFrames * 1000) / fps, ownTrack: ds.features ?? ds.audio, warnings, seconds: (performance.now() - started) / 1000,
    };
  } catch (err) {
    await rm(tmp, { recursive: true, force: true });
    throw err;
  }
}
