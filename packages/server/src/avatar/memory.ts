/**
 * What a loaded avatar holds in memory, from its manifest alone, so a package that would not
 * fit is refused before a frame is read: a manifest is a few lines of text, and a hostile or
 * mistaken one (a million frames, 8192 x 8192 each) would otherwise have the server allocate
 * gigabytes and spend minutes decoding before failing. The estimate counts what grows with
 * the package; the model and the runtime are measured at load like any other.
 */
import type { MemoryMode } from "../config.js";
import { LipSyncError } from "../errors.js";
import type { Manifest } from "./manifest.js";

const MB = 2 ** 20;

export interface MemoryEstimate {
  /** Decoded frames and their model inputs: all of them in preload mode, the LRU's in lazy mode. */
  decodedBytes: number;
  /** Per-frame features of the avatar's own track (float32). */
  featureBytes: number;
}

/** Bytes the avatar will hold besides its JPEG files (which are counted as they are read). */
export function estimateMemory(manifest: Manifest, memory: MemoryMode, lazyCacheFrames: number): MemoryEstimate {
  const { width, height, frameCount } = manifest;
  const size = manifest.model.image.size;
  // An RGB frame, and the 6-channel crop input the model reads (image-ops' modelInputBytes).
  const perFrame = width * height * 3 + 6 * size * size;
  const resident = memory === "preload" ? frameCount : Math.min(frameCount, lazyCacheFrames);
  const hasOwnTrack = manifest.model.audio.ownFeatures !== undefined || manifest.audioTrack !== undefined;
  return { decodedBytes: resident * perFrame, featureBytes: hasOwnTrack ? frameCount * manifest.model.audio.featureDim * 4 : 0 };
}

/** Throws FAILED_PRECONDITION naming what does not fit when `bytes` exceed `budgetBytes`. */
export function checkBudget(name: string, what: string, bytes: number, budgetBytes: number, memory: MemoryMode): void {
  if (bytes <= budgetBytes) return;
  const hint = memory === "preload" ? "; --memory lazy decodes frames on demand instead" : "";
  throw new LipSyncError("failed_precondition",
    `avatar "${name}": ${what} would take ${Math.ceil(bytes / MB)} MB, over the ${Math.floor(budgetBytes / MB)} MB left of the avatar memory budget (--avatar-memory-mb)${hint}`);
}
