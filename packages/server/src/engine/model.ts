/**
 * The lip-sync model of one avatar: the audio encoder (one frame's encoder input -> its feature)
 * and the UNet (6-channel image + audio window -> mouth crop), each behind a batcher so that
 * frames of every session of this avatar run together. ONNX Runtime itself runs in a worker
 * thread (inference-worker.mjs), so a batch never blocks the event loop.
 *
 * Everything about the tensors comes from the EngineContract: names, per-item dims (the flat
 * arrays callers pass are laid into them as they are), and, read from the ONNX file at load, a
 * fixed batch size (the original SyncTalk_2D export fixes it to 1): batches are capped to it, and
 * a run of fewer items than a fixed batch > 1 is padded.
 */
import type { Device } from "../config.js";
import { LipSyncError } from "../errors.js";
import type { Logger } from "../logger.js";
import { Batcher, type BatchTiming, type SubmitOptions } from "./batcher.js";
import type { EngineContract, TensorSpec } from "./contract.js";
import { InferenceWorker, ortMessage, type WorkerReady } from "./inference-worker.js";

export interface ModelShape extends EngineContract {
  /** Side of the square model input and output. */
  size: number;
  /** Fixed batch of each ONNX file, or undefined where the batch axis is dynamic. */
  unetBatch: number | undefined;
  encoderBatch: number | undefined;
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

const count = (dims: number[]) => dims.reduce((a, b) => a * b, 1);
const show = (dims: readonly (number | string)[]) => `[${dims.join(", ")}]`;

/**
 * Checks one tensor of the contract against the file's declaration and returns the file's batch
 * size when it is fixed. Symbolic axes match anything.
 */
function checkTensor(ready: WorkerReady["names"][string] | undefined, spec: TensorSpec, kind: "input" | "output", what: string): number | undefined {
  const names = kind === "input" ? ready?.inputs : ready?.outputs;
  if (!names?.includes(spec.name)) {
    throw new LipSyncError("failed_precondition",
      `${what} has no ${kind} "${spec.name}" (manifest field "${spec.nameField}"); its ${kind}s are: ${(names ?? []).join(", ") || "none"}`);
  }
  const declared = ready!.shapes[spec.name];
  if (!declared) return undefined;
  const rest = declared.slice(1);
  const mismatch = rest.length !== spec.dims.length || rest.some((d, i) => typeof d === "number" && d !== spec.dims[i]);
  if (mismatch) {
    throw new LipSyncError("failed_precondition",
      `${what} ${kind} "${spec.name}" is ${show(declared)}, manifest field "${spec.field}" says [batch, ${spec.dims.join(", ")}]`);
  }
  const batch = declared[0];
  return typeof batch === "number" && batch > 0 ? batch : undefined;
}

function fixedBatch(sizes: (number | undefined)[], what: string): number | undefined {
  const fixed = [...new Set(sizes.filter((b): b is number => b !== undefined))];
  if (fixed.length > 1) throw new LipSyncError("failed_precondition", `${what} fixes different batch sizes on its inputs and outputs (${fixed.join(", ")})`);
  return fixed[0];
}

export class LipSyncModel {
  readonly shape: ModelShape;
  readonly provider: Device;
  private readonly unetWorker: InferenceWorker;
  private readonly encoderWorker: InferenceWorker | undefined;
  private readonly unetBatcher: Batcher<{ image: Float32Array; audio: Float32Array }, Float32Array>;
  private readonly encoderBatcher: Batcher<Float32Array, Float32Array> | undefined;

  private constructor(shape: ModelShape, unetWorker: InferenceWorker, encoderWorker: InferenceWorker | undefined, provider: Device, options: ModelOptions) {
    this.shape = shape;
    this.unetWorker = unetWorker;
    this.encoderWorker = encoderWorker;
    this.provider = provider;
    this.unetBatcher = new Batcher((items, size) => this.runUnet(items, size), { maxBatch: Math.min(options.maxBatch, shape.unetBatch ?? Infinity), maxWaitMs: options.maxBatchWaitMs });
    this.encoderBatcher = encoderWorker
      ? new Batcher((items, size) => this.runEncoder(items, size), { maxBatch: Math.min(Math.max(options.maxBatch, 16), shape.encoderBatch ?? Infinity), maxWaitMs: options.maxBatchWaitMs })
      : undefined;
  }

