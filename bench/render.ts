/**
 * RenderFrame throughput over every protocol, against the naive per-request path in the same run.
 *
 *   pnpm bench:render [--frames 300] [--concurrency 8]
 *
 * Optimized: the server on loopback, N RenderFrame calls with C in flight (so they batch), over
 * gRPC (h2c), gRPC-Web, Connect JSON, Connect binary and the binary WebSocket.
 * Naive (the seed's original server): per request, decode the source frame from the avatar video
 * (ffmpeg), crop, resize, build the tensors, run the audio encoder on the frame's windows, run
 * the UNet alone, composite, encode. One JSON line per protocol, then a table for RESULTS.md.
 */
import { spawnSync } from "node:child_process";
import { mkdtempSync, rmSync } from "node:fs";
import os from "node:os";
import path from "node:path";
import { parseArgs } from "node:util";
import { createLipSyncClient, type LipSyncClient } from "@lipsync/client/node";
import { WebSocket } from "ws";
import { DEFAULT_MEL, SAMPLE_RATE } from "../packages/server/src/audio/constants.js";
import { FrameWindows } from "../packages/server/src/audio/frame-windows.js";
import { melSpectrogram } from "../packages/server/src/audio/mel.js";
import { parseWav } from "../packages/server/src/audio/wav.js";
import { composite, cropToPlanar, modelInput, pasteMask } from "../packages/server/src/engine/image-ops.js";
import { encodeJpeg } from "../packages/server/src/engine/jpeg.js";
import { LipSyncModel } from "../packages/server/src/engine/model.js";
import { readManifest } from "../packages/server/src/avatar/loader.js";
import { silentLogger } from "../packages/server/src/logger.js";
import { startServer } from "../packages/server/src/server.js";
import { readFileSync } from "node:fs";
import { machine, percentile, printTable, commit } from "./common.js";

const { values } = parseArgs({ options: { frames: { type: "string" }, concurrency: { type: "string" }, naive: { type: "string" } } });
const FRAMES = Number(values.frames ?? 300);
const CONCURRENCY = Number(values.concurrency ?? 8);
const NAIVE_FRAMES = Number(values.naive ?? 40);
const MODELS = path.resolve(import.meta.dirname, "../models");
const AVATAR = "demo";

interface Result {
  what: string;
  frames: number;
  fps: number;
  latency_p50_ms: number;
  latency_p99_ms: number;
  stages_ms: Record<string, { p50: number; p99: number }>;
}

function stagesOf(timings: { prepareMs: number; queueMs: number; inferenceMs: number; compositeMs: number; encodeMs: number; totalMs: number }[]) {
  const keys = ["prepareMs", "queueMs", "inferenceMs", "compositeMs", "encodeMs", "totalMs"] as const;
  return Object.fromEntries(keys.map((k) => [k.replace("Ms", ""), { p50: percentile(timings.map((t) => t[k]), 0.5), p99: percentile(timings.map((t) => t[k]), 0.99) }]));
}

async function drive(what: string, one: (index: number) => Promise<{ prepareMs: number; queueMs: number; inferenceMs: number; compositeMs: number; encodeMs: number; totalMs: number }>, frames = FRAMES, concurrency = CONCURRENCY): Promise<Result> {
  for (let i = 0; i < 8; i++) await one(i); // warm-up
  const latencies: number[] = [];
  const timings: Awaited<ReturnType<typeof one>>[] = [];
  let next = 0;
  const start = performance.now();
  await Promise.all(Array.from({ length: concurrency }, async () => {
    while (next < frames) {
      const i = next++;
      const t = performance.now();
      timings.push(await one(i % 125));
      latencies.push(performance.now() - t);
    }
  }));
  const seconds = (performance.now() - start) / 1000;
  return { what, frames, fps: frames / seconds, latency_p50_ms: percentile(latencies, 0.5), latency_p99_ms: percentile(latencies, 0.99), stages_ms: stagesOf(timings) };
}

function viaClient(client: LipSyncClient) {
  return async (i: number) => (await client.renderFrame(AVATAR, i)).timings!;
}

/** The binary WebSocket inference message: one socket, replies matched by request id. */
async function viaWebSocket(url: string) {
  const ws = new WebSocket(url);
  await new Promise((r) => ws.once("open", r));
  const pending = new Map<number, (t: { prepareMs: number; queueMs: number; inferenceMs: number; compositeMs: number; encodeMs: number; totalMs: number }) => void>();
  ws.on("message", (data: Buffer) => {
    const v = new DataView(data.buffer, data.byteOffset, data.byteLength);
    const id = v.getUint32(4, true);
    const t = Array.from({ length: 6 }, (_, k) => v.getFloat32(32 + 4 * k, true));
    pending.get(id)?.({ prepareMs: t[0]!, queueMs: t[1]!, inferenceMs: t[2]!, compositeMs: t[3]!, encodeMs: t[4]!, totalMs: t[5]! });
    pending.delete(id);
  });
  let nextId = 1;
  const name = Buffer.from(AVATAR);
  return {
    close: () => ws.close(),
    one: (i: number) => new Promise<{ prepareMs: number; queueMs: number; inferenceMs: number; compositeMs: number; encodeMs: number; totalMs: number }>((resolve) => {
      const id = nextId++;
      const msg = Buffer.alloc(1 + 4 + 2 + name.length + 4 + 4);
      msg.writeUInt8(0x02, 0);
      msg.writeUInt32LE(id, 1);
      msg.writeUInt16LE(name.length, 5);
      name.copy(msg, 7);
      msg.writeUInt32LE(i, 7 + name.length);
      msg.writeUInt32LE(0, 11 + name.length);
      pending.set(id, resolve);
      ws.send(msg);
    }),
  };
}

