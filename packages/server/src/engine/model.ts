/**
 * The lip-sync model of one avatar: the audio encoder (mel window -> feature) and the UNet
 * (6-channel image + feature context -> mouth crop), each behind a batcher so that frames of
 * every session of this avatar run together. ONNX Runtime itself runs in a worker thread
 * (inference-worker.mjs), so a batch never blocks the event loop.
 */
import type { Device } from "../config.js";
import { LipSyncError } from "../errors.js";
import type { Logger } from "../logger.js";
import { Batcher, type BatchTiming, type SubmitOptions } from "./batcher.js";
import { InferenceWorker } from "./inference-worker.js";

export interface ModelShape {
  /** Side of the square model input and output. */
  size: number;
  /** Encoder features per UNet call. */
  audioContext: number;
  featureDim: number;
  melBins: number;
  melFrames: number;
  names: { image: string; audio: string; mel: string; output: string; feature: string };
}

export interface ModelOptions {
  device: Device;
  threads: number;
  maxBatch: number;
  maxBatchWaitMs: number;
}

export interface Timed<T> {
  value: T;
  timing: BatchTiming;
}

function checkNames(names: { inputs: string[]; outputs: string[] } | undefined, inputs: string[], outputs: string[], what: string): void {
  for (const name of inputs) {
    if (!names?.inputs.includes(name)) throw new LipSyncError("failed_precondition", `${what} has no input "${name}" (manifest model.inputs)`);
  }
  for (const name of outputs) {
    if (!names?.outputs.includes(name)) throw new LipSyncError("failed_precondition", `${what} has no output "${name}" (manifest model.outputs)`);
  }
}

export class LipSyncModel {
  readonly shape: ModelShape;
  readonly provider: Device;
  private readonly unetWorker: InferenceWorker;
  private readonly encoderWorker: InferenceWorker;
  private readonly unetBatcher: Batcher<{ image: Float32Array; audio: Float32Array }, Float32Array>;
  private readonly encoderBatcher: Batcher<Float32Array, Float32Array>;

  private constructor(shape: ModelShape, unetWorker: InferenceWorker, encoderWorker: InferenceWorker, provider: Device, options: ModelOptions) {
    this.shape = shape;
    this.unetWorker = unetWorker;
    this.encoderWorker = encoderWorker;
    this.provider = provider;
    this.unetBatcher = new Batcher((items) => this.runUnet(items), { maxBatch: options.maxBatch, maxWaitMs: options.maxBatchWaitMs });
    this.encoderBatcher = new Batcher((items) => this.runEncoder(items), { maxBatch: Math.max(options.maxBatch, 16), maxWaitMs: options.maxBatchWaitMs });
  }

  static async load(unetFile: string, encoderFile: string, shape: ModelShape, options: ModelOptions, logger: Logger): Promise<LipSyncModel> {
    // Two workers: a small encoder run never waits behind a UNet batch, so a frame's audio
    // feature is ready by the time the next batch forms.
    const unet = await InferenceWorker.start({ unet: unetFile }, options.device, options.threads);
    const encoder = await InferenceWorker.start({ encoder: encoderFile }, unet.ready.provider, 1).catch(async (err) => {
      await unet.worker.close();
      throw err;
    });
    if (unet.ready.fallbackReason) logger.warn({ reason: unet.ready.fallbackReason }, "CUDA execution provider unavailable, falling back to CPU");
    try {
      checkNames(unet.ready.names.unet, [shape.names.image, shape.names.audio], [shape.names.output], "UNet model");
      checkNames(encoder.ready.names.encoder, [shape.names.mel], [shape.names.feature], "audio encoder model");
    } catch (err) {
      await Promise.all([unet.worker.close(), encoder.worker.close()]);
      throw err;
    }
    const model = new LipSyncModel(shape, unet.worker, encoder.worker, unet.ready.provider, options);
    // One dry run checks the shapes the manifest states against the model itself.
    try {
      const feature = await model.encode(new Float32Array(shape.melBins * shape.melFrames));
      if (feature.value.length !== shape.featureDim) throw new Error("feature size");
      const out = await model.generate(new Float32Array(6 * shape.size * shape.size), new Float32Array(shape.audioContext * shape.featureDim));
      if (out.value.length !== 3 * shape.size * shape.size) throw new Error("output size");
    } catch (err) {
      await model.close();
      throw err instanceof LipSyncError ? err : new LipSyncError("failed_precondition",
        "model shapes do not match the manifest (model.input_size, model.audio_context, model.audio_feature_dim, model.mel)", { cause: err });
    }
    return model;
  }

  /** Encoder feature of one mel window [melBins * melFrames]. */
  async encode(window: Float32Array, opts?: SubmitOptions): Promise<Timed<Float32Array>> {
    const { output, timing } = await this.encoderBatcher.submit(window, opts);
    return { value: output, timing };
  }

  /** The model's mouth crop [3, size, size] in [0, 1] for one 6-channel input and audio context. */
  async generate(image: Float32Array, audio: Float32Array, opts?: SubmitOptions): Promise<Timed<Float32Array>> {
    const { output, timing } = await this.unetBatcher.submit({ image, audio }, opts);
    return { value: output, timing };
  }

  /** Mean frames per UNet run so far. */
  get meanBatchSize(): number {
    return this.unetBatcher.batches ? this.unetBatcher.items / this.unetBatcher.batches : 0;
  }

  async close(): Promise<void> {
    this.unetBatcher.close();
    this.encoderBatcher.close();
    await Promise.all([this.unetWorker.close(), this.encoderWorker.close()]);
  }

  private async runUnet(items: { image: Float32Array; audio: Float32Array }[]): Promise<Float32Array[]> {
    const { size, audioContext, featureDim, names } = this.shape;
    const n = items.length;
    const imageLen = 6 * size * size;
    const audioLen = audioContext * featureDim;
    // Fresh buffers each batch: they are transferred to the worker, not shared with it.
    const image = new Float32Array(n * imageLen);
    const audio = new Float32Array(n * audioLen);
    items.forEach((item, i) => {
      image.set(item.image, i * imageLen);
      audio.set(item.audio, i * audioLen);
    });
    const out = await this.unetWorker.run("unet", {
      [names.image]: { data: image, dims: [n, 6, size, size] },
      [names.audio]: { data: audio, dims: [n, audioContext, featureDim] },
    }, names.output);
    const outLen = 3 * size * size;
    return items.map((_, i) => out.subarray(i * outLen, (i + 1) * outLen));
  }

  private async runEncoder(items: Float32Array[]): Promise<Float32Array[]> {
    const { melBins, melFrames, featureDim, names } = this.shape;
    const n = items.length;
    const len = melBins * melFrames;
    const mel = new Float32Array(n * len);
    items.forEach((item, i) => mel.set(item, i * len));
    const out = await this.encoderWorker.run("encoder", { [names.mel]: { data: mel, dims: [n, 1, melBins, melFrames] } }, names.feature);
    return items.map((_, i) => out.subarray(i * featureDim, (i + 1) * featureDim));
  }
}