  /**
   * Loads the contract's ONNX files and checks them against it: names, per-item dims, then one dry
   * run, whose onnxruntime message (paths removed) is passed on if the model does not run.
   */
  static async load(files: { unet: string; encoder: string | undefined }, contract: EngineContract, options: ModelOptions, logger: Logger): Promise<LipSyncModel> {
    // Two workers: a small encoder run never waits behind a UNet batch, so a frame's audio
    // feature is ready by the time the next batch forms.
    const unet = await InferenceWorker.start({ unet: files.unet }, options.device, options.threads).catch((err) => {
      throw new LipSyncError("failed_precondition", `manifest field "${contract.unet.fileField}": ${(err as Error).message}`);
    });
    const encoder = files.encoder && contract.encoder
      ? await InferenceWorker.start({ encoder: files.encoder }, unet.ready.provider, 1).catch(async (err) => {
        await unet.worker.close();
        throw new LipSyncError("failed_precondition", `manifest field "${contract.encoder!.fileField}": ${(err as Error).message}`);
      })
      : undefined;
    if (unet.ready.fallbackReason) logger.warn({ reason: unet.ready.fallbackReason }, "CUDA execution provider unavailable, falling back to CPU");
    let shape: ModelShape;
    try {
      const u = unet.ready.names.unet;
      const { image, audio, output } = contract.unet;
      const unetBatch = fixedBatch([checkTensor(u, image, "input", "UNet model"), checkTensor(u, audio, "input", "UNet model"), checkTensor(u, output, "output", "UNet model")], "UNet model");
      let encoderBatch: number | undefined;
      if (encoder && contract.encoder) {
        const e = encoder.ready.names.encoder;
        encoderBatch = fixedBatch([checkTensor(e, contract.encoder.input, "input", "audio encoder model"), checkTensor(e, contract.encoder.output, "output", "audio encoder model")], "audio encoder model");
      }
      shape = { ...contract, size: image.dims[1]!, unetBatch, encoderBatch };
    } catch (err) {
      await Promise.all([unet.worker.close(), encoder?.worker.close()]);
      throw err;
    }
    const model = new LipSyncModel(shape, unet.worker, encoder?.worker, unet.ready.provider, options);
    // One dry run checks what the declarations cannot: the graph itself.
    let stage = "UNet model";
    try {
      if (contract.encoder) {
        stage = "audio encoder model";
        const feature = await model.encode(new Float32Array(count(contract.encoder.input.dims)));
        if (feature.value.length !== count(contract.encoder.output.dims)) throw new Error(`output holds ${feature.value.length} values per item, not ${count(contract.encoder.output.dims)}`);
        stage = "UNet model";
      }
      const out = await model.generate(new Float32Array(count(contract.unet.image.dims)), new Float32Array(count(contract.unet.audio.dims)));
      if (out.value.length !== count(contract.unet.output.dims)) throw new Error(`output holds ${out.value.length} values per item, not ${count(contract.unet.output.dims)}`);
    } catch (err) {
      await model.close();
      const cause = err instanceof LipSyncError ? ortMessage((err.cause as Error | undefined)?.message ?? err.message) : ortMessage((err as Error).message);
      const fields = stage === "UNet model" ? `"${contract.unet.image.field}", "${contract.unet.audio.field}"` : `"${contract.encoder!.input.field}", "${contract.encoder!.output.field}"`;
      throw new LipSyncError("failed_precondition", `${stage} does not run with the shapes of manifest fields ${fields}: ${cause}`, { cause: err });
    }
    return model;
  }

  /** The encoder's feature of one frame's encoder input (flat, per-item layout of the contract). */
  async encode(input: Float32Array, opts?: SubmitOptions): Promise<Timed<Float32Array>> {
    if (!this.encoderBatcher) throw new LipSyncError("failed_precondition", "this model has no audio encoder (manifest model.audio.frontend.kind is \"none\")");
    const { output, timing } = await this.encoderBatcher.submit(input, opts);
    return { value: output, timing };
  }

  /** The model's output crop [3, size, size] (its own channel order and range) for one input and audio window. */
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
    this.encoderBatcher?.close();
    await Promise.all([this.unetWorker.close(), this.encoderWorker?.close()]);
  }

  /** One UNet run of `size` >= items.length rows (a bucket or the fixed batch); rows no item fills stay zero. */
  private async runUnet(items: { image: Float32Array; audio: Float32Array }[], size: number): Promise<Float32Array[]> {
    const { image: imageSpec, audio: audioSpec, output } = this.shape.unet;
    const n = this.shape.unetBatch ?? Math.max(size, items.length);
    const imageLen = count(imageSpec.dims);
    const audioLen = count(audioSpec.dims);
    // Fresh buffers each batch: they are transferred to the worker, not shared with it. Slots of
    // a fixed batch that no item fills stay zero.
    const image = new Float32Array(n * imageLen);
    const audio = new Float32Array(n * audioLen);
    items.forEach((item, i) => {
      image.set(item.image, i * imageLen);
      audio.set(item.audio, i * audioLen);
    });
    const out = await this.unetWorker.run("unet", {
      [imageSpec.name]: { data: image, dims: [n, ...imageSpec.dims] },
      [audioSpec.name]: { data: audio, dims: [n, ...audioSpec.dims] },
    }, output.name);
    const outLen = count(output.dims);
    return items.map((_, i) => out.subarray(i * outLen, (i + 1) * outLen));
  }

  private async runEncoder(items: Float32Array[], size: number): Promise<Float32Array[]> {
    const { input, output } = this.shape.encoder!;
    const n = this.shape.encoderBatch ?? Math.max(size, items.length);
    const len = count(input.dims);
    const data = new Float32Array(n * len);
    items.forEach((item, i) => data.set(item, i * len));
    const out = await this.encoderWorker!.run("encoder", { [input.name]: { data, dims: [n, ...input.dims] } }, output.name);
    const outLen = count(output.dims);
    return items.map((_, i) => out.subarray(i * outLen, (i + 1) * outLen));
  }
}
