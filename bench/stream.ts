/**
 * Live sessions: first-frame latency, barge-in to idle, and how many concurrent sessions stay
 * real time.
 *
 *   pnpm bench:stream [--seconds 6] [--max-sessions 8]
 *
 * Audio is a held-out utterance streamed as 20 ms PCM chunks, paced in real time (a microphone
 * or a real-time voice agent) or sent at once (a TTS that runs ahead). Frame latency is the time
 * from sending the last audio sample a frame needs (its own 640 plus the model's lookahead) to
 * receiving the frame. One JSON line per measurement, then tables for RESULTS.md.
 */
import { readFileSync } from "node:fs";
import path from "node:path";
import { parseArgs } from "node:util";
import { createLipSyncClient, type SpeechEvent } from "@lipsync/client/node";
import { DEFAULT_MEL, samplesNeeded } from "../packages/server/src/audio/constants.js";
import { commit, machine, percentile, printTable, sleep, spawnServer, type ServerProcess } from "./common.js";

const { values } = parseArgs({ options: { seconds: { type: "string" }, "max-sessions": { type: "string" }, repeats: { type: "string" }, "server-args": { type: "string" }, "full-frames": { type: "boolean" } } });
// Mouth patches by default, as <lip-sync-player> asks for them; --full-frames for whole JPEGs.
const PATCH = !values["full-frames"];
const SECONDS = Number(values.seconds ?? 6);
const MAX_SESSIONS = Number(values["max-sessions"] ?? 8);
const REPEATS = Number(values.repeats ?? 5);
const MODELS = path.resolve(import.meta.dirname, "../models");
const CHUNK = 320; // 20 ms at 16 kHz

/** 16 kHz PCM16 speech: held-out utterances back to back, `seconds` long. */
function speech(seconds: number): Uint8Array {
  const index = JSON.parse(readFileSync(path.join(MODELS, "heldout", "heldout.json"), "utf8")) as { utterances: { name: string }[] };
  const parts: Buffer[] = [];
  let bytes = 0;
  for (let i = 0; bytes < seconds * 32000; i++) {
    const wav = readFileSync(path.join(MODELS, "heldout", `${index.utterances[i % index.utterances.length]!.name}.wav`));
    const data = wav.subarray(44);
    parts.push(data);
    bytes += data.length;
  }
  return new Uint8Array(Buffer.concat(parts).subarray(0, Math.floor(seconds * 16000) * 2));
}

interface SessionRun {
  latencies: number[];
  frames: number;
  fps: number;
  firstFrameMs: number;
}

/** One session streaming `pcm` in 20 ms chunks; real time when `paced`. */
async function session(server: ServerProcess, pcm: Uint8Array, paced: boolean): Promise<SessionRun> {
  const client = createLipSyncClient({ baseUrl: server.url, protocol: "grpc" });
  const s = client.speak({ avatar: "demo", audio: { encoding: "pcm_s16le", sampleRate: 16000 }, mouthPatch: PATCH });
  const sentAt: number[] = []; // sentAt[k]: time chunk k (samples [k*320, (k+1)*320)) was sent
  const total = pcm.length / 2;
  const events = s.events[Symbol.asyncIterator]();
  const started = await events.next();
  if (started.value?.type !== "started") throw new Error("no session");
  const t0 = performance.now();
  const feeding = (async () => {
    for (let k = 0; k * CHUNK < total; k++) {
      if (paced) {
        const due = t0 + k * 20;
        const wait = due - performance.now();
        if (wait > 0) await sleep(wait);
      }
      sentAt[k] = performance.now();
      s.pushAudio(pcm.subarray(k * CHUNK * 2, (k + 1) * CHUNK * 2));
    }
    s.end();
  })();
  const latencies: number[] = [];
  let first = 0;
  let last = 0;
  let frames = 0;
  let startPts = 0;
  for (let r = await events.next(); !r.done; r = await events.next()) {
    const e: SpeechEvent = r.value;
    if (e.type === "speech-started") startPts = e.pts;
    if (e.type === "frame" && e.frame.kind === "speech") {
      const now = performance.now();
      const j = (e.frame.pts - startPts) / 640;
      const needed = Math.min(total, Math.max((j + 1) * 640, samplesNeeded(DEFAULT_MEL, j)));
      const chunk = Math.min(Math.ceil(needed / CHUNK) - 1, sentAt.length - 1);
      latencies.push(now - sentAt[chunk]!);
      if (!frames) first = now;
      last = now;
      frames++;
    }
    if (e.type === "playback-finished") break;
  }
  await feeding;
  s.close();
  return { latencies, frames, fps: frames > 1 ? ((frames - 1) * 1000) / (last - first) : 0, firstFrameMs: first - t0 };
}

