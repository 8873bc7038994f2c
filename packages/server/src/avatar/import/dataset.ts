/**
 * Reads a SyncTalk_2D / Ultralight-Digital-Human dataset folder and works out what it holds:
 *
 *   full_body_img/{i}.jpg   frames (or <name>.mp4, whose frames are extracted instead)
 *   landmarks/{i}.lms       110 PFLD points per frame (or crop boxes given with --boxes)
 *   aud.wav                 the avatar's own speech track
 *   aud_ave.npy | aud_hu.npy | aud_wenet.npy   its precomputed features
 *   unet.onnx, audio_encoder.onnx (+ audio_encoder.json)   the exported models
 *
 * Nothing is written here. Every problem is an error naming the dataset file and what is wrong
 * with it, relative to the dataset folder.
 */
import { readdirSync, readFileSync, statSync } from "node:fs";
import path from "node:path";
import type { Logger } from "../../logger.js";
import { InferenceWorker, type WorkerReady } from "../../engine/inference-worker.js";
import { importError } from "./errors.js";
import { familyOfSize, FAMILIES, modeOf, MODES, type FrontEndChoice, type ModePreset } from "./presets.js";

export interface DatasetOptions {
  unet?: string;
  audioEncoder?: string;
  features?: string;
  audio?: string;
  video?: string;
  boxes?: string;
  names?: { image?: string; audio?: string; output?: string };
  audioOffsetSamples?: number;
}

export interface Dataset {
  dir: string;
  /** Frame files full_body_img/{i}.jpg, in order, or undefined when frames come from `video`. */
  frameFiles: string[] | undefined;
  video: string | undefined;
  /** landmarks/ (relative), or undefined when crop boxes come from `boxes`. */
  landmarks: string | undefined;
  boxes: string | undefined;
  audio: string | undefined;
  features: string | undefined;
  unet: string;
  preset: ModePreset;
  names: { image: string; audio: string; output: string };
  batch: number | undefined;
  frontEnd: FrontEndChoice;
}

const isFile = (p: string) => statSync(p, { throwIfNoEntry: false })?.isFile() ?? false;
const isDir = (p: string) => statSync(p, { throwIfNoEntry: false })?.isDirectory() ?? false;

/** Names and declared shapes of an ONNX file's tensors, or an error naming the file. */
async function inspect(dir: string, rel: string): Promise<WorkerReady["names"][string]> {
  if (!isFile(path.join(dir, rel))) throw importError(rel, "", "is missing");
  try {
    const { worker, ready } = await InferenceWorker.start({ model: path.join(dir, rel) }, "cpu", 1);
    await worker.close();
    return ready.names.model!;
  } catch (err) {
    throw importError(rel, "", (err as Error).message);
  }
}

function pickName(found: string[], wanted: string | undefined, fallback: string | undefined, rel: string, what: string, flag: string): string {
  const name = wanted ?? (fallback && found.includes(fallback) ? fallback : found.length === 1 ? found[0] : undefined);
  if (!name || !found.includes(name)) {
    throw importError(rel, what, `has no ${what} "${wanted ?? fallback}"; it has ${found.map((n) => `"${n}"`).join(", ") || "none"} (name it with ${flag})`);
  }
  return name;
}

const show = (dims: readonly (number | string)[] | undefined) => `[${(dims ?? []).join(", ")}]`;

async function readUnet(dir: string, opts: DatasetOptions) {
  const rel = opts.unet ?? "unet.onnx";
  if (!isFile(path.join(dir, rel))) {
    throw importError(rel, "", "is missing: export the trained UNet with training/export_original.py, or name the file with --unet");
  }
  const info = await inspect(dir, rel);
  const image = pickName(info.inputs, opts.names?.image, "input", rel, "input", "--image-input");
  const audio = pickName(info.inputs.filter((n) => n !== image), opts.names?.audio, "audio", rel, "input", "--audio-input");
  const output = pickName(info.outputs, opts.names?.output, "output", rel, "output", "--output-name");
  const imageDims = info.shapes[image];
  const audioDims = info.shapes[audio];
  const preset = modeOf(audioDims?.slice(1) ?? []);
  if (!preset) {
    const known = MODES.map((m) => `${show(m.audioDims)} ${FAMILIES[m.family].label} ${m.mode}`).join("; ");
    throw importError(rel, `input "${audio}"`, `is ${show(audioDims)}, which is none of the known audio layouts (batch, then ${known})`);
  }
  const family = familyOfSize(imageDims?.[2]);
  if (imageDims?.length !== 4 || imageDims[1] !== 6 || imageDims[2] !== imageDims[3] || family !== preset.family) {
    throw importError(rel, `input "${image}"`, `is ${show(imageDims)}, but its audio input ${show(audioDims)} is ${FAMILIES[preset.family].label} ${preset.mode}, whose image input is [batch, 6, ${FAMILIES[preset.family].size}, ${FAMILIES[preset.family].size}]`);
  }
  const batch = typeof imageDims[0] === "number" ? imageDims[0] : undefined;
  return { rel, preset, names: { image, audio, output }, batch };
}

