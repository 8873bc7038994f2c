/**
 * The server as the avatar of a LiveKit room, against a real livekit-server and a real
 * `lipsync serve` process: an agent speaking LiveKit's avatar protocol (e2e/livekit-agent.ts)
 * streams recorded speech (Debian's asterisk-core-sounds-en-wav, a person reading), and a
 * subscriber in the room (e2e/livekit-subscriber.ts) watches and listens to the avatar.
 */
import { createLipSyncClient } from "@lipsync/client/node";
import { TrackKind, TrackSource } from "@livekit/rtc-node";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { readWav } from "../../../e2e/livekit-agent.js";
import { avatarReference, onset, resamplePcm, setupRoom, until, type AvatarReference, type RoomSetup } from "../../../e2e/livekit-room.js";
import { liveKitServerBinary, startLiveKitServer, type LiveKitServer } from "../../../e2e/livekit-server.js";
import { heard as heardAt, LOUD, loudSpan, speechClassifier } from "../../../e2e/livekit-measure.js";
import type { VideoRecord } from "../../../e2e/livekit-subscriber.js";
import { startLipSync, type LipSyncProcess } from "../../../e2e/lipsync-process.js";

const VOICE = "/usr/share/asterisk/sounds/en_US_f_Allison";
/** The agent's TTS rate; the avatar's track is 48 kHz (the default), the subscriber listens at that. */
const TTS_RATE = 24_000;
const TRACK_RATE = 48_000;
const FRAME_MS = 40;

const binary = liveKitServerBinary();
const missing = "missing" in binary ? binary.missing : undefined;
if (missing) console.warn(`skipping the LiveKit room tests: ${missing}`);

let lk: LiveKitServer;
let server: LipSyncProcess;
let rpc: ReturnType<typeof createLipSyncClient>["rpc"];
let ref: AvatarReference & { name: string };

/** A recording at the TTS rate, from its first loud sample (so speech starts at sample 0). */
function speech(name: string): Int16Array {
  const wav = readWav(`${VOICE}/${name}.wav`);
  const pcm = resamplePcm(wav.pcm, wav.rate, TTS_RATE);
  return pcm.subarray(onset(pcm, LOUD));
}

/**
 * The received speech is as long as the sent: nothing lost, nothing doubled. The receiver's
 * jitter buffer (WebRTC's NetEq) stretches it when packets arrive unevenly, as they do on a busy
 * machine, and compresses it to catch up after a burst: up to 150 ms longer and two slots
 * shorter pass (the Python agent test allows the same two slots).
 */
function expectSameLength(received: number, sent: number): void {
  expect(received - sent, `received ${received.toFixed(3)} s of speech, sent ${sent.toFixed(3)} s`).toBeGreaterThanOrEqual((-2 * FRAME_MS) / 1000);
  expect(received - sent, `received ${received.toFixed(3)} s of speech, sent ${sent.toFixed(3)} s`).toBeLessThanOrEqual(0.15);
}

const heard = (audio: Parameters<typeof heardAt>[0], from: number) => heardAt(audio, from, TRACK_RATE);
const classifier = (r: RoomSetup, idleSeen: VideoRecord[]) => speechClassifier(r.idle, idleSeen);

