#!/usr/bin/env node
/**
 * Live sessions under load: N WebSocket sessions streaming speech in real time (40 ms chunks),
 * as a microphone or a real-time voice agent does, against a real server.
 *
 *   pnpm bench:sessions [--sessions N | --sweep] [--device cpu|cuda] [--avatar demo]
 *                       [--seconds 20] [--full-frames] [--url ws://HOST:PORT/ws] [--p99 100]
 *                       [--server-args="--avatars DIR --max-batch 16"]   (with "=": the value starts with a dash)
 *                       [--first] [--start N] [--budget SECONDS] [--cli PATH/cli.js]
 *
 * Per run (one JSON line): speech frames delivered vs expected, frames the server dropped
 * (frames_dropped), frame latency p50/p99/max, first-frame latency, the server's CPU use and,
 * where nvidia-smi exists, the GPU's. Frame latency: from sending the last audio sample the
 * frame needs (its own samples plus the model's lookahead) to receiving it; `own_p99_ms` counts
 * from its own last sample instead (the lookahead included). With --sweep it doubles N, then
 * bisects, to find the most sessions held: every frame delivered, none dropped, p99 <= --p99.
 * --start N doubles from N instead of 1; --budget stops the sweep once that many seconds have
 * passed (the last line then gives the bracket it reached). --first measures one session on the
 * freshly started server before the warm-up session (phase "first session"), to compare with
 * the same run once warm.
 *
 * Plain JavaScript with `ws` as its only dependency, so it runs as is on a machine that has
 * only node and the deployed server (the GPU recipe in docs/gpu.md). Without --url it starts
 * `lipsync serve` itself (capacity unlimited, so the sweep measures the engine, not admission).
 */
import { spawn, execSync } from "node:child_process";
import { readFileSync, existsSync } from "node:fs";
import os from "node:os";
import path from "node:path";
import { parseArgs } from "node:util";
import { fileURLToPath } from "node:url";
import WebSocket from "ws";
import { CHUNK_MS, pace, speech as speechPcm } from "./live.mjs";

const here = path.dirname(fileURLToPath(import.meta.url));
const { values } = parseArgs({
  options: {
    url: { type: "string" }, device: { type: "string", default: "cpu" }, avatar: { type: "string", default: "demo" },
    sessions: { type: "string" }, sweep: { type: "boolean" }, seconds: { type: "string", default: "20" },
    "full-frames": { type: "boolean" }, wav: { type: "string" }, p99: { type: "string", default: "100" },
    "max-sessions": { type: "string", default: "256" }, "server-args": { type: "string", default: "" }, cli: { type: "string" },
    first: { type: "boolean" }, start: { type: "string", default: "1" }, budget: { type: "string" },
  },
});
const SECONDS = Number(values.seconds);
const PATCH = !values["full-frames"];
const P99_LIMIT = Number(values.p99);
const speech = (seconds) => speechPcm(seconds, values.wav);

const percentile = (sorted, p) => (sorted.length ? sorted[Math.min(sorted.length - 1, Math.floor(p * sorted.length))] : null);
const round = (x) => (x === null ? null : Number(x.toFixed(1)));

