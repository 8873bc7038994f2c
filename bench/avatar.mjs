// A photo to a trained, servable avatar: lipsync avatar build, then avatar train (the full
// fine-tuning), timed. One JSON line. Not part of the tests: 10-20 minutes on 2 idle CPU cores.
//   pnpm bench:avatar [-- --steps 800 --device cpu --photo FILE]   (after pnpm build)
import { execFileSync, spawnSync } from "node:child_process";
import { mkdtempSync, readFileSync, rmSync } from "node:fs";
import os from "node:os";
import path from "node:path";
import { parseArgs } from "node:util";

const { values } = parseArgs({ options: { steps: { type: "string", default: "800" }, device: { type: "string", default: "cpu" },
  photo: { type: "string", default: "/usr/share/matplotlib/mpl-data/sample_data/grace_hopper.jpg" }, keep: { type: "boolean" } } });
const repo = path.resolve(new URL(".", import.meta.url).pathname, "..");
const cli = path.join(repo, "packages", "server", "dist", "cli.js");
const root = mkdtempSync(path.join(os.tmpdir(), "lipsync-bench-avatar-"));
const t0 = performance.now();
execFileSync("node", [cli, "avatar", "build", "--photo", values.photo, "--name", "bench", "--out", root, "--license", "benchmark"], { stdio: ["ignore", "ignore", "inherit"] });
const buildS = (performance.now() - t0) / 1000;
const train = spawnSync("/usr/bin/python3", [path.join(repo, "training", "finetune.py"), path.join(root, "bench"), "--steps", values.steps, "--device", values.device], { encoding: "utf8", maxBuffer: 64 << 20 });
const line = train.stdout.split("\n").find((l) => l.startsWith("@result "));
if (!line) throw new Error(`training failed: ${train.stderr.slice(-2000)}`);
const result = JSON.parse(line.slice(8));
const manifest = JSON.parse(readFileSync(path.join(root, "bench", "manifest.json"), "utf8"));
const commit = spawnSync("git", ["-C", repo, "rev-parse", "--short", "HEAD"], { encoding: "utf8" }).stdout.trim();
console.log(JSON.stringify({
  bench: "avatar", what: `photo ${path.basename(values.photo)} -> trained avatar`, commit, hardware: `${os.cpus().length} x ${os.cpus()[0]?.model}`, load_avg_1m: os.loadavg()[0],
  device: result.device, threads: result.threads, steps: result.steps, build_s: +buildS.toFixed(1), data_s: result.seconds.data, train_s: result.seconds.train,
  total_s: Math.round(buildS + result.seconds.total), loss_first: result.loss_first, loss_last: result.loss_last, gate_r: result.held_out.gate.r,
  family_r: result.held_out.family.r, gate_passed: result.gate.passed, installed: manifest.training?.state === "trained",
}));
if (!values.keep) rmSync(root, { recursive: true, force: true });