/** The seed's original server, one request at a time, nothing cached. */
async function naive(): Promise<Result> {
  const dir = path.join(MODELS, AVATAR);
  const manifest = await readManifest(dir, AVATAR);
  const spec = manifest.model;
  const tmp = mkdtempSync(path.join(os.tmpdir(), "lipsync-naive-"));
  const video = path.join(tmp, "avatar.mp4");
  const made = spawnSync("ffmpeg", ["-y", "-loglevel", "error", "-framerate", "25", "-i", path.join(dir, "frames", "%04d.jpg"), "-c:v", "libx264", "-preset", "veryfast", "-pix_fmt", "yuv420p", video]);
  if (made.status !== 0) throw new Error("ffmpeg is needed for the naive path (apt-get install ffmpeg)");
  const model = await LipSyncModel.load({ unet: path.join(dir, spec.unet.file), encoder: path.join(dir, spec.encoder!.file) }, spec,
    { device: "cpu", threads: os.availableParallelism(), maxBatch: 1, maxBatchWaitMs: 0 }, silentLogger());
  const context = spec.unet.audio.dims[0]!;
  const featureDim = spec.audio.featureDim;
  const wav = parseWav(readFileSync(path.join(dir, manifest.audioTrack!)));
  const one = async (i: number) => {
    const t0 = performance.now();
    const raw = spawnSync("ffmpeg", ["-loglevel", "error", "-ss", (i / 25).toFixed(3), "-i", video, "-frames:v", "1", "-f", "rawvideo", "-pix_fmt", "rgb24", "-"], { maxBuffer: 64 << 20 });
    const frame = { data: new Uint8Array(raw.stdout), width: manifest.width, height: manifest.height };
    const rect = manifest.cropBoxes[i]!;
    const input = modelInput(cropToPlanar(frame, rect, spec.image), spec.image);
    // Audio features from scratch: mel of the track, then the encoder on each context window.
    const windows = new FrameWindows(DEFAULT_MEL);
    const from = Math.max(0, (i - 10) * 640);
    windows.add(melSpectrogram(wav.samples.subarray(from, Math.min(wav.samples.length, (i + 4) * 640)), DEFAULT_MEL));
    windows.end();
    const audio = new Float32Array(context * featureDim);
    const base = i - from / 640;
    for (let k = 0; k < context; k++) audio.set((await model.encode(windows.window(base - context + 1 + k))).value, k * featureDim);
    const t1 = performance.now();
    const out = await model.generate(input, audio);
    const t2 = performance.now();
    const pixels = composite(frame, out.value, spec.image, rect, pasteMask(rect, spec.image));
    const t3 = performance.now();
    await encodeJpeg(pixels, frame.width, frame.height, 85);
    const t4 = performance.now();
    return { prepareMs: t1 - t0, queueMs: 0, inferenceMs: t2 - t1, compositeMs: t3 - t2, encodeMs: t4 - t3, totalMs: t4 - t0 };
  };
  try {
    return await drive("naive (seed original: decode video, no caches, batch 1)", one, NAIVE_FRAMES, 1);
  } finally {
    await model.close();
    rmSync(tmp, { recursive: true, force: true });
  }
}

async function main() {
  const server = await startServer({ port: 0, host: "127.0.0.1", avatarRoots: [MODELS], preloadAvatars: [AVATAR], logger: silentLogger() });
  const results: Result[] = [];
  try {
    results.push(await drive("gRPC (h2c)", viaClient(createLipSyncClient({ baseUrl: server.url, protocol: "grpc" }))));
    results.push(await drive("gRPC-Web", viaClient(createLipSyncClient({ baseUrl: server.url, protocol: "grpc-web" }))));
    results.push(await drive("Connect JSON", viaClient(createLipSyncClient({ baseUrl: server.url, protocol: "connect", format: "json" }))));
    results.push(await drive("Connect binary", viaClient(createLipSyncClient({ baseUrl: server.url, protocol: "connect" }))));
    const ws = await viaWebSocket(server.url.replace("http", "ws") + "/ws");
    results.push(await drive("WebSocket binary", ws.one));
    ws.close();
  } finally {
    await server.close();
  }
  const base = await naive();
  const m = machine();
  for (const r of [...results, base]) {
    console.log(JSON.stringify({ bench: "render", ...r, fps: Number(r.fps.toFixed(1)), speedup_vs_naive: Number((r.fps / base.fps).toFixed(1)), concurrency: r === base ? 1 : CONCURRENCY, machine: m, commit: commit(), sample_rate: SAMPLE_RATE }));
  }
  printTable(["path", "frames/s", "x naive", "latency p50/p99 ms", "inference p50/p99", "composite p50", "encode p50"],
    [...results, base].map((r) => [r.what, r.fps.toFixed(1), (r.fps / base.fps).toFixed(1), `${r.latency_p50_ms.toFixed(1)} / ${r.latency_p99_ms.toFixed(1)}`,
      `${r.stages_ms.inference!.p50.toFixed(1)} / ${r.stages_ms.inference!.p99.toFixed(1)}`, r.stages_ms.composite!.p50.toFixed(2), r.stages_ms.encode!.p50.toFixed(2)]));
}

await main();