async function bargeIn(server: ServerProcess, pcm: Uint8Array): Promise<number> {
  const client = createLipSyncClient({ baseUrl: server.url, protocol: "grpc" });
  const s = client.speak({ avatar: "demo", audio: { encoding: "pcm_s16le", sampleRate: 16000 }, continuous: true });
  s.pushAudio(pcm);
  let clearedAt = 0;
  let speechFrames = 0;
  for await (const e of s.events) {
    if (e.type === "frame" && e.frame.kind === "speech" && ++speechFrames === 10) {
      clearedAt = performance.now();
      s.clear();
    }
    if (clearedAt && e.type === "frame" && e.frame.kind === "idle") {
      const ms = performance.now() - clearedAt;
      s.close();
      return ms;
    }
  }
  throw new Error("no idle frame after clear");
}

async function main() {
  // The server runs in its own process, as in production: the clients here do not share its event loop.
  const server = await spawnServer(values["server-args"]?.split(" ").filter(Boolean));
  const m = machine();
  const line = (o: object) => console.log(JSON.stringify({ bench: "stream", frames: PATCH ? "mouth patch" : "full frame", ...o, machine: m, commit: commit() }));
  try {
    await session(server, speech(1), false); // warm-up
    const first = { paced: [] as number[], burst: [] as number[] };
    for (let i = 0; i < REPEATS; i++) {
      first.paced.push((await session(server, speech(1), true)).firstFrameMs);
      first.burst.push((await session(server, speech(1), false)).firstFrameMs);
    }
    line({ what: "first_frame_ms_realtime_feed", p50: percentile(first.paced, 0.5), max: Math.max(...first.paced), floor_ms: samplesNeeded(DEFAULT_MEL, 0) / 16 });
    line({ what: "first_frame_ms_burst_feed", p50: percentile(first.burst, 0.5), max: Math.max(...first.burst) });
    const barge: number[] = [];
    for (let i = 0; i < REPEATS; i++) barge.push(await bargeIn(server, speech(4)));
    line({ what: "barge_in_to_idle_ms", p50: percentile(barge, 0.5), max: Math.max(...barge) });

    const rows: string[][] = [];
    for (let n = 1; n <= MAX_SESSIONS; n++) {
      const pcm = speech(SECONDS);
      const runs = await Promise.all(Array.from({ length: n }, () => session(server, pcm, true)));
      const lat = runs.flatMap((r) => r.latencies);
      const minFps = Math.min(...runs.map((r) => r.fps));
      const p99 = percentile(lat, 0.99);
      const realtime = minFps >= 24.5 && p99 <= 40;
      line({ what: "concurrent_sessions", sessions: n, min_fps: Number(minFps.toFixed(2)), latency_p50_ms: percentile(lat, 0.5), latency_p99_ms: p99, realtime });
      rows.push([String(n), minFps.toFixed(2), percentile(lat, 0.5).toFixed(1), p99.toFixed(1), realtime ? "yes" : "no"]);
    }
    printTable(["first frame (real-time feed) p50", "first frame (burst) p50", "barge-in to idle p50"],
      [[`${percentile(first.paced, 0.5).toFixed(0)} ms`, `${percentile(first.burst, 0.5).toFixed(0)} ms`, `${percentile(barge, 0.5).toFixed(0)} ms`]]);
    printTable(["sessions", "min fps per session", "frame latency p50 ms", "p99 ms", "real time"], rows);
  } finally {
    await server.close();
  }
}

await main();