async function readEncoder(dir: string, opts: DatasetOptions, preset: ModePreset): Promise<FrontEndChoice> {
  const rel = opts.audioEncoder ?? "audio_encoder.onnx";
  if (!isFile(path.join(dir, rel))) {
    if (opts.audioEncoder) throw importError(rel, "", "is missing");
    return { kind: "none" };
  }
  const info = await inspect(dir, rel);
  const sidecarRel = rel.replace(/\.onnx$/, "") + ".json";
  let sidecar: Record<string, unknown> = {};
  if (isFile(path.join(dir, sidecarRel))) {
    try {
      sidecar = JSON.parse(readFileSync(path.join(dir, sidecarRel), "utf8")) as Record<string, unknown>;
    } catch {
      throw importError(sidecarRel, "", "is not valid JSON");
    }
  }
  const input = pickName(info.inputs, sidecar.input as string | undefined, undefined, rel, "input", `"input" in ${sidecarRel}`);
  const output = pickName(info.outputs, sidecar.output as string | undefined, undefined, rel, "output", `"output" in ${sidecarRel}`);
  const inDims = info.shapes[input] ?? [];
  const outDims = (info.shapes[output] ?? []).slice(1);
  const outCount = outDims.every((d) => typeof d === "number") ? (outDims as number[]).reduce((a, b) => a * b, 1) : undefined;
  if (outCount !== preset.featureDim) {
    throw importError(rel, `output "${output}"`, `is ${show(info.shapes[output])}: the UNet's ${preset.mode} features need ${preset.featureDim} values per frame`);
  }
  if (inDims.length === 4 && inDims[1] === 1 && inDims[2] === 80 && inDims[3] === 16) {
    if (preset.mode !== "ave") throw importError(rel, `input "${input}"`, `is a mel window ${show(inDims)}, but the UNet takes ${preset.mode} features`);
    return { kind: "mel", file: "audio_encoder.onnx", input, output };
  }
  if (inDims.length === 2 && typeof inDims[1] === "number") {
    const offset = opts.audioOffsetSamples ?? (typeof sidecar.offset_samples === "number" ? sidecar.offset_samples : undefined);
    if (offset === undefined) {
      throw importError(sidecarRel, "offset_samples", "is needed for a waveform encoder: where its window starts relative to the frame, in samples (or give --audio-offset-samples)");
    }
    return { kind: "waveform", file: "audio_encoder.onnx", input, output, windowSamples: inDims[1], offsetSamples: offset, outputDims: outDims as number[] };
  }
  throw importError(rel, `input "${input}"`, `is ${show(inDims)}: an audio encoder takes a mel window [batch, 1, 80, 16] or 16 kHz samples [batch, samples]`);
}

/** Frames full_body_img/0.jpg .. N-1 (no gaps), relative to the dataset. */
function frameFiles(dir: string): string[] {
  const names = readdirSync(path.join(dir, "full_body_img")).filter((n) => /^\d+\.jpg$/i.test(n));
  const indices = new Set(names.map((n) => Number.parseInt(n, 10)));
  const files: string[] = [];
  for (let i = 0; i < indices.size; i++) {
    if (!indices.has(i)) throw importError(`full_body_img/${i}.jpg`, "", `is missing (frames must be numbered 0 .. ${indices.size - 1} without gaps)`);
    files.push(`full_body_img/${i}.jpg`);
  }
  if (files.length < 2) throw importError("full_body_img/", "", "holds fewer than 2 frames named {i}.jpg");
  return files;
}

export async function readDataset(dir: string, opts: DatasetOptions, logger: Logger): Promise<Dataset> {
  if (!isDir(dir)) throw importError(dir, "", "is not a folder");
  const hasFrames = isDir(path.join(dir, "full_body_img"));
  const videos = readdirSync(dir).filter((n) => /\.mp4$/i.test(n));
  const video = opts.video ?? (videos.includes(`${path.basename(dir)}.mp4`) ? `${path.basename(dir)}.mp4` : videos.length === 1 ? videos[0] : undefined);
  if (opts.video && !isFile(path.join(dir, opts.video))) throw importError(opts.video, "", "is missing");
  if (!hasFrames && !video) throw importError("full_body_img/", "", "is missing, and there is no video (<name>.mp4) to take the frames from");
  const hasLandmarks = isDir(path.join(dir, "landmarks"));
  if (!opts.boxes && !hasLandmarks) throw importError("landmarks/", "", "is missing: crop boxes come from the landmarks (or give --boxes FILE)");
  if (opts.boxes && !isFile(path.join(dir, opts.boxes)) && !isFile(opts.boxes)) throw importError(opts.boxes, "", "is missing");

  const unet = await readUnet(dir, opts);
  const frontEnd = await readEncoder(dir, opts, unet.preset);
  const featuresRel = opts.features ?? (isFile(path.join(dir, unet.preset.featuresFile)) ? unet.preset.featuresFile : undefined);
  if (featuresRel && !isFile(path.join(dir, featuresRel))) throw importError(featuresRel, "", "is missing");
  if (frontEnd.kind === "none" && !featuresRel) {
    throw importError(opts.audioEncoder ?? "audio_encoder.onnx", "", `is missing, and so is ${unet.preset.featuresFile}: the avatar would have no audio at all (export the encoder with training/export_original.py)`);
  }
  const audioRel = opts.audio ?? (isFile(path.join(dir, "aud.wav")) ? "aud.wav" : undefined);
  if (audioRel && !isFile(path.join(dir, audioRel))) throw importError(audioRel, "", "is missing");
  const frames = hasFrames ? frameFiles(dir) : undefined;
  logger.debug({ frames: frames?.length, video, family: unet.preset.family, mode: unet.preset.mode }, "dataset read");
  return {
    dir, frameFiles: frames, video: hasFrames ? undefined : video, landmarks: opts.boxes ? undefined : "landmarks", boxes: opts.boxes,
    audio: audioRel, features: featuresRel, unet: unet.rel, preset: unet.preset, names: unet.names, batch: unet.batch, frontEnd,
  };
}

