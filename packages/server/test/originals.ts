/**
 * Datasets in the SyncTalk_2D / Ultralight-Digital-Human layouts with random-weight models, made
 * by training/original_fixtures.py (Debian's python3-torch and python3-onnx) and cached under
 * test-output/originals/<hash of the scripts>/, so only the first run after a change pays the
 * few seconds PyTorch takes.
 */
import { spawnSync } from "node:child_process";
import { createHash } from "node:crypto";
import { existsSync, mkdirSync, readFileSync, renameSync, rmSync, writeFileSync } from "node:fs";
import path from "node:path";
import { REPO_ROOT } from "./reference.js";

export const PYTHON = "/usr/bin/python3";

/** What the datasets depend on: the scripts and the inputs they read. */
const INPUTS = [
  "training/originals.py", "training/original_fixtures.py", "training/export_original.py", "training/mel.py", "training/constants.py",
  "models/demo/manifest.json", "models/heldout/gate-0.wav",
];

export function originalDatasets(): string {
  const hash = createHash("sha256");
  for (const f of INPUTS) hash.update(readFileSync(path.join(REPO_ROOT, f)));
  const dir = path.join(REPO_ROOT, "test-output", "originals", hash.digest("hex").slice(0, 16));
  if (existsSync(path.join(dir, "done"))) return dir;
  const tmp = `${dir}.tmp-${process.pid}`;
  rmSync(tmp, { recursive: true, force: true });
  mkdirSync(tmp, { recursive: true });
  const run = spawnSync(PYTHON, ["-m", "training.original_fixtures", path.resolve(tmp)], { cwd: REPO_ROOT, encoding: "utf8", timeout: 300_000 });
  if (run.status !== 0) {
    rmSync(tmp, { recursive: true, force: true });
    const why = run.error ? String(run.error) : run.stderr.split("\n").filter((l) => !/Warning|_C\._jit/.test(l)).slice(-6).join("\n");
    throw new Error(`training/original_fixtures.py failed (it needs ${PYTHON} with python3-torch and python3-onnx: bash scripts/setup.sh --system):\n${why}`);
  }
  writeFileSync(path.join(tmp, "done"), "");
  rmSync(dir, { recursive: true, force: true });
  renameSync(tmp, dir);
  return dir;
}
