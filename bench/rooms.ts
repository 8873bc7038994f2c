/**
 * Room sessions under load: N LiveKit rooms, each with an agent streaming speech to the avatar in
 * real time (40 ms chunks at 24 kHz, LiveKit's avatar protocol) and a subscriber receiving the
 * avatar's tracks, against a real livekit-server and `lipsync serve`; beside it, in the same run
 * and on the same server, N WebSocket sessions of whole frames (bench/sessions.mjs), the baseline.
 *
 *   pnpm bench:rooms [--sessions N | --sweep] [--seconds 10] [--max 8]
 *
 * Per N, one JSON line: frames the subscribers received vs 25 fps x the speech, slots the server
 * had to hold (a frame not rendered in time) and audio underruns, latency from the agent sending
 * a chunk to the subscriber receiving the frame that shows it (p50/p95), first-frame latency,
 * barge-in (lk.clear_buffer) to the first idle frame and to lk.playback_finished, and the
 * WebSocket baseline. "Held" means nothing lost: every slot received, none held, no underrun.
 * --sweep runs N = 1, 2, ... until a run does not hold. Subscribers decode every frame in this
 * process: they share the two cores with the server, as the WebSocket clients do.
 */
import { execFileSync } from "node:child_process";
import os from "node:os";
import path from "node:path";
import { parseArgs } from "node:util";
import { createLipSyncClient } from "../packages/client/src/node.js";
import { readWav } from "../e2e/livekit-agent.js";
import { speechClassifier } from "../e2e/livekit-measure.js";
import { avatarReference, resamplePcm, setupRoom, until, type AvatarReference, type RoomSetup } from "../e2e/livekit-room.js";
import { startLiveKitServer } from "../e2e/livekit-server.js";
import { startLipSync, type LipSyncProcess } from "../e2e/lipsync-process.js";
import { commit, machine, percentile } from "./common.js";

const { values } = parseArgs({ options: { sessions: { type: "string" }, sweep: { type: "boolean" }, seconds: { type: "string", default: "10" }, max: { type: "string", default: "8" } } });
const SECONDS = Number(values.seconds);
const RATE = 24_000;
const CHUNK = RATE / 25;
const SPEECH = "/usr/share/asterisk/sounds/en_US_f_Allison/demo-congrats.wav";
const round = (x: number | undefined) => (x === undefined ? null : Math.round(x * 10) / 10);

interface RoomFigures {
  frames: number;
  expected: number;
  latency: number[];
  first: number | undefined;
  bargeInIdle: number | undefined;
  bargeInReport: number | undefined;
}

/** One room's utterance: speech for SECONDS, then a barge-in; what its subscriber saw. */
async function oneRoom(r: RoomSetup, pcm: Int16Array): Promise<RoomFigures> {
  await until(() => r.viewer.has() && r.viewer.video.length > 50, "idle frames", 30_000);
  const idleSeen = r.viewer.video.slice(-25);
  const sentAt: number[] = [];
  const stop = new AbortController();
  const t0 = performance.now();
  const sending = r.agent.say(r.avatarIdentity, pcm, RATE, { realtime: true, chunkBytes: CHUNK * 2, signal: stop.signal, onChunk: (at) => sentAt.push(at) });
  await new Promise((res) => setTimeout(res, SECONDS * 1000));
  const clearedAt = performance.now();
  await r.agent.clearBuffer(r.avatarIdentity);
  stop.abort();
  await sending;
  await until(() => r.agent.finished().length > 0, "lk.playback_finished", 5000).catch(() => undefined);
  await new Promise((res) => setTimeout(res, 1000));
  const isSpeech = speechClassifier(r.idle, idleSeen);
  const window = r.viewer.video.filter((f) => f.at >= t0 && f.at < clearedAt);
  const firstSpeech = window.findIndex(isSpeech);
  const speech = firstSpeech < 0 ? [] : window.slice(firstSpeech);
  // Frame j of the utterance shows chunk j (40 ms each): from the chunk's sending to the frame's arrival.
  const latency = speech.map((f, j) => f.at - sentAt[Math.min(j, sentAt.length - 1)]!);
  const firstIdle = r.viewer.video.find((f) => f.at > clearedAt && !isSpeech(f));
  const report = r.agent.finished()[0];
  return {
    frames: speech.length,
    expected: Math.floor((clearedAt - (speech[0]?.at ?? clearedAt)) / 40),
    latency,
    first: latency[0],
    bargeInIdle: firstIdle && firstIdle.at - clearedAt,
    bargeInReport: report && report.at - clearedAt,
  };
}