/** One session: resolves with its figures; never rejects (errors are counted). */
function session(url, pcm) {
  return new Promise((resolve) => {
    const ws = new WebSocket(url);
    ws.binaryType = "nodebuffer";
    const total = pcm.length / 2;
    const sentAt = []; // sentAt[k]: when samples [k * 640, (k + 1) * 640) went out
    const r = { frames: 0, expected: Math.ceil(total / 640), dropped: 0, latency: [], own: [], first: null, error: null, refused: false };
    let startPts = null;
    let lookahead = 2;
    // Video frames are the avatar's samples_per_frame (640 at 25 fps, 800 at 20); audio goes out in 640-sample chunks.
    let spf = 640;
    let stopPacing = () => {};
    let t0 = 0;
    const finish = () => {
      stopPacing();
      try { ws.close(); } catch { /* already closed */ }
      resolve(r);
    };
    const guard = setTimeout(() => { r.error = "timed out"; finish(); }, (SECONDS * 4 + 60) * 1000);
    ws.on("open", () => ws.send(JSON.stringify({ type: "start", avatar: values.avatar, sample_rate: 16000, encoding: "pcm_s16le", channels: 1, frames: "binary", patch: PATCH })));
    ws.on("message", (m, binary) => {
      if (!binary) {
        const j = JSON.parse(m.toString());
        if (j.type === "started") {
          lookahead = j.avatar?.model?.lookahead_frames ?? 2;
          spf = j.samples_per_frame || 640;
          r.expected = Math.ceil(total / spf);
          t0 = performance.now();
          // Drift-free pacing: chunk k goes out at t0 + 40 k ms.
          stopPacing = pace(pcm, (chunk) => ws.send(Buffer.concat([Buffer.of(0x01), chunk])), () => ws.send(JSON.stringify({ type: "end" })), sentAt);
        } else if (j.type === "speech_started") {
          startPts ??= j.pts;
        } else if (j.type === "frames_dropped") {
          r.dropped += (j.end_pts - j.start_pts) / spf;
        } else if (j.type === "speech_ended") {
          clearTimeout(guard);
          finish();
        } else if (j.type === "error") {
          r.error = j.error;
        }
        return;
      }
      if (m[0] !== 0x10 || m[1] !== 1) return; // speech frames only
      const now = performance.now();
      const frame = (m.readDoubleLE(12) - (startPts ?? 0)) / spf;
      const needChunk = Math.min(sentAt.length - 1, Math.ceil(Math.min(total, (frame + 1 + lookahead) * spf) / 640) - 1);
      const ownChunk = Math.min(sentAt.length - 1, Math.ceil(Math.min(total, (frame + 1) * spf) / 640) - 1);
      r.latency.push(now - sentAt[needChunk]);
      r.own.push(now - sentAt[ownChunk]);
      r.first ??= now - t0;
      r.frames++;
    });
    ws.on("close", (code, reason) => {
      if (code === 4429) r.refused = true;
      if (code !== 1000 && code !== 1005 && !r.error && r.frames < r.expected) r.error = `closed ${code} ${reason}`;
      clearTimeout(guard);
      finish();
    });
    ws.on("error", (e) => { r.error = e.message; });
  });
}

/** CPU seconds the process `pid` has used (Linux /proc). */
function cpuSeconds(pid) {
  try {
    const f = readFileSync(`/proc/${pid}/stat`, "utf8").split(") ")[1].split(" ");
    // utime and stime, fields 14 and 15, in clock ticks (100 per second on Linux).
    return (Number(f[11]) + Number(f[12])) / 100;
  } catch {
    return null;
  }
}

/** Samples GPU utilisation every 500 ms while running, where nvidia-smi exists. */
function gpuSampler() {
  let proc;
  const samples = [];
  try {
    execSync("nvidia-smi -L", { stdio: "ignore" });
    proc = spawn("nvidia-smi", ["--query-gpu=utilization.gpu,memory.used", "--format=csv,noheader,nounits", "-lms", "500"], { stdio: ["ignore", "pipe", "ignore"] });
    proc.stdout.on("data", (d) => {
      for (const line of d.toString().trim().split("\n")) {
        const [u, mem] = line.split(",").map(Number);
        if (Number.isFinite(u)) samples.push({ u, mem });
      }
    });
  } catch {
    // no NVIDIA GPU here
  }
  return {
    stop() {
      proc?.kill();
      if (!samples.length) return null;
      return { gpu_util_pct: round(samples.reduce((s, x) => s + x.u, 0) / samples.length), gpu_mem_mib: Math.max(...samples.map((x) => x.mem)) };
    },
  };
}

