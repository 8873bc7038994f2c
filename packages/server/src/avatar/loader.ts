/**
 * Loads an avatar package directory: manifest, frames, model, own audio track. Every failure is
 * a LipSyncError that names the manifest field or the file role (never its path), so one broken
 * package is reported and the server keeps serving the others. Every file is opened through
 * package-files.ts (regular files inside the package's avatar root, sizes checked before
 * reading), and the package's memory is checked against the budget before a frame is read.
 */
import { setImmediate as nextTurn } from "node:timers/promises";
import { SAMPLE_RATE } from "../audio/constants.js";
import { silenceInput, trackInputs } from "../audio/frontends/inputs.js";
import { npyRows, parseNpy } from "../audio/frontends/npy.js";
import { Resampler } from "../audio/resampler.js";
import { parseWav } from "../audio/wav.js";
import type { ServerConfig } from "../config.js";
import { LipSyncError } from "../errors.js";
import type { Logger } from "../logger.js";
import { decodeImage } from "../engine/jpeg.js";
import { LipSyncModel } from "../engine/model.js";
import { Avatar, buildInput, decodeSource, InputStore } from "./avatar.js";
import { FrameStore, type Composer } from "../engine/compose.js";
import { jpegSize } from "./jpeg-header.js";
import { frameFile, parseManifest, type Manifest } from "./manifest.js";
import { checkBudget, estimateMemory } from "./memory.js";
import { forEachLimited, PackageDir } from "./package-files.js";
import { chooseModelFiles } from "./manifest-variant.js";

/** Frame files read at once while a package loads. */
const READ_CONCURRENCY = 8;
/** A long synchronous loop at load gives the event loop a turn this often, ms. */
const SLICE_MS = 10;

/** A package folder by path; its files must stay inside it (a package outside any avatar root). */
function packageOf(dir: string | PackageDir, name: string): Promise<PackageDir> {
  return typeof dir === "string" ? PackageDir.open(dir, name) : Promise.resolve(dir);
}

export async function readManifest(dir: string | PackageDir, name: string): Promise<Manifest> {
  const pkg = await packageOf(dir, name);
  return manifestOfText((await pkg.read("manifest.json", "manifest", "manifest.json")).toString("utf8"), name);
}

/** A manifest.json's text, parsed and checked. */
export function manifestOfText(text: string, name: string): Manifest {
  let raw: unknown;
  try {
    raw = JSON.parse(text);
  } catch {
    throw new LipSyncError("failed_precondition", `avatar "${name}": manifest.json is not valid JSON`);
  }
  return parseManifest(raw, name);
}

/** 16 kHz samples of a WAV file's bytes. */
function samples16k(wavBytes: Uint8Array): Float32Array {
  const wav = parseWav(wavBytes);
  if (wav.sampleRate === SAMPLE_RATE) return wav.samples;
  const r = new Resampler(wav.sampleRate, SAMPLE_RATE);
  const a = r.push(wav.samples);
  const b = r.flush();
  const out = new Float32Array(a.length + b.length);
  out.set(a);
  out.set(b, a.length);
  return out;
}

/**
 * Per-frame features of the avatar's own track: the package's precomputed ones when it has them
 * (what the original pipelines trained and rendered with), else the live front end over its WAV.
 */
async function ownFeatures(pkg: PackageDir, manifest: Manifest, model: LipSyncModel): Promise<Float32Array[] | undefined> {
  const { audio, samplesPerFrame } = manifest.model;
  const name = manifest.name;
  if (audio.ownFeatures) {
    const field = 'manifest field "model.audio.own_features"';
    const bytes = await pkg.read(audio.ownFeatures, "features", `precomputed features (${field})`);
    let rows: Float32Array[];
    try {
      rows = npyRows(parseNpy(new Uint8Array(bytes.buffer, bytes.byteOffset, bytes.byteLength)));
    } catch (err) {
      throw new LipSyncError("failed_precondition", `avatar "${name}": ${field}: ${(err as Error).message}`);
    }
    if (rows.length === 0 || rows[0]!.length !== audio.featureDim) {
      throw new LipSyncError("failed_precondition",
        `avatar "${name}": ${field}: rows hold ${rows[0]?.length ?? 0} values, model.audio.feature_dim says ${audio.featureDim}`);
    }
    return rows;
  }
  if (!manifest.audioTrack) return undefined;
  const wav = await pkg.read(manifest.audioTrack, "audio track", 'audio track (manifest field "audio_track")');
  let samples: Float32Array;
  try {
    samples = samples16k(wav);
  } catch (err) {
    const message = err instanceof LipSyncError ? err.message : String(err);
    throw new LipSyncError("failed_precondition", `avatar "${name}": manifest field "audio_track": ${message}`);
  }
  const inputs = trackInputs(audio.frontEnd, samplesPerFrame, samples, manifest.frameCount);
  return Promise.all(inputs.map((input) => model.encode(input).then((f) => Float32Array.from(f.value))));
}

/**
 * Every frame file's bytes, each checked to be a JPEG of the manifest's size, their total kept
 * within `budgetBytes` (checked per file, before it is read).
 */
