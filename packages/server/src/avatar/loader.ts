/**
 * Loads an avatar package directory: manifest, frames, model, own audio track. Every failure is
 * a LipSyncError that names the manifest field or the file role (never its path), so one broken
 * package is reported and the server keeps serving the others.
 */
import { readFile } from "node:fs/promises";
import path from "node:path";
import { DEFAULT_MEL, SAMPLE_RATE } from "../audio/constants.js";
import { FrameWindows, silenceWindow } from "../audio/frame-windows.js";
import { melSpectrogram } from "../audio/mel.js";
import { Resampler } from "../audio/resampler.js";
import { parseWav } from "../audio/wav.js";
import type { ServerConfig } from "../config.js";
import { LipSyncError } from "../errors.js";
import type { Logger } from "../logger.js";
import { decodeImage } from "../engine/jpeg.js";
import { LipSyncModel } from "../engine/model.js";
import { Avatar, buildInput, decodeSource } from "./avatar.js";
import { frameFile, parseManifest, type Manifest } from "./manifest.js";

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

/** The spectral settings must be ours; the window geometry (size, offset) may differ. */
function checkMel(manifest: Manifest): void {
  for (const [key, value] of Object.entries(DEFAULT_MEL)) {
    if (key === "windowFrames" || key === "windowOffset") continue;
    const actual = (manifest.model.mel as unknown as Record<string, number>)[key];
    if (actual !== value) {
      // The front end implements exactly one convention; a model trained on another would get
      // features it never saw.
      throw new LipSyncError("failed_precondition",
        `avatar "${manifest.name}": manifest field "model.mel" differs from the supported convention at ${key} (${actual}, expected ${value})`);
    }
  }
}

/** Per-frame audio contexts of the avatar's own track (what RenderFrame lips to). */
async function ownAudioContexts(model: LipSyncModel, manifest: Manifest, wavBytes: Uint8Array, silence: Float32Array): Promise<Float32Array[]> {
  const wav = parseWav(wavBytes);
  let samples = wav.samples;
  if (wav.sampleRate !== SAMPLE_RATE) {
    const r = new Resampler(wav.sampleRate, SAMPLE_RATE);
    const a = r.push(samples);
    const b = r.flush();
    samples = new Float32Array(a.length + b.length);
    samples.set(a);
    samples.set(b, a.length);
  }
  const windows = new FrameWindows(manifest.model.mel);
  windows.add(melSpectrogram(samples, manifest.model.mel));
  windows.end();
  const features = await Promise.all(
    Array.from({ length: manifest.frameCount }, (_, j) => model.encode(windows.window(j)).then((f) => Float32Array.from(f.value))),
  );
  const { audioContext, audioFeatureDim } = manifest.model;
  return features.map((_, i) => {
    const ctx = new Float32Array(audioContext * audioFeatureDim);
    for (let k = 0; k < audioContext; k++) {
      const j = i - audioContext + 1 + k;
      ctx.set(j < 0 ? silence : features[j]!, k * audioFeatureDim);
    }
    return ctx;
  });
}

export async function loadAvatar(dir: string, name: string, config: ServerConfig, logger: Logger): Promise<Avatar> {
  const started = performance.now();
  const manifest = await readManifest(dir, name);
  checkMel(manifest);
  const sourceJpegs = await Promise.all(
    Array.from({ length: manifest.frameCount }, (_, i) => readPackageFile(dir, frameFile(manifest, i), name, `frame ${i} (manifest field "frames")`)
      .then((b) => new Uint8Array(b.buffer, b.byteOffset, b.byteLength))),
  );
  const spec = manifest.model;
  const model = await LipSyncModel.load(
    path.join(dir, spec.unet),
    path.join(dir, spec.audioEncoder),
    {
      size: spec.inputSize,
      audioContext: spec.audioContext,
      featureDim: spec.audioFeatureDim,
      melBins: spec.mel.nMels,
      melFrames: spec.mel.windowFrames,
      names: { image: spec.inputs.image, audio: spec.inputs.audio, mel: spec.inputs.mel, output: spec.outputs.image, feature: spec.outputs.feature },
    },
    { device: config.device, threads: config.inferenceThreads, maxBatch: config.maxBatch, maxBatchWaitMs: config.maxBatchWaitMs },
    logger,
  ).catch(async (err) => {
    // Tell which manifest field points at the broken file.
    if (err instanceof LipSyncError && err.message === "model file is not a valid ONNX model") {
      throw new LipSyncError("failed_precondition", `avatar "${name}": manifest fields "model.unet"/"model.audio_encoder" do not name valid ONNX models`);
    }
    throw err instanceof LipSyncError ? new LipSyncError(err.code, `avatar "${name}": ${err.message}`) : err;
  });
  try {
    const silenceFeature = Float32Array.from((await model.encode(silenceWindow(spec.mel))).value);
    const avatar = new Avatar({ name, manifest, model, memory: config.memory, sourceJpegs, silenceFeature, cacheFrames: config.lazyCacheFrames,
      ...(config.memory === "preload" ? { preloaded: await preload(manifest, name, sourceJpegs) } : {}) });
    // Decoding frame 0 checks the stated frame size in lazy mode too.
    await decodeSource(avatar, 0);
    if (manifest.audioTrack) {
      const wav = await readPackageFile(dir, manifest.audioTrack, name, 'audio track (manifest field "audio_track")');
      try {
        avatar.ownAudio = await ownAudioContexts(model, manifest, wav, silenceFeature);
      } catch (err) {
        if (err instanceof LipSyncError && err.code === "invalid_argument") {
          throw new LipSyncError("failed_precondition", `avatar "${name}": manifest field "audio_track": ${err.message}`);
        }
        throw err;
      }
    }
    logger.info({ avatar: name, frames: manifest.frameCount, memory: config.memory, provider: model.provider, ms: Math.round(performance.now() - started) }, "avatar loaded");
    return avatar;
  } catch (err) {
    await model.close();
    throw err;
  }
}

async function preload(manifest: Manifest, name: string, jpegs: Uint8Array[]) {
  const frames = [];
  for (let i = 0; i < jpegs.length; i++) {
    const image = await decodeImage(jpegs[i]!);
    if (image.width !== manifest.width || image.height !== manifest.height) {
      throw new LipSyncError("failed_precondition",
        `avatar "${name}": frame ${i} is ${image.width}x${image.height}, manifest fields "width"/"height" say ${manifest.width}x${manifest.height}`);
    }
    frames.push(image);
  }
  return { frames, inputs: frames.map((f, i) => buildInput(manifest, i, f)) };
}
