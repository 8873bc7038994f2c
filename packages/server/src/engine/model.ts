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
import { parseDevice, type Device, type Provider } from "../config.js";
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
  /** cpu, cuda or cuda:N (GPU N). */
  device: Device;
  threads: number;
  maxBatch: number;
  maxBatchWaitMs: number;
  /** See ServerConfig.batchBuckets (default "auto"). */
  buckets?: "auto" | "pow2" | "any";
  /** Most inputs in one audio-encoder run (default: 16, or maxBatch if larger). */
  encoderMaxBatch?: number;
  /** Deadline of work submitted without one (ServerConfig.offlineSlackMs). */
  defaultSlackMs?: number;
  /** Weight precision of the files given (reported in runtimeOptions; default "fp32"). */
  precision?: string;
}

export interface Timed<T> {
  value: T;
  timing: BatchTiming;
}

/**
 * Batch sizes a model runs at. On CUDA, ONNX Runtime searches cuDNN's convolution algorithms the
 * first time it sees an input shape (exhaustively: the Node binding cannot change the search
 * mode), costing up to seconds: so batches run only at powers of two up to the largest, padded,
 * and each is run once at load. On the CPU a run costs in proportion to its rows and a new shape
 * costs next to nothing, so any size runs as it is (no buckets, no padding).
 * A fixed batch (the original SyncTalk_2D export) is its only bucket.
 */
export function batchBuckets(device: Provider, maxBatch: number, fixed: number | undefined, mode: "auto" | "pow2" | "any" = "auto"): number[] | undefined {
  if (fixed !== undefined) return [fixed];
  if (mode === "any" || (mode === "auto" && device !== "cuda")) return undefined;
  const out: number[] = [];
  for (let b = 1; b < maxBatch; b *= 2) out.push(b);
  out.push(maxBatch);
  return out;
}

/**
 * A frame's cached 6-channel input (image-ops' modelInputBytes): a slot of the avatar's shared
 * input store, which the inference worker reads in place, or the bytes themselves (lazy mode).
 */
