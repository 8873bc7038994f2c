/**
 * A full-size SyncTalk_2D avatar for the benchmarks: the re-created unet_328 (12.2 M parameters,
 * "ave" audio) and its AudioEncoder with random weights, exported with a dynamic batch, in a
 * dataset of the original layout (training/original_fixtures.py --full), imported with
 * `lipsync avatar import` into bench/out/avatars/synctalk-full. Then, for example:
 *
 *   pnpm bench:originals
 *   pnpm lipsync bench --avatars bench/out/avatars --avatar synctalk-full --frames 100
 *
 * Speed only: the weights are random, the frames are nonsense inside the paste region.
 */
import { spawnSync } from "node:child_process";
import { existsSync, mkdirSync, rmSync } from "node:fs";
import path from "node:path";
import { importAvatar } from "../packages/server/src/avatar/import/import-avatar.js";
import { silentLogger } from "../packages/server/src/logger.js";
import { commit, machine } from "./common.js";

const ROOT = path.resolve(import.meta.dirname, "..");
const OUT = path.join(ROOT, "bench", "out");
const frames = Number(process.argv[2] ?? 100);

const data = path.join(OUT, "originals");
const avatars = path.join(OUT, "avatars");
const t0 = performance.now();
if (!existsSync(path.join(data, "synctalk-full", "unet.onnx")) || process.argv.includes("--rebuild")) {
  rmSync(path.join(data, "synctalk-full"), { recursive: true, force: true });
  mkdirSync(data, { recursive: true });
  const made = spawnSync("/usr/bin/python3", ["-m", "training.original_fixtures", path.resolve(data), "--full", "--frames", String(frames)], { cwd: ROOT, encoding: "utf8" });
  if (made.status !== 0) throw new Error(`training/original_fixtures.py failed (needs python3-torch and python3-onnx):\n${made.stderr.slice(-2000)}`);
}
const summary = await importAvatar({ dir: path.join(data, "synctalk-full"), name: "synctalk-full", out: avatars, force: true }, silentLogger());
console.log(JSON.stringify({
  what: "full-size SyncTalk_2D avatar (random weights)", avatar: summary.name, root: avatars, frames: summary.frames, model_size: summary.modelSize,
  batch: summary.batch ?? "dynamic", seconds: Number(((performance.now() - t0) / 1000).toFixed(1)), machine: machine(), commit: commit(),
  next: `pnpm lipsync bench --avatars ${path.relative(ROOT, avatars)} --avatar synctalk-full`,
}));