describe.skipIf(missing !== undefined)("the server as a LiveKit room's avatar", () => {
  beforeAll(async () => {
    lk = await startLiveKitServer();
    // A fixed capacity: the one measured at load depends on how busy the machine is.
    server = await startLipSync(["--preload", "demo", "--capacity", "4"]);
    rpc = createLipSyncClient({ baseUrl: server.url, protocol: "connect", httpVersion: "1.1" }).rpc;
    ref = { name: "demo", ...(await avatarReference(rpc, "demo")) };
  });
  afterAll(async () => {
    await server?.stop();
    await lk?.stop();
  });

  it("publishes a CAMERA video track of the idle loop at 25 fps and a MICROPHONE audio track", async () => {
    const r = await setupRoom(lk, rpc, ref);
    try {
      await until(() => r.viewer.has(), "the avatar's tracks subscribed");
      const avatar = r.viewer.room.remoteParticipants.get(r.avatarIdentity)!;
      const sources = [...avatar.trackPublications.values()].map((p) => [p.kind, p.source]);
      expect(sources).toEqual(expect.arrayContaining([[TrackKind.KIND_VIDEO, TrackSource.SOURCE_CAMERA], [TrackKind.KIND_AUDIO, TrackSource.SOURCE_MICROPHONE]]));
      await until(() => r.viewer.video.length > 0, "a first frame");
      const t0 = performance.now();
      await new Promise((res) => setTimeout(res, 4000));
      const frames = r.viewer.video.filter((f) => f.at > t0 && f.at <= t0 + 4000);
      expect(frames.length).toBeGreaterThanOrEqual(0.95 * 100);
      expect(new Set(frames.map((f) => `${f.width}x${f.height}`))).toEqual(new Set([`${ref.width}x${ref.height}`]));
      const isSpeech = classifier(r, frames.slice(0, 10));
      expect(frames.filter(isSpeech)).toEqual([]);
    } finally {
      await r.close();
    }
  });

  it("plays an utterance streamed in real time: every frame, all of its audio, the first speech frame with the first speech sound, then idle", async () => {
    const r = await setupRoom(lk, rpc, ref);
    try {
      await until(() => r.viewer.has() && r.viewer.video.length > 50, "idle frames");
      const pcm = speech("agent-alreadyon");
      const idleBefore = r.viewer.video.slice(-25);
      const t0 = performance.now();
      await r.agent.say(r.avatarIdentity, pcm, TTS_RATE, { realtime: true });
      await until(() => r.agent.finished().length > 0, "lk.playback_finished", 20_000);
      const done = r.agent.finished()[0]!;
      await new Promise((res) => setTimeout(res, 500));
      const isSpeech = classifier(r, idleBefore);
      const frames = r.viewer.video.filter((f) => f.at >= t0 && f.at <= done.at);
      const seconds = (done.at - t0) / 1000;
      // Every slot of the 25 fps clock reached the subscriber (a late frame is sent again, never skipped).
      expect(frames.length).toBeGreaterThanOrEqual(0.95 * 25 * seconds);

      const { pcm: got, firstLoudAt } = heard(r.viewer.audio, t0);
      expectSameLength(loudSpan(got, TRACK_RATE), loudSpan(pcm, TTS_RATE));

      const started = r.agent.reports.find((x) => x.method === "lk.playback_started");
      expect(started).toBeDefined();
      expect(done.payload.interrupted).toBe(false);
      expect(done.payload.playback_position).toBeCloseTo(pcm.length / TTS_RATE, 1);

      const firstSpeech = frames.find(isSpeech);
      expect(firstSpeech, "a speech frame").toBeDefined();
      expect(firstLoudAt, "speech audio").toBeDefined();
      expect(Math.abs(firstSpeech!.at - firstLoudAt!)).toBeLessThanOrEqual(FRAME_MS);

      const after = r.viewer.video.filter((f) => f.at > done.at + 200);
      expect(after.length).toBeGreaterThan(5);
      expect(after.filter(isSpeech)).toEqual([]);
    } finally {
      await r.close();
    }
  });

  it("plays an utterance sent faster than real time (a TTS running ahead) whole and paced", async () => {
    const r = await setupRoom(lk, rpc, ref);
    try {
      await until(() => r.viewer.has() && r.viewer.video.length > 25, "idle frames");
      const pcm = speech("agent-alreadyon");
      const t0 = performance.now();
      // In 100 ms pieces, as a TTS hands them out.
      await r.agent.say(r.avatarIdentity, pcm, TTS_RATE, { chunkBytes: TTS_RATE / 10 * 2 });
      await until(() => r.agent.finished().length > 0, "lk.playback_finished", 20_000);
      const done = r.agent.finished()[0]!;
      expect(done.payload).toEqual({ playback_position: pcm.length / TTS_RATE, interrupted: false });
      // Played in real time, not in the second the agent took to send it.
      expect((done.at - t0) / 1000).toBeGreaterThan(pcm.length / TTS_RATE);
      await new Promise((res) => setTimeout(res, 300));
      const { pcm: got } = heard(r.viewer.audio, t0);
      expectSameLength(loudSpan(got, TRACK_RATE), loudSpan(pcm, TTS_RATE));
      const frames = r.viewer.video.filter((f) => f.at >= t0 && f.at <= done.at);
      expect(frames.length).toBeGreaterThanOrEqual(0.95 * 25 * ((done.at - t0) / 1000));
    } finally {
    }
  });

  it("barge-in: clear_buffer stops speech and sound at once, answers playback_finished interrupted, and idles", async () => {
    const r = await setupRoom(lk, rpc, ref);
    try {
      await until(() => r.viewer.has() && r.viewer.video.length > 50, "idle frames");
      const idleBefore = r.viewer.video.slice(-25);
      const pcm = speech("demo-congrats");
      const stop = new AbortController();
      const sending = r.agent.say(r.avatarIdentity, pcm, TTS_RATE, { realtime: true, signal: stop.signal });
      await until(() => r.agent.reports.some((x) => x.method === "lk.playback_started"), "lk.playback_started", 15_000);
      await new Promise((res) => setTimeout(res, 1500));
      const clearedAt = performance.now();
      expect(await r.agent.clearBuffer(r.avatarIdentity)).toBe("ok");
      await until(() => r.agent.finished().length > 0, "lk.playback_finished after clear_buffer", 2000);
      const finished = r.agent.finished()[0]!;
      expect(finished.payload.interrupted).toBe(true);
      expect(finished.payload.playback_position).toBeGreaterThan(1);
      expect(finished.payload.playback_position).toBeLessThan(4);
      // The agent's stream goes on a little after its clear_buffer (it stops its TTS): dropped.
      await new Promise((res) => setTimeout(res, 200));
      stop.abort();
      await sending;
      await new Promise((res) => setTimeout(res, 800));
      const isSpeech = classifier(r, idleBefore);
      const afterClear = r.viewer.video.filter((f) => f.at > clearedAt);
      const firstIdle = afterClear.find((f) => !isSpeech(f));
      expect(firstIdle).toBeDefined();
      expect(firstIdle!.at - clearedAt).toBeLessThan(500);
      expect(afterClear.filter((f) => f.at > firstIdle!.at && isSpeech(f))).toEqual([]);
      const { pcm: later } = heard(r.viewer.audio, clearedAt + 300);
      expect(loudSpan(later, TRACK_RATE)).toBe(0);
      expect(r.agent.finished()).toHaveLength(1);
    } finally {
      await r.close();
    }
  });
});
