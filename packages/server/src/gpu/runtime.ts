/**
 * Where onnxruntime-node lives and which execution-provider libraries sit beside its binding.
 * The CUDA provider (libonnxruntime_providers_cuda.so and _shared.so) is not in the npm package:
 * onnxruntime-node's install script fetches it from NuGet, or `lipsync gpu install` places it.
 */
import { existsSync, readFileSync } from "node:fs";
import { createRequire } from "node:module";
import path from "node:path";

/** The onnxruntime-node version the CUDA provider from npm was built for; pinned in package.json. */
export const ORT_VERSION = "1.29.0";
export const PROVIDER_FILES = ["libonnxruntime_providers_shared.so", "libonnxruntime_providers_cuda.so"] as const;

export interface Runtime {
  version: string;
  /** Folder of the native binding and its provider libraries. */
  binDir: string;
  /** Provider files present in binDir. */
  providers: { file: string; present: boolean }[];
}

export function locateRuntime(): Runtime {
  const require = createRequire(import.meta.url);
  const pkgFile = require.resolve("onnxruntime-node/package.json");
  const version = (JSON.parse(readFileSync(pkgFile, "utf8")) as { version: string }).version;
  const binDir = path.join(path.dirname(pkgFile), "bin", "napi-v6", process.platform, process.arch);
  return { version, binDir, providers: PROVIDER_FILES.map((file) => ({ file, present: existsSync(path.join(binDir, file)) })) };
}
