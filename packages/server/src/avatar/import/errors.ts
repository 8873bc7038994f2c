import { LipSyncError } from "../../errors.js";

/**
 * An import failure naming the dataset file, the field or part of it, and what is wrong. The
 * path is relative to the dataset folder, so the message says where to look and nothing more.
 */
export function importError(file: string, field: string, problem: string): LipSyncError {
  return new LipSyncError("invalid_argument", `${file}${field ? ` (${field})` : ""}: ${problem}`);
}