async function run(url, n, pcm, serverPid, phase = "warm") {
  const cpu0 = serverPid ? cpuSeconds(serverPid) : null;
  const t0 = performance.now();
  const gpu = gpuSampler();
  // Staggered over one chunk period, as independent clients would be.
  const results = await Promise.all(Array.from({ length: n }, (_, i) => new Promise((r) => setTimeout(r, (CHUNK_MS / n) * i)).then(() => session(url, pcm))));
  const wall = (performance.now() - t0) / 1000;
  const cpu1 = serverPid ? cpuSeconds(serverPid) : null;
  const lat = results.flatMap((r) => r.latency).sort((a, b) => a - b);
  const own = results.flatMap((r) => r.own).sort((a, b) => a - b);
  const firsts = results.flatMap((r) => (r.first === null ? [] : [r.first])).sort((a, b) => a - b);
  const frames = results.reduce((s, r) => s + r.frames, 0);
  const expected = results.reduce((s, r) => s + r.expected, 0);
  const dropped = results.reduce((s, r) => s + r.dropped, 0);
  const out = {
    bench: "sessions", phase, avatar: values.avatar, device: values.device, frames_kind: PATCH ? "mouth patch" : "full frame", sessions: n, seconds: SECONDS,
    frames, expected, lost: expected - frames, dropped, refused: results.filter((r) => r.refused).length, errors: results.filter((r) => r.error).length,
    latency_p50_ms: round(percentile(lat, 0.5)), latency_p99_ms: round(percentile(lat, 0.99)), latency_max_ms: round(lat.at(-1) ?? null),
    own_p50_ms: round(percentile(own, 0.5)), own_p99_ms: round(percentile(own, 0.99)),
    first_frame_p50_ms: round(percentile(firsts, 0.5)), first_frame_max_ms: round(firsts.at(-1) ?? null),
    server_cpu_cores: cpu0 !== null && cpu1 !== null ? Number(((cpu1 - cpu0) / wall).toFixed(2)) : null,
    ...gpu.stop(),
    machine: `${os.availableParallelism()} cores ${os.cpus()[0]?.model.replace(/\s+/g, " ").trim()}, Node ${process.version}`,
    commit: process.env.LIPSYNC_COMMIT ?? (() => { try { return execSync("git rev-parse --short HEAD", { stdio: ["ignore", "pipe", "ignore"] }).toString().trim(); } catch { return "unknown"; } })(),
  };
  out.held = out.lost === 0 && out.dropped === 0 && out.errors === 0 && out.latency_p99_ms !== null && out.latency_p99_ms <= P99_LIMIT;
  console.log(JSON.stringify(out));
  return out;
}

/** `lipsync serve` in a child process on a free port. */
function startServer() {
  const cli = values.cli ?? path.join(here, "..", "packages", "server", "dist", "cli.js");
  if (!existsSync(cli)) throw new Error(`${cli} not found: build first (pnpm build)`);
  const args = [cli, "serve", "--port", "0", "--host", "127.0.0.1", "--log-level", "warn", "--device", values.device, "--capacity", "100000", "--max-sessions", "100000",
    "--preload", values.avatar, ...values["server-args"].split(" ").filter(Boolean)];
  const child = spawn(process.execPath, args, { stdio: ["ignore", "pipe", "inherit"] });
  return new Promise((resolve, reject) => {
    let out = "";
    child.once("exit", (code) => reject(new Error(`server exited (${code})`)));
    child.stdout.on("data", (d) => {
      out += d.toString();
      const m = /open (http:\/\/[^\s]+?)\/? in a browser/.exec(out);
      if (m) resolve({ url: m[1].replace("http", "ws").replace("localhost", "127.0.0.1") + "/ws", pid: child.pid, close: () => new Promise((done) => { child.once("exit", done); child.kill("SIGTERM"); }) });
    });
  });
}

const started = performance.now();
const server = values.url ? { url: values.url, pid: null, close: async () => {} } : await startServer();
const readyS = (performance.now() - started) / 1000;
// Past the budget no new run starts (a run takes SECONDS plus the time its frames trail).
const inBudget = () => values.budget === undefined || (performance.now() - started) / 1000 + SECONDS < Number(values.budget);
try {
  const pcm = speech(SECONDS);
  if (values.first) await run(server.url, 1, pcm, server.pid, "first session");
  await session(server.url, speech(2)); // warm-up
  // The same one session once warm, when the sweep below does not start with it.
  if (values.first && (!values.sweep || Number(values.start) > 1)) await run(server.url, 1, pcm, server.pid);
  if (!values.sweep) {
    await run(server.url, Number(values.sessions ?? 1), pcm, server.pid);
  } else {
    // Double until a run fails, then bisect between the last held and the first failed.
    let held = 0;
    let failed = 0;
    let cut = false;
    for (let n = Number(values.start); n <= Number(values["max-sessions"]); n *= 2) {
      if (!inBudget()) { cut = true; break; }
      if ((await run(server.url, n, pcm, server.pid)).held) held = n;
      else { failed = n; break; }
    }
    // A start above 1 that fails at once leaves [0, start] to bisect.
    while (failed && failed - held > 1) {
      if (!inBudget()) { cut = true; break; }
      const n = Math.floor((held + failed) / 2);
      if ((await run(server.url, n, pcm, server.pid)).held) held = n;
      else failed = n;
    }
    console.log(JSON.stringify({ bench: "sessions_sweep", avatar: values.avatar, device: values.device, frames_kind: PATCH ? "mouth patch" : "full frame", p99_limit_ms: P99_LIMIT,
      max_sessions_held: held, first_failed: failed || null, complete: !cut, server_ready_s: Number(readyS.toFixed(1)) }));
  }
} finally {
  await server.close();
}
