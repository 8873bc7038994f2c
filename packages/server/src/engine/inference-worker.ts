/**
 * The main thread's handle on inference-worker.mjs: one worker per avatar model, requests
 * matched by id, input buffers transferred (not copied) to the worker and outputs back.
 */
import { Worker } from "node:worker_threads";
import { parseDevice, type Device, type Provider } from "../config.js";
import { LipSyncError } from "../errors.js";

export interface TensorIn {
  data: Float32Array;
  dims: number[];
}

/** What the worker needs to assemble UNet batches itself (see runUnet). */
export interface UnetSpec {
  image: { name: string; dims: number[] };
  audio: { name: string; dims: number[] };
  output: string;
  /** Model values of black and white: cached input bytes 0..255 map onto them. */
  valueRange: readonly [number, number];
}

/** One UNet batch: row i reads input slot slots[i] of the shared store, or bytes[i]; audio rows laid flat. */
export interface UnetBatch {
  n: number;
  /** Rows that are real frames (the first `items`); the rest pad the batch to its bucket. */
  items: number;
  slots: Int32Array;
  bytes: (Uint8Array | undefined)[];
  audio: Float32Array;
}

interface Pending {
  resolve: (data: Float32Array & Float32Array[]) => void;
  reject: (err: Error) => void;
}

export interface WorkerReady {
  provider: Provider;
  fallbackReason: string | undefined;
  /** Per model: input and output names, and each tensor's dims as the file declares them. */
  names: Record<string, { inputs: string[]; outputs: string[]; shapes: Record<string, (number | string)[]> }>;
}

/**
 * ONNX Runtime's own message, fit for a client: first line only, file system paths removed,
 * bounded in length. It is what tells a user which input of their model disagrees.
 */
export function ortMessage(message: string | undefined): string {
  const line = String(message ?? "unknown error").split("\n")[0]!.replace(/Load model from .* failed:/, "Load model failed: ");
  // Graph node names (Name:'/audio_model/Concat') look like paths but say where the graph failed.
  const clean = line.split(/(Name:'[^']*')/).map((part, i) => (i % 2 ? part : part.replace(/(^|[\s'"(=])(?:[A-Za-z]:)?(?:[\\/][^\s\\/:'"]+)+[\\/]?/g, "$1<file>")))
    .join("").replace(/\s+/g, " ").trim();
  return clean.length > 300 ? `${clean.slice(0, 297)}...` : clean;
}

/**
 * The first `rows` items of a batch output as views of it, one per item (padding rows left out):
 * no copy. A consumer that hands one to another thread copies it first (compose-pool.ts).
 */
function rowsOf(data: Float32Array, rows: number, batch = rows): Float32Array[] {
  const len = data.length / batch;
  return Array.from({ length: rows }, (_, i) => data.subarray(i * len, (i + 1) * len));
}

/** How long a closing worker may take to release its sessions before it is terminated, ms. */
const EXIT_GRACE_MS = 5000;

export class InferenceWorker {
  private readonly worker: Worker;
  private readonly pending = new Map<number, Pending>();
  private nextId = 1;
  private closed = false;

  private constructor(worker: Worker) {
    this.worker = worker;
    worker.on("message", (msg: { type: string; id?: number; data?: Float32Array; rows?: number; batch?: number; message?: string }) => {
      if (msg.id === undefined) return;
      const p = this.pending.get(msg.id);
      if (!p) return;
      this.pending.delete(msg.id);
      if (msg.type === "result") p.resolve((msg.rows === undefined ? msg.data : rowsOf(msg.data!, msg.rows, msg.batch)) as Float32Array & Float32Array[]);
      else p.reject(new LipSyncError("internal", `inference failed: ${ortMessage(msg.message)}`, { cause: new Error(msg.message) }));
    });
    worker.on("error", (err) => this.failAll(err));
    worker.on("exit", () => this.failAll(new Error("inference worker exited")));
  }

  /**
   * Starts a worker and loads `files` (name -> ONNX path) into it on `device` (cuda:N: GPU N);
   * `unet` when it will run UNet batches.
   */
  static async start(files: Record<string, string>, device: Device, threads: number, unet?: UnetSpec): Promise<{ worker: InferenceWorker; ready: WorkerReady }> {
    const parsed = parseDevice(device);
    if (!parsed) throw new LipSyncError("invalid_argument", `device must be cpu, cuda or cuda:N, got ${device}`);
    const worker = new Worker(new URL("./inference-worker.mjs", import.meta.url));
    const ready = await new Promise<WorkerReady>((resolve, reject) => {
      const onMessage = (msg: { type: string; message?: string } & WorkerReady) => {
        worker.off("message", onMessage);
        if (msg.type === "ready") resolve(msg);
        else reject(new LipSyncError("failed_precondition", `model file is not a valid ONNX model (onnxruntime: ${ortMessage(msg.message)})`, { cause: new Error(msg.message) }));
      };
      worker.on("message", onMessage);
      worker.once("error", reject);
      worker.postMessage({ type: "init", files, device: parsed.provider, deviceId: parsed.deviceId, threads, unet });
    }).catch(async (err) => {
      await worker.terminate();
      throw err;
    });
    return { worker: new InferenceWorker(worker), ready };
  }

  /** Runs `model` on `feeds`; the feeds' buffers are handed over to the worker. */
  run(model: string, feeds: Record<string, TensorIn>, output: string): Promise<Float32Array> {
    if (this.closed) return Promise.reject(new LipSyncError("unavailable", "model is closed"));
    const id = this.nextId++;
    return new Promise((resolve, reject) => {
      this.pending.set(id, { resolve, reject });
      this.worker.postMessage({ type: "run", id, model, feeds, output }, Object.values(feeds).map((f) => f.data.buffer as ArrayBuffer));
    });
  }

  /** Shares the avatar's input store (a SharedArrayBuffer of cached inputs, one slot per frame). */
  attachInputs(store: SharedArrayBuffer): void {
    if (!this.closed) this.worker.postMessage({ type: "inputs", store });
  }

  /** A UNet batch assembled in the worker; only the audio rows' buffer is handed over. One output view per item. */
  runUnet(batch: UnetBatch): Promise<Float32Array[]> {
    if (this.closed) return Promise.reject(new LipSyncError("unavailable", "model is closed"));
    const id = this.nextId++;
    return new Promise((resolve, reject) => {
      this.pending.set(id, { resolve, reject });
      this.worker.postMessage({ type: "unet", id, ...batch }, [batch.audio.buffer as ArrayBuffer, batch.slots.buffer as ArrayBuffer]);
    });
  }

  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    // Let the worker release its sessions and exit by itself: terminating it while ONNX Runtime
    // tears a session down aborts the whole process.
    const exited = new Promise<void>((resolve) => this.worker.once("exit", () => resolve()));
    this.worker.postMessage({ type: "close" });
    const timer = setTimeout(() => void this.worker.terminate(), EXIT_GRACE_MS);
    await exited;
    clearTimeout(timer);
    this.failAll(new Error("closed"));
  }

  private failAll(err: Error): void {
    for (const p of this.pending.values()) p.reject(new LipSyncError("unavailable", "inference worker stopped", { cause: err }));
    this.pending.clear();
  }
}