export type ImageInput = { slot: number } | { bytes: Uint8Array };

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
  /** The provider in use (cuda falls back to cpu where it cannot load). */
  readonly provider: Provider;
  /** The CUDA device ordinal when the provider is cuda. */
  readonly deviceId: number;
  private readonly unetWorker: InferenceWorker;
  private readonly encoderWorker: InferenceWorker | undefined;
  private readonly unetBatcher: Batcher<{ image: ImageInput; audio: Float32Array }, Float32Array>;
  private readonly encoderBatcher: Batcher<Float32Array, Float32Array> | undefined;
  /** Batch sizes each model runs at (undefined: any size up to the cap), as warmed up at load. */
  readonly unetBuckets: number[] | undefined;
  readonly encoderBuckets: number[] | undefined;
  /** Session options given to ONNX Runtime, for GetAvatar. */
  readonly runtimeOptions: Record<string, string>;
  /** Time the warm-up of every bucket took at load, ms. */
  warmupMs = 0;
  /** The last runs (model and rows, padding included), for tests and diagnostics. */
  readonly runs: { model: "unet" | "encoder"; rows: number }[] = [];

  private constructor(shape: ModelShape, unetWorker: InferenceWorker, encoderWorker: InferenceWorker | undefined, provider: Provider, options: ModelOptions) {
    this.shape = shape;
    this.unetWorker = unetWorker;
    this.encoderWorker = encoderWorker;
    this.provider = provider;
    this.deviceId = provider === "cuda" ? (parseDevice(options.device)?.deviceId ?? 0) : 0;
    const unetMax = Math.min(options.maxBatch, shape.unetBatch ?? Infinity);
    const encoderMax = Math.min(Math.max(options.maxBatch, options.encoderMaxBatch ?? 16), shape.encoderBatch ?? Infinity);
    this.unetBuckets = batchBuckets(provider, unetMax, shape.unetBatch, options.buckets);
    this.encoderBuckets = encoderWorker ? batchBuckets(provider, encoderMax, shape.encoderBatch, options.buckets) : undefined;
    this.runtimeOptions = {
      execution_provider: provider, model_precision: options.precision ?? "fp32", intra_op_num_threads: String(provider === "cuda" ? 1 : options.threads), graph_optimization_level: "all",
      ...(provider === "cuda" ? { device_id: String(this.deviceId), cudnn_conv_algo_search: "EXHAUSTIVE (binding default; hence the warm-up)" } : {}),
    };
    const slack = options.defaultSlackMs === undefined ? {} : { defaultSlackMs: options.defaultSlackMs };
    this.unetBatcher = new Batcher((items, size) => this.runUnet(items, size), { maxBatch: unetMax, maxWaitMs: options.maxBatchWaitMs, ...slack, ...(this.unetBuckets ? { buckets: this.unetBuckets } : {}) });
    this.encoderBatcher = encoderWorker
      ? new Batcher((items, size) => this.runEncoder(items, size), { maxBatch: encoderMax, maxWaitMs: options.maxBatchWaitMs, ...slack, ...(this.encoderBuckets ? { buckets: this.encoderBuckets } : {}) })
      : undefined;
  }

  /**
   * Loads the contract's ONNX files and checks them against it: names, per-item dims, then one dry
   * run, whose onnxruntime message (paths removed) is passed on if the model does not run.
   */
  static async load(files: { unet: string; encoder: string | undefined }, contract: EngineContract & { image?: { valueRange: readonly [number, number] } }, options: ModelOptions, logger: Logger): Promise<LipSyncModel> {
    // Two workers: a small encoder run never waits behind a UNet batch, so a frame's audio
    // feature is ready by the time the next batch forms.
    const spec = {
      image: { name: contract.unet.image.name, dims: contract.unet.image.dims }, audio: { name: contract.unet.audio.name, dims: contract.unet.audio.dims },
      output: contract.unet.output.name, valueRange: contract.image?.valueRange ?? ([0, 1] as const),
    };
    const unet = await InferenceWorker.start({ unet: files.unet }, options.device, options.threads, spec).catch((err) => {
      throw new LipSyncError("failed_precondition", `manifest field "${contract.unet.fileField}": ${(err as Error).message}`);
    });
    const encoder = files.encoder && contract.encoder
      // On the UNet's GPU, or on the CPU where the UNet fell back to it.
      ? await InferenceWorker.start({ encoder: files.encoder }, unet.ready.provider === "cuda" ? options.device : "cpu", 1).catch(async (err) => {
        await unet.worker.close();
        throw new LipSyncError("failed_precondition", `manifest field "${contract.encoder!.fileField}": ${(err as Error).message}`);
      })
      : undefined;
    if (unet.ready.fallbackReason) logger.warn({ device: options.device, reason: unet.ready.fallbackReason }, "CUDA execution provider unavailable, falling back to CPU");
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
      const out = await model.generate({ bytes: new Uint8Array(count(contract.unet.image.dims)) }, new Float32Array(count(contract.unet.audio.dims)));
      if (out.value.length !== count(contract.unet.output.dims)) throw new Error(`output holds ${out.value.length} values per item, not ${count(contract.unet.output.dims)}`);
    } catch (err) {
      await model.close();
      const cause = err instanceof LipSyncError ? ortMessage((err.cause as Error | undefined)?.message ?? err.message) : ortMessage((err as Error).message);
      const fields = stage === "UNet model" ? `"${contract.unet.image.field}", "${contract.unet.audio.field}"` : `"${contract.encoder!.input.field}", "${contract.encoder!.output.field}"`;
      throw new LipSyncError("failed_precondition", `${stage} does not run with the shapes of manifest fields ${fields}: ${cause}`, { cause: err });
    }
    try {
      await model.warmUp();
    } catch (err) {
      await model.close();
      throw new LipSyncError("failed_precondition", `the model fails at batch sizes up to ${options.maxBatch}: ${ortMessage((err as Error).message)} (try a smaller --max-batch)`, { cause: err });
    }
    if (model.unetBuckets) logger.info({ buckets: model.unetBuckets, encoderBuckets: model.encoderBuckets, ms: Math.round(model.warmupMs) }, "model warmed up");
    return model;
  }

  /**
   * Runs every bucket of both models once, so that no live batch meets a shape the engine has
   * not seen (on CUDA the first run of a shape pays for the convolution algorithm search).
   */
  private async warmUp(): Promise<void> {
    const started = performance.now();
    for (const size of this.unetBuckets ?? []) await this.runUnet([], size);
    for (const size of this.encoderBuckets ?? []) await this.runEncoder([], size);
    this.warmupMs = performance.now() - started;
  }

  /** The encoder's feature of one frame's encoder input (flat, per-item layout of the contract). */
  async encode(input: Float32Array, opts?: SubmitOptions): Promise<Timed<Float32Array>> {
    if (!this.encoderBatcher) throw new LipSyncError("failed_precondition", "this model has no audio encoder (manifest model.audio.frontend.kind is \"none\")");
    const { output, timing } = await this.encoderBatcher.submit(input, opts);
    return { value: output, timing };
  }

  /**
   * Shares the avatar's input store with the inference worker: from now on an input given as
   * `{ slot }` is read there, with no copy on this thread.
   */
  attachInputs(store: SharedArrayBuffer): void {
    this.unetWorker.attachInputs(store);
  }

  /** The model's output crop [3, size, size] (its own channel order and range) for one input and audio window. */
  async generate(image: ImageInput, audio: Float32Array, opts?: SubmitOptions): Promise<Timed<Float32Array>> {
    const { output, timing } = await this.unetBatcher.submit({ image, audio }, opts);
    return { value: output, timing };
  }

  /** How long a UNet output took to become a frame (batcher.ts: noteAfterRun). */
  noteAfterRun(ms: number): void {
    this.unetBatcher.noteAfterRun(ms);
  }

  private record(model: "unet" | "encoder", rows: number): void {
    this.runs.push({ model, rows });
    if (this.runs.length > 64) this.runs.shift();
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
  private async runUnet(items: { image: ImageInput; audio: Float32Array }[], size: number): Promise<Float32Array[]> {
    const { audio: audioSpec } = this.shape.unet;
    const n = this.shape.unetBatch ?? Math.max(size, items.length);
    const audioLen = count(audioSpec.dims);
    // The worker assembles the image tensor from the input store (or the bytes given); only the
    // small audio windows are copied here. Rows no item fills stay zero.
    const slots = new Int32Array(n).fill(-1);
    const bytes: (Uint8Array | undefined)[] = new Array(n);
    const audio = new Float32Array(n * audioLen);
    items.forEach((item, i) => {
      if ("slot" in item.image) slots[i] = item.image.slot;
      else bytes[i] = item.image.bytes;
      audio.set(item.audio, i * audioLen);
    });
    this.record("unet", n);
    return this.unetWorker.runUnet({ n, items: items.length, slots, bytes, audio });
  }


  private async runEncoder(items: Float32Array[], size: number): Promise<Float32Array[]> {
    const { input, output } = this.shape.encoder!;
    const n = this.shape.encoderBatch ?? Math.max(size, items.length);
    const len = count(input.dims);
    const data = new Float32Array(n * len);
    items.forEach((item, i) => data.set(item, i * len));
    this.record("encoder", n);
    const out = await this.encoderWorker!.run("encoder", { [input.name]: { data, dims: [n, ...input.dims] } }, output.name);
    const outLen = count(output.dims);
    return items.map((_, i) => out.subarray(i * outLen, (i + 1) * outLen));
  }
}
