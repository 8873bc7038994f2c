/**
 * The demo model's float32 and CPU-variant (INT8) files alone on this machine's CPU, in the same
 * run: per model and batch size the warm run time per frame, and the variant's output against
 * float32 on real inputs (bench/gpu/models.mjs, the GPU run's own tool, with --device cpu).
 *
 *   pnpm bench:precision [--rounds 2] [--threads 2] [--batches 1,8]
 *
 * Rounds repeat the pair, so a drift of these shared cores shows as a spread. It also writes
 * bench/out/avatars/demo-fp32, the demo package without its CPU variant (files hard-linked), so
 * that live sessions can compare the two in one run:
 *
 *   pnpm bench:sessions --sweep --p99 60 --avatar demo
 *   pnpm bench:sessions --sweep --p99 60 --avatar demo-fp32 --server-args="--avatars bench/out/avatars"
 */
import { spawnSync } from "node:child_process";
import { linkSync, mkdirSync, readdirSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import path from "node:path";
import { parseArgs } from "node:util";

const ROOT = path.resolve(import.meta.dirname, "..");
const { values } = parseArgs({ options: { rounds: { type: "string", default: "2" }, threads: { type: "string", default: "2" }, batches: { type: "string", default: "1,8" }, seconds: { type: "string", default: "3" } } });
const out = path.join(ROOT, "bench", "out", "precision");
mkdirSync(out, { recursive: true });
const dumped = spawnSync(process.execPath, ["--import", "tsx", path.join(ROOT, "bench", "gpu", "dump-inputs.ts"), "--root", path.join(ROOT, "models"), "--avatar", "demo", "--items", "16", "--out", path.join(out, "inputs", "demo")], { stdio: ["ignore", "inherit", "inherit"] });
if (dumped.status !== 0) process.exit(1);
const m = JSON.parse(readFileSync(path.join(ROOT, "models", "demo", "manifest.json"), "utf8")).model;
if (!m.cpu_variant) throw new Error("models/demo has no model.cpu_variant: run python3 -m training.quantize");
const rel = (f: string) => path.relative(out, path.join(ROOT, "models", "demo", f));
const fp32 = { avatar: "demo", precision: "fp32", unet: rel(m.unet), encoder: rel(m.audio_encoder), inputs: "inputs/demo" };
const int8 = { avatar: "demo", precision: m.cpu_variant.precision, unet: rel(m.cpu_variant.unet), encoder: rel(m.cpu_variant.audio_encoder), inputs: "inputs/demo" };
const fp32Package = path.join(ROOT, "bench", "out", "avatars", "demo-fp32");
rmSync(fp32Package, { recursive: true, force: true });
mkdirSync(path.join(fp32Package, "frames"), { recursive: true });
for (const f of [m.unet, m.audio_encoder, "audio.wav"]) linkSync(path.join(ROOT, "models", "demo", f), path.join(fp32Package, f));
for (const f of readdirSync(path.join(ROOT, "models", "demo", "frames"))) linkSync(path.join(ROOT, "models", "demo", "frames", f), path.join(fp32Package, "frames", f));
const raw = JSON.parse(readFileSync(path.join(ROOT, "models", "demo", "manifest.json"), "utf8"));
delete raw.model.cpu_variant;
writeFileSync(path.join(fp32Package, "manifest.json"), JSON.stringify({ ...raw, name: "demo-fp32" }, null, 1));

for (let r = 0; r < Number(values.rounds); r++) {
  // The float32 entry comes first in every plan: the variant's error is measured against it.
  writeFileSync(path.join(out, "plan.json"), JSON.stringify({ models: [fp32, int8], encoder_dims: { demo: [1, m.mel.n_mels, m.mel.window_frames] } }));
  const ran = spawnSync(process.execPath, [path.join(ROOT, "bench", "gpu", "models.mjs"), "--plan", path.join(out, "plan.json"), "--device", "cpu",
    "--ort", path.join(ROOT, "packages", "server", "node_modules", "onnxruntime-node"), "--threads", values.threads!, "--batches", values.batches!, "--seconds", values.seconds!],
  { stdio: ["ignore", "inherit", "inherit"] });
  if (ran.status !== 0) process.exit(1);
}
