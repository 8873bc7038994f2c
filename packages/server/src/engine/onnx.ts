/**
 * ONNX Runtime sessions. `cuda` asks for the CUDA execution provider and falls back to the CPU
 * one, with one log line, where onnxruntime-node was installed without it (the default here:
 * its CUDA libraries come from NuGet at install time, see docs/gpu.md).
 */
import * as ort from "onnxruntime-node";
import type { Device } from "../config.js";
import { LipSyncError } from "../errors.js";
import type { Logger } from "../logger.js";

export interface LoadedSession {
  session: ort.InferenceSession;
  provider: Device;
}

const cudaUnavailable = new Set<string>();

export async function createSession(file: string, device: Device, threads: number, logger: Logger): Promise<LoadedSession> {
  const base: ort.InferenceSession.SessionOptions = {
    intraOpNumThreads: threads,
    interOpNumThreads: 1,
    graphOptimizationLevel: "all",
    executionMode: "sequential",
  };
  if (device === "cuda" && !cudaUnavailable.has("cuda")) {
    try {
      const session = await ort.InferenceSession.create(file, { ...base, executionProviders: ["cuda"] });
      return { session, provider: "cuda" };
    } catch (err) {
      cudaUnavailable.add("cuda");
      logger.warn({ reason: err instanceof Error ? err.message.split("\n")[0] : String(err) },
        "CUDA execution provider unavailable, falling back to CPU");
    }
  }
  try {
    const session = await ort.InferenceSession.create(file, { ...base, executionProviders: ["cpu"] });
    return { session, provider: "cpu" };
  } catch (err) {
    throw new LipSyncError("failed_precondition", "model file is not a valid ONNX model", { cause: err });
  }
}

export { ort };
