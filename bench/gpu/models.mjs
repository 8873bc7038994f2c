#!/usr/bin/env node
/**
 * The models alone on one execution provider: for each ONNX file of a plan, the session's
 * creation, its first run at each batch size (on CUDA: cuDNN's algorithm search), the warm run
 * time per frame, and, for a variant (fp16, int8), its output against the float32 model's on the
 * same provider and the same real inputs (bench/gpu/dump-inputs.ts): max and mean absolute error
 * in the model's units and in 8-bit levels.
 *
 *   node bench/gpu/models.mjs --plan PLAN.json --device cuda|cpu [--ort DIR/onnxruntime-node]
 *                             [--batches 1,8,32] [--seconds 2] [--threads 2]
 *
 * PLAN.json: { "models": [{ "avatar", "precision", "unet", "encoder"?, "inputs", "devices"? }] },
 * paths relative to the plan's folder, the float32 entry of an avatar first. One JSON line per
 * model and batch size, and one per variant's comparison. Plain JavaScript: it runs where only
 * node and the deployed server exist.
 */
import { existsSync, readFileSync } from "node:fs";
import { createRequire } from "node:module";
import os from "node:os";
import path from "node:path";
import { parseArgs } from "node:util";

const { values } = parseArgs({
  options: {
    plan: { type: "string" }, device: { type: "string", default: "cpu" }, ort: { type: "string" },
    batches: { type: "string", default: "1,8,32" }, seconds: { type: "string", default: "2" }, threads: { type: "string", default: "2" },
  },
});
if (!values.plan) throw new Error("usage: models.mjs --plan PLAN.json --device cuda|cpu");
const here = path.dirname(path.resolve(values.plan));
const require = createRequire(path.join(here, "package.json"));
const ort = require(values.ort ?? "onnxruntime-node");
const plan = JSON.parse(readFileSync(values.plan, "utf8"));
const batches = values.batches.split(",").map(Number);
const round = (x, d = 2) => Number(x.toFixed(d));
const machine = `${os.availableParallelism()} cores ${os.cpus()[0]?.model.replace(/\s+/g, " ").trim()}, Node ${process.version}`;

function sessionOptions() {
  // As the engine sets them (engine/model.ts): one intra-op thread on CUDA, where the GPU works.
  return { executionProviders: [values.device], graphOptimizationLevel: "all", intraOpNumThreads: values.device === "cuda" ? 1 : Number(values.threads) };
}

/** Inputs of `n` rows: the dumped real inputs repeated, in the model's value range. */
function feeds(meta, image, audio, n) {
  const imageLen = meta.image.dims.reduce((a, b) => a * b, 1);
  const audioLen = meta.audio.dims.reduce((a, b) => a * b, 1);
  const [lo, hi] = meta.image.value_range;
  const x = new Float32Array(n * imageLen);
  const a = new Float32Array(n * audioLen);
  for (let i = 0; i < n; i++) {
    const k = i % meta.items;
    for (let j = 0; j < imageLen; j++) x[i * imageLen + j] = lo + ((hi - lo) / 255) * image[k * imageLen + j];
    a.set(audio.subarray(k * audioLen, (k + 1) * audioLen), i * audioLen);
  }
  return { [meta.image.name]: new ort.Tensor("float32", x, [n, ...meta.image.dims]), [meta.audio.name]: new ort.Tensor("float32", a, [n, ...meta.audio.dims]) };
}

async function timed(fn) {
  const t = performance.now();
  const out = await fn();
  return { ms: performance.now() - t, out };
}

/** Warm run time of `run` for about `seconds`: p50 and mean per run, ms. */
async function warm(run) {
  const times = [];
  const until = performance.now() + Number(values.seconds) * 1000;
  while (performance.now() < until || times.length < 3) times.push((await timed(run)).ms);
  times.sort((a, b) => a - b);
  return { p50: times[Math.floor(times.length / 2)], runs: times.length };
}

const references = new Map(); // avatar -> float32 output on the dumped inputs
for (const m of plan.models) {
  if (m.devices && !m.devices.includes(values.device)) continue;
  const base = { bench: "models", avatar: m.avatar, precision: m.precision, device: values.device, machine };
  const meta = JSON.parse(readFileSync(path.join(here, m.inputs, "meta.json"), "utf8"));
  const image = new Uint8Array(readFileSync(path.join(here, m.inputs, "image.u8")));
  const audio = new Float32Array(new Uint8Array(readFileSync(path.join(here, m.inputs, "audio.f32"))).buffer);
  let unet;
  const created = await timed(() => ort.InferenceSession.create(path.join(here, m.unet), sessionOptions())).catch((err) => ({ error: err }));
  if (created.error) {
    console.log(JSON.stringify({ ...base, model: "unet", error: String(created.error.message ?? created.error).slice(0, 300) }));
    continue;
  }
  unet = created.out;
  for (const b of batches) {
    const input = feeds(meta, image, audio, b);
    const first = await timed(() => unet.run(input));
    const w = await warm(() => unet.run(input));
    console.log(JSON.stringify({ ...base, model: "unet", batch: b, session_create_ms: round(created.ms, 1), first_run_ms: round(first.ms, 1),
      warm_run_ms: round(w.p50), ms_per_frame: round(w.p50 / b, 3), frames_per_s: round((1000 * b) / w.p50, 1), runs: w.runs }));
  }
  // Output on the real inputs, against the float32 model on the same provider.
  const out = (await unet.run(feeds(meta, image, audio, meta.items)))[meta.output.name].data;
  if (m.precision === "fp32") references.set(m.avatar, out);
  else if (references.has(m.avatar)) {
    const ref = references.get(m.avatar);
    let max = 0;
    let sum = 0;
    for (let i = 0; i < ref.length; i++) {
      const d = Math.abs(ref[i] - out[i]);
      sum += d;
      if (d > max || Number.isNaN(d)) max = Number.isNaN(d) ? Infinity : d;
    }
    const levels = 255 / (meta.image.value_range[1] - meta.image.value_range[0]);
    console.log(JSON.stringify({ ...base, bench: "models_error", against: "fp32", items: meta.items, frames: meta.frames.length,
      max_abs: round(max, 5), mean_abs: round(sum / ref.length, 6), max_levels: round(max * levels, 2), mean_levels: round((sum / ref.length) * levels, 3) }));
  }
  await unet.release();
  if (m.encoder && existsSync(path.join(here, m.encoder))) {
    const enc = await ort.InferenceSession.create(path.join(here, m.encoder), sessionOptions());
    const dims = enc.inputNames.length === 1 ? plan.encoder_dims?.[m.avatar] : undefined;
    if (dims) {
      for (const b of batches) {
        const len = dims.reduce((a, c) => a * c, 1);
        const input = { [enc.inputNames[0]]: new ort.Tensor("float32", new Float32Array(b * len).fill(-1), [b, ...dims]) };
        const first = await timed(() => enc.run(input));
        const w = await warm(() => enc.run(input));
        console.log(JSON.stringify({ ...base, model: "audio encoder", batch: b, first_run_ms: round(first.ms, 1), warm_run_ms: round(w.p50), ms_per_frame: round(w.p50 / b, 3) }));
      }
    }
    await enc.release();
  }
}