async function readFrames(pkg: PackageDir, manifest: Manifest, budgetBytes: number): Promise<Uint8Array[]> {
  const name = pkg.name;
  const jpegs = new Array<Uint8Array>(manifest.frameCount);
  let total = 0;
  await forEachLimited(manifest.frameCount, READ_CONCURRENCY, async (i) => {
    const what = `frame ${i} (manifest field "frames")`;
    const file = await pkg.check(frameFile(manifest, i), "frame", what);
    total += file.size;
    checkBudget(name, "its frame files", total, budgetBytes, "lazy");
    const b = await pkg.readChecked(file, what);
    const bytes = new Uint8Array(b.buffer, b.byteOffset, b.byteLength);
    const size = jpegSize(bytes);
    if (!size) throw new LipSyncError("failed_precondition", `avatar "${name}": ${what} is not a JPEG file`);
    if (size.width !== manifest.width || size.height !== manifest.height) {
      throw new LipSyncError("failed_precondition",
        `avatar "${name}": frame ${i} is ${size.width}x${size.height}, manifest fields "width"/"height" say ${manifest.width}x${manifest.height}`);
    }
    jpegs[i] = bytes;
  });
  return jpegs;
}

/**
 * Loads the package in `dir` (a PackageDir from an avatar root, or a folder on its own).
 * `budgetBytes`: memory the avatar may take (the server's budget less what loaded avatars hold).
 */
export async function loadAvatar(dir: string | PackageDir, name: string, config: ServerConfig, logger: Logger, composer?: Composer,
  budgetBytes = config.avatarMemoryBudgetMb * 2 ** 20): Promise<Avatar> {
  const started = performance.now();
  const pkg = await packageOf(dir, name);
  const manifest = await readManifest(pkg, name);
  const estimate = estimateMemory(manifest, config.memory, config.lazyCacheFrames);
  const decoded = estimate.decodedBytes + estimate.featureBytes;
  checkBudget(name, config.memory === "preload" ? "its decoded frames" : "its frame cache", decoded, budgetBytes, config.memory);
  const sourceJpegs = await readFrames(pkg, manifest, budgetBytes - decoded);
  const contract = manifest.model;
  // The model files are checked as package files first (regular files inside the root), then the
  // CPU variant (INT8) is chosen on the CPU where the package has a valid one, else float32.
  await pkg.check(contract.unet.file, "model", `model (manifest field "${contract.unet.fileField}")`);
  if (contract.encoder) await pkg.check(contract.encoder.file, "model", `model (manifest field "${contract.encoder.fileField}")`);
  const files = await chooseModelFiles(pkg.dir, contract, manifest.cpuVariant, config.device);
  if (files.skipped) logger.warn({ avatar: name, reason: files.skipped }, "CPU model variant not used, serving the float32 model");
  const chosen = files.contract;
  const unet = await pkg.check(chosen.unet.file, "model", `model (manifest field "${chosen.unet.fileField}")`);
  const encoder = chosen.encoder ? await pkg.check(chosen.encoder.file, "model", `model (manifest field "${chosen.encoder.fileField}")`) : undefined;
  const model = await LipSyncModel.load(
    { unet: unet.real, encoder: encoder?.real },
    { ...contract, ...chosen },
    {
      device: config.device, threads: config.inferenceThreads, maxBatch: config.maxBatch, maxBatchWaitMs: config.maxBatchWaitMs, buckets: config.batchBuckets,
      encoderMaxBatch: config.encoderMaxBatch, defaultSlackMs: config.offlineSlackMs, precision: files.precision,
    },
    logger,
  ).catch((err) => {
    throw err instanceof LipSyncError ? new LipSyncError(err.code, `avatar "${name}": ${err.message}`) : err;
  });
  try {
    const silence = silenceInput(contract.audio.frontEnd);
    const silenceFeature = silence && contract.encoder ? Float32Array.from((await model.encode(silence)).value) : undefined;
    const preloaded = config.memory === "preload" ? await preload(manifest, name, sourceJpegs) : undefined;
    if (preloaded) model.attachInputs(preloaded.inputs.buffer);
    const avatar = new Avatar({ name, manifest, model, memory: config.memory, sourceJpegs, silenceFeature, cacheFrames: config.lazyCacheFrames,
      ...(preloaded ? { preloaded } : {}), ...(composer ? { composer } : {}) });
    avatar.memoryBytes = decoded + sourceJpegs.reduce((n, j) => n + j.byteLength, 0);
    // Decoding frame 0 checks that the frames decode in lazy mode too.
    await decodeSource(avatar, 0);
    avatar.ownFeatures = await ownFeatures(pkg, manifest, model);
    logger.info({ avatar: name, frames: manifest.frameCount, format: manifest.formatVersion, memory: config.memory, provider: model.provider, precision: files.precision,
      batch: model.shape.unetBatch ?? "dynamic", mb: Math.round(avatar.memoryBytes / 2 ** 20), ms: Math.round(performance.now() - started) }, "avatar loaded");
    return avatar;
  } catch (err) {
    await model.close();
    throw err;
  }
}

/** Every frame decoded into a store the compose workers share, and its model input into another. */
async function preload(manifest: Manifest, name: string, jpegs: Uint8Array[]) {
  const frames = new FrameStore(jpegs.length, manifest.width, manifest.height);
  for (let i = 0; i < jpegs.length; i++) {
    const image = await decodeImage(jpegs[i]!);
    if (image.width !== manifest.width || image.height !== manifest.height) {
      throw new LipSyncError("failed_precondition",
        `avatar "${name}": frame ${i} is ${image.width}x${image.height}, manifest fields "width"/"height" say ${manifest.width}x${manifest.height}`);
    }
    frames.frame(i).data.set(image.data);
  }
  const size = manifest.model.image.size;
  const inputs = new InputStore(frames.count, 6 * size * size);
  let slice = performance.now();
  for (let i = 0; i < jpegs.length; i++) {
    buildInput(manifest, i, frames.frame(i), inputs.get(i));
    // Thousands of crops are seconds of work: /healthz and live sessions get their turns.
    if (performance.now() - slice > SLICE_MS) {
      await nextTurn();
      slice = performance.now();
    }
  }
  return { frames, inputs };
}
