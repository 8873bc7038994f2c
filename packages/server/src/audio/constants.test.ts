import { execFileSync } from "node:child_process";
import { existsSync } from "node:fs";
import path from "node:path";
import { describe, expect, it } from "vitest";
import { DEFAULT_MEL, FPS, idleIndex, SAMPLE_RATE, SAMPLES_PER_FRAME } from "./constants.js";

const ROOT = path.resolve(import.meta.dirname, "../../../..");
const PYTHON = "/usr/bin/python3";

/**
 * training/ makes the model the server runs: its clock, mel convention and idle walk must be the
 * ones of @lipsync/proto/media and audio/constants.ts. Read from the Python modules themselves.
 */
function trainingFacts(): Record<string, number | number[]> {
  const script = `
import json, runpy
c = runpy.run_path("training/constants.py")
keys = ["SAMPLE_RATE", "FPS", "SAMPLES_PER_FRAME", "N_FFT", "HOP_LENGTH", "WIN_LENGTH", "N_MELS", "F_MIN", "F_MAX",
        "PREEMPHASIS", "MIN_LEVEL_DB", "REF_LEVEL_DB", "MAX_ABS_VALUE", "MEL_WINDOW", "MEL_OFFSET"]
print(json.dumps({k: c[k] for k in keys}))
`;
  return JSON.parse(execFileSync(PYTHON, ["-c", script], { cwd: ROOT, encoding: "utf8" })) as Record<string, number>;
}

describe.skipIf(!existsSync(PYTHON))("media constants", () => {
  it("are the same in training/constants.py as on the server and in the player", () => {
    const t = trainingFacts();
    expect({ rate: t.SAMPLE_RATE, fps: t.FPS, spf: t.SAMPLES_PER_FRAME }).toEqual({ rate: SAMPLE_RATE, fps: FPS, spf: SAMPLES_PER_FRAME });
    expect({
      nFft: t.N_FFT, hopLength: t.HOP_LENGTH, winLength: t.WIN_LENGTH, nMels: t.N_MELS, fMin: t.F_MIN, fMax: t.F_MAX, preemphasis: t.PREEMPHASIS,
      minLevelDb: t.MIN_LEVEL_DB, refLevelDb: t.REF_LEVEL_DB, maxAbsValue: t.MAX_ABS_VALUE, windowFrames: t.MEL_WINDOW, windowOffset: t.MEL_OFFSET,
    }).toEqual({
      nFft: DEFAULT_MEL.nFft, hopLength: DEFAULT_MEL.hopLength, winLength: DEFAULT_MEL.winLength, nMels: DEFAULT_MEL.nMels, fMin: DEFAULT_MEL.fMin,
      fMax: DEFAULT_MEL.fMax, preemphasis: DEFAULT_MEL.preemphasis, minLevelDb: DEFAULT_MEL.minLevelDb, refLevelDb: DEFAULT_MEL.refLevelDb,
      maxAbsValue: DEFAULT_MEL.maxAbsValue, windowFrames: DEFAULT_MEL.windowFrames, windowOffset: DEFAULT_MEL.windowOffset,
    });
  });

  it("walk the idle footage as training's ping-pong does", () => {
    // training's ping_pong(start, n, count): the walk the model's idle frames were drawn with.
    const walk = execFileSync(PYTHON, ["-c", `
import json, sys
try:
    from training import dataset
except ImportError:
    sys.path.insert(0, "training")
    import dataset
print(json.dumps(dataset.ping_pong(3, 30, 7).tolist()))
`], { cwd: ROOT, encoding: "utf8" });
    expect(Array.from({ length: 30 }, (_, k) => idleIndex(3 + k, 7))).toEqual(JSON.parse(walk));
  });
});
