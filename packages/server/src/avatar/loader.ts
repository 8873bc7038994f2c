/**
 * Loads an avatar package directory: manifest, frames, model, own audio track. Every failure is
 * a LipSyncError that names the manifest field or the file role (never its path), so one broken
 * package is reported and the server keeps serving the others.
 */
import { readFile } from "node:fs/promises";
import path from "node:path";
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
import { frameFile, parseManifest, type Manifest } from "./manifest.js";
import { chooseModelFiles } from "./manifest-variant.js";

async function readPackageFile(dir: string, rel: string, name: string, role: string): Promise<Buffer> {
  try {
    return await readFile(path.join(dir, rel));
  } catch {
    throw new LipSyncError("failed_precondition", `avatar "${name}": ${role} "${rel}" is missing or unreadable`);
  }
}

export async function readManifest(dir: string, name: string): Promise<Manifest> {
  const text = (await readPackageFile(dir, "manifest.json", name, "file")).toString("utf8");
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
async function ownFeatures(dir: string, manifest: Manifest, model: LipSyncModel): Promise<Float32Array[] | undefined> {
  const { audio, samplesPerFrame } = manifest.model;
  const name = manifest.name;
  if (audio.ownFeatures) {
    const field = 'manifest field "model.audio.own_features"';
    const bytes = await readPackageFile(dir, audio.ownFeatures, name, `precomputed features (${field})`);
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
  const wav = await readPackageFile(dir, manifest.audioTrack, name, 'audio track (manifest field "audio_track")');
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

export async function loadAvatar(dir: string, name: string, config: ServerConfig, logger: Logger, composer?: Composer): Promise<Avatar> {
  const started = performance.now();
  const manifest = await readManifest(dir, name);
  const sourceJpegs = await Promise.all(
    Array.from({ length: manifest.frameCount }, (_, i) => readPackageFile(dir, frameFile(manifest, i), name, `frame ${i} (manifest field "frames")`)
      .then((b) => new Uint8Array(b.buffer, b.byteOffset, b.byteLength))),
  );
  const contract = manifest.model;
  // The CPU variant (INT8) on the CPU where the package has a valid one, else the float32 files.
  const files = await chooseModelFiles(dir, contract, manifest.cpuVariant, config.device);
  if (files.skipped) logger.warn({ avatar: name, reason: files.skipped }, "CPU model variant not used, serving the float32 model");
  const model = await LipSyncModel.load(
    { unet: files.unet, encoder: files.encoder },
    { ...contract, ...files.contract },
    {
      device: config.device, threads: config.inferenceThreads, maxBatch: config.maxBatch, maxBatchWaitMs: config.maxBatchWaitMs, buckets: config.batchBuckets,
      encoderMaxBatch: config.encoderMaxBatch, precision: files.precision,
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
    // Decoding frame 0 checks the stated frame size in lazy mode too.
    await decodeSource(avatar, 0);
    avatar.ownFeatures = await ownFeatures(dir, manifest, model);
    logger.info({ avatar: name, frames: manifest.frameCount, format: manifest.formatVersion, memory: config.memory, provider: model.provider, precision: files.precision,
      batch: model.shape.unetBatch ?? "dynamic", ms: Math.round(performance.now() - started) }, "avatar loaded");
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
  for (let i = 0; i < jpegs.length; i++) buildInput(manifest, i, frames.frame(i), inputs.get(i));
  return { frames, inputs };
}