/** The server's own account of each room session: slots held and audio underruns (its log). */
function serverSlots(server: LipSyncProcess, since: number): { held: number; underruns: number } {
  let held = 0;
  let underruns = 0;
  for (const line of server.output().slice(since).split("\n")) {
    if (!line.includes("room session ended")) continue;
    const j = JSON.parse(line) as { slots?: { held: number }; late?: { underruns: number } };
    held += j.slots?.held ?? 0;
    underruns += j.late?.underruns ?? 0;
  }
  return { held, underruns };
}

function websocketBaseline(url: string, n: number): Record<string, unknown> {
  const out = execFileSync(process.execPath, [path.join(import.meta.dirname, "sessions.mjs"), "--url", `${url.replace(/^http/, "ws")}/ws`, "--sessions", String(n), "--full-frames", "--seconds", String(SECONDS)], { encoding: "utf8" });
  const j = JSON.parse(out.trim().split("\n").pop()!) as Record<string, unknown>;
  // own_*: from sending the chunk that carries the frame's own audio to receiving the frame, as for rooms.
  return { frames: j.frames, expected: j.expected, dropped: j.dropped, own_p50_ms: j.own_p50_ms, own_p99_ms: j.own_p99_ms, first_frame_p50_ms: j.first_frame_p50_ms, held: j.held };
}

async function run(n: number, lk: Awaited<ReturnType<typeof startLiveKitServer>>, server: LipSyncProcess, ref: AvatarReference & { name: string }, pcm: Int16Array) {
  const rpc = createLipSyncClient({ baseUrl: server.url, protocol: "connect", httpVersion: "1.1" }).rpc;
  const ws = websocketBaseline(server.url, n);
  const logFrom = server.output().length;
  const rooms: RoomSetup[] = [];
  try {
    for (let i = 0; i < n; i++) rooms.push(await setupRoom(lk, rpc, ref));
    const figures = await Promise.all(rooms.map((r) => oneRoom(r, pcm)));
    for (const r of rooms.splice(0)) await r.close();
    await new Promise((res) => setTimeout(res, 500));
    const { held, underruns } = serverSlots(server, logFrom);
    const latency = figures.flatMap((f) => f.latency);
    const frames = figures.reduce((s, f) => s + f.frames, 0);
    const expected = figures.reduce((s, f) => s + f.expected, 0);
    const result = {
      what: "rooms", sessions: n, machine: machine(), load: os.loadavg().map((x) => Math.round(x * 10) / 10), commit: commit(), seconds: SECONDS,
      frames_received: frames, frames_expected: expected, held_slots: held, audio_underruns: underruns,
      latency_p50_ms: round(percentile(latency, 0.5)), latency_p95_ms: round(percentile(latency, 0.95)),
      first_frame_p50_ms: round(percentile(figures.flatMap((f) => (f.first === undefined ? [] : [f.first])), 0.5)),
      barge_in_to_idle_ms: figures.map((f) => round(f.bargeInIdle)), barge_in_to_report_ms: figures.map((f) => round(f.bargeInReport)),
      holds: frames >= 0.98 * expected && held === 0 && underruns === 0,
      websocket: ws,
    };
    process.stdout.write(`${JSON.stringify(result)}\n`);
    return result;
  } finally {
    for (const r of rooms) await r.close();
  }
}

async function main(): Promise<void> {
  const wav = readWav(SPEECH);
  const pcm = resamplePcm(wav.pcm, wav.rate, RATE).subarray(0, RATE * (SECONDS + 2));
  const lk = await startLiveKitServer();
  const server = await startLipSync(["--preload", "demo", "--capacity", "64", "--log-level", "info"]);
  try {
    const rpc = createLipSyncClient({ baseUrl: server.url, protocol: "connect", httpVersion: "1.1" }).rpc;
    const ref = { name: "demo", ...(await avatarReference(rpc, "demo")) };
    if (values.sweep) {
      for (let n = 1; n <= Number(values.max); n++) if (!(await run(n, lk, server, ref, pcm)).holds) break;
    } else {
      await run(Number(values.sessions ?? 1), lk, server, ref, pcm);
    }
  } finally {
    await server.stop();
    await lk.stop();
  }
}

main().then(() => process.exit(0), (err: unknown) => {
  process.stderr.write(`${err instanceof Error ? err.stack : String(err)}\n`);
  process.exit(1);
});
