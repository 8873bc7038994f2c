/**
 * The main thread's handle on inference-worker.mjs: one worker per avatar model, requests
 * matched by id, input buffers transferred (not copied) to the worker and outputs back.
 */
import { Worker } from "node:worker_threads";
import type { Device } from "../config.js";
import { LipSyncError } from "../errors.js";

export interface TensorIn {
  data: Float32Array;
  dims: number[];
}

interface Pending {
  resolve: (data: Float32Array) => void;
  reject: (err: Error) => void;
}

export interface WorkerReady {
  provider: Device;
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

export class InferenceWorker {
  private readonly worker: Worker;
  private readonly pending = new Map<number, Pending>();
  private nextId = 1;
  private closed = false;

  private constructor(worker: Worker) {
    this.worker = worker;
    worker.on("message", (msg: { type: string; id?: number; data?: Float32Array; message?: string }) => {
      if (msg.id === undefined) return;
      const p = this.pending.get(msg.id);
      if (!p) return;
      this.pending.delete(msg.id);
      if (msg.type === "result") p.resolve(msg.data!);
      else p.reject(new LipSyncError("internal", `inference failed: ${ortMessage(msg.message)}`, { cause: new Error(msg.message) }));
    });
    worker.on("error", (err) => this.failAll(err));
    worker.on("exit", () => this.failAll(new Error("inference worker exited")));
  }

  /** Starts a worker and loads `files` (name -> ONNX path) into it. */
  static async start(files: Record<string, string>, device: Device, threads: number): Promise<{ worker: InferenceWorker; ready: WorkerReady }> {
    const worker = new Worker(new URL("./inference-worker.mjs", import.meta.url));
    const ready = await new Promise<WorkerReady>((resolve, reject) => {
      const onMessage = (msg: { type: string; message?: string } & WorkerReady) => {
        worker.off("message", onMessage);
        if (msg.type === "ready") resolve(msg);
        else reject(new LipSyncError("failed_precondition", `model file is not a valid ONNX model (onnxruntime: ${ortMessage(msg.message)})`, { cause: new Error(msg.message) }));
      };
      worker.on("message", onMessage);
      worker.once("error", reject);
      worker.postMessage({ type: "init", files, device, threads });
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

  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    // Let the worker release its sessions and exit by itself: terminating it while ONNX Runtime
    // tears a session down aborts the whole process.
    const exited = new Promise<void>((resolve) => this.worker.once("exit", () => resolve()));
    this.worker.postMessage({ type: "close" });
    const timer = setTimeout(() => void this.worker.terminate(), 5000);
    await exited;
    clearTimeout(timer);
    this.failAll(new Error("closed"));
  }

  private failAll(err: Error): void {
    for (const p of this.pending.values()) p.reject(new LipSyncError("unavailable", "inference worker stopped", { cause: err }));
    this.pending.clear();
  }
}
