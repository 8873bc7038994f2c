/** The options every command that loads avatars shares, and their translation to ServerOptions. */
import { readFileSync } from "node:fs";
import path from "node:path";
import { DEFAULTS, parseDevice, type Device, type ServerOptions } from "../config.js";
import { REPO_ROOT } from "../static-mounts.js";
import { choiceOption, intOption, listOption, stringOption, UsageError, type OptionSpec, type Values } from "./options.js";

export const AVATAR_OPTIONS: OptionSpec[] = [
  { name: "avatars", value: "DIR", multiple: true, default: "$LIPSYNC_AVATARS or the repository's models/", description: "a folder whose sub-folders are avatar packages" },
  { name: "memory", value: "MODE", default: DEFAULTS.memory, description: "preload: decode every source frame at load (fastest); lazy: decode on demand under an LRU bound (least RAM)" },
  { name: "avatar-memory-mb", value: "MB", default: `${DEFAULTS.avatarMemoryBudgetMb} (half this machine's memory)`, description: "memory all loaded avatars may hold in frames and features; a package that would take more is refused before its frames are read" },
  { name: "device", value: "DEV", default: `${DEFAULTS.device} ($LIPSYNC_DEVICE)`, description: "cpu, cuda or cuda:N (ONNX Runtime's CUDA execution provider on GPU N; one process per GPU; see lipsync doctor)" },
  { name: "threads", value: "N", default: String(DEFAULTS.inferenceThreads), description: "ONNX Runtime intra-op threads per model" },
  { name: "max-batch", value: "N", default: String(DEFAULTS.maxBatch), description: "most frames in one model run" },
  { name: "batch-wait-ms", value: "MS", default: String(DEFAULTS.maxBatchWaitMs), description: "longest a frame waits for others to fill a batch" },
  { name: "batch-buckets", value: "MODE", default: "auto (pow2 on cuda, any on cpu)", description: "pow2: pad batches to powers of two, each warmed up at load; any: run every batch size as it is" },
  { name: "compose-workers", value: "N", default: `${DEFAULTS.composeWorkers} (a quarter of the cores from 4 up)`, description: "worker threads that composite and JPEG-encode frames; 0: on the main thread" },
  { name: "audio-workers", value: "N", default: `${DEFAULTS.audioWorkers} (a quarter of the cores from 4 up)`, description: "worker threads for live sessions' resampling and mel features; 0: on the main thread" },
  { name: "log-level", value: "LEVEL", default: `${DEFAULTS.logLevel} ($LOG_LEVEL)`, description: "fatal, error, warn, info, debug or trace" },
];

/** Avatar roots: --avatars, else $LIPSYNC_AVATARS (colon-separated), else the repository's models/. */
export function avatarRoots(values: Values): string[] {
  const given = listOption(values, "avatars");
  if (given.length) return given.map((r) => path.resolve(r));
  const env = process.env.LIPSYNC_AVATARS;
  if (env) return env.split(":").filter(Boolean).map((r) => path.resolve(r));
  return [path.join(REPO_ROOT, "models")];
}

/** --device, else $LIPSYNC_DEVICE: cpu, cuda or cuda:N. */
export function deviceOption(values: Values): Device | undefined {
  const given = stringOption(values, "device");
  const value = given ?? process.env.LIPSYNC_DEVICE;
  if (value === undefined || value === "") return undefined;
  if (!parseDevice(value)) throw new UsageError(`${given === undefined ? "LIPSYNC_DEVICE" : "--device"} must be cpu, cuda or cuda:N (N: a GPU's number, as nvidia-smi lists them), got "${value}"`);
  return value as Device;
}

export function serverOptions(values: Values): ServerOptions {
  const device = deviceOption(values);
  const options: ServerOptions = {
    avatarRoots: avatarRoots(values),
    memory: choiceOption(values, "memory", ["preload", "lazy"] as const),
    avatarMemoryBudgetMb: intOption(values, "avatar-memory-mb", 1, 1 << 30),
    device,
    maxBatch: intOption(values, "max-batch", 1, 1024),
    maxBatchWaitMs: intOption(values, "batch-wait-ms", 0, 1000),
    batchBuckets: choiceOption(values, "batch-buckets", ["auto", "pow2", "any"] as const),
    inferenceThreads: intOption(values, "threads", 1, 256),
    composeWorkers: intOption(values, "compose-workers", 0, 64),
    audioWorkers: intOption(values, "audio-workers", 0, 64),
    logLevel: stringOption(values, "log-level") ?? process.env.LOG_LEVEL,
  };
  const cert = stringOption(values, "tls-cert");
  const key = stringOption(values, "tls-key");
  if (cert || key) {
    if (!cert || !key) throw new UsageError("--tls-cert and --tls-key go together");
    options.tls = { cert: readFileSync(cert), key: readFileSync(key) };
  }
  return options;
}
