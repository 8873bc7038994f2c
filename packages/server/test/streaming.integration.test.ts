import { Code, ConnectError } from "@connectrpc/connect";
import { createLipSyncClient, LipSyncSocket, type SpeechEvent } from "@lipsync/client/node";
import { WebSocket } from "ws";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { encodeWav } from "../src/audio/wav.js";
import type { RunningServer } from "../src/server.js";
import { speechLikePcm, testServer } from "./harness.js";
import { until } from "./wait.js";

let server: RunningServer;
let wsUrl: string;

beforeAll(async () => {
  server = await testServer();
  wsUrl = server.url.replace("http", "ws") + "/ws";
});

afterAll(() => server?.close());

function pcm16ToFloat(pcm: Uint8Array): Float32Array {
  const v = new DataView(pcm.buffer, pcm.byteOffset, pcm.byteLength);
  return Float32Array.from({ length: pcm.byteLength / 2 }, (_, i) => v.getInt16(i * 2, true) / 32768);
}

/** Checks an utterance's frames: ceil(samples/640) of them, pts stepping by exactly 640. */
function expectContinuous(events: SpeechEvent[], samples16k: number): void {
  const frames = events.flatMap((e) => (e.type === "frame" && e.frame.kind === "speech" ? [e.frame] : []));
  expect(frames.length).toBe(Math.ceil(samples16k / 640));
  frames.forEach((f, i) => expect(f.pts - frames[0]!.pts).toBe(i * 640));
  const ended = events.find((e) => e.type === "speech-ended");
  expect(ended).toMatchObject({ interrupted: false, endPts: frames[0]!.pts + frames.length * 640 });
}

async function collect(it: AsyncIterable<SpeechEvent>, until?: (e: SpeechEvent) => boolean): Promise<SpeechEvent[]> {
  const out: SpeechEvent[] = [];
  for await (const e of it) {
    out.push(e);
    if (until?.(e)) break;
  }
  return out;
}

describe("Speak (bidirectional)", () => {
  for (const protocol of ["grpc", "connect"] as const) {
    it(`streams 24 kHz chunks in, lip-synced frames out over ${protocol}`, async () => {
      const c = createLipSyncClient({ baseUrl: server.url, protocol, httpVersion: "2" });
      const s = c.speak({ avatar: "demo", audio: { encoding: "pcm_s16le", sampleRate: 24000 } });
      const pcm = speechLikePcm(1.3, 24000);
      for (let i = 0; i < pcm.length; i += 960) s.pushAudio(pcm.subarray(i, i + 960));
      s.end();
      const events = await collect(s.events, (e) => e.type === "playback-finished");
      s.close();
      expect(events[0]!.type).toBe("started");
      // The clock runs in real time between utterances: speech starts at a frame boundary.
      const first = events.find((e) => e.type === "frame");
      expect(events[1]).toMatchObject({ type: "speech-started", pts: first?.type === "frame" ? first.frame.pts : -1 });
      expect((events[1] as { pts: number }).pts % 640).toBe(0);
      expectContinuous(events, Math.ceil((pcm.length / 2) * 16000 / 24000));
      const frame = events.find((e) => e.type === "frame")!;
      expect(frame.type === "frame" && frame.frame.timings!.inferenceMs).toBeGreaterThan(0);
    });
  }

  it("returns to idle at once on clear (barge-in) and reports the interruption", async () => {
    const c = createLipSyncClient({ baseUrl: server.url, protocol: "grpc" });
    const s = c.speak({ avatar: "demo", audio: { encoding: "pcm_s16le", sampleRate: 16000 }, continuous: true });
    s.pushAudio(speechLikePcm(4));
    const events: SpeechEvent[] = [];
    let cleared = false;
    for await (const e of s.events) {
      events.push(e);
      if (!cleared && e.type === "frame" && e.frame.kind === "speech" && e.frame.pts >= 640 * 5) {
        s.clear();
        cleared = true;
      }
      if (cleared && e.type === "frame" && e.frame.kind === "idle") break;
    }
    s.close();
    const ended = events.find((e) => e.type === "speech-ended");
    expect(ended).toMatchObject({ interrupted: true });
    const finished = events.find((e) => e.type === "playback-finished");
    expect(finished).toMatchObject({ interrupted: true });
    // After the marker only idle frames follow, continuing the pts of the stream.
    const after = events.slice(events.indexOf(ended!) + 1).filter((e) => e.type === "frame");
    expect(after.every((e) => e.type === "frame" && e.frame.kind === "idle")).toBe(true);
    const speechPts = events.flatMap((e) => (e.type === "frame" && e.frame.kind === "speech" ? [e.frame.pts] : []));
    const firstIdle = after[0]!;
    expect(firstIdle.type === "frame" && firstIdle.frame.pts).toBe(speechPts.at(-1)! + 640);
  });

  it("answers bad input with status codes and stays healthy", async () => {
    const c = createLipSyncClient({ baseUrl: server.url, protocol: "grpc" });
    const code = async (run: (s: ReturnType<typeof c.speak>) => void, audio: { encoding: "pcm_s16le" | "pcm_f32le"; sampleRate: number } = { encoding: "pcm_s16le", sampleRate: 16000 }) => {
      const s = c.speak({ avatar: "demo", audio });
      run(s);
      try {
        await collect(s.events);
        return undefined;
      } catch (err) {
        return ConnectError.from(err).code;
      }
    };
    expect(await code((s) => s.close(), { encoding: "pcm_s16le", sampleRate: 4000 })).toBe(Code.InvalidArgument);
    expect(await code((s) => s.close(), { encoding: "pcm_s16le", sampleRate: 384000 })).toBe(Code.InvalidArgument);
    expect(await code((s) => { s.pushAudio(new Uint8Array(3)); s.close(); })).toBe(Code.InvalidArgument);
    const nan = new Float32Array([0.1, Number.NaN, 0.2, 0.3]);
    expect(await code((s) => { s.pushAudio(new Uint8Array(nan.buffer)); s.close(); }, { encoding: "pcm_f32le", sampleRate: 16000 })).toBe(Code.InvalidArgument);
    expect(await code((s) => { s.pushAudio(new Uint8Array(2 * 1024 * 1024)); s.close(); })).toBe(Code.ResourceExhausted);
    // A neighbour session still works and the server answers; no session is left behind.
    await expect.poll(async () => (await c.stats()).activeSessions, { timeout: 5000 }).toBe(0);
    const ok = c.speak({ avatar: "demo", audio: { encoding: "pcm_s16le", sampleRate: 16000 } });
    ok.pushAudio(speechLikePcm(0.2));
    ok.end();
    ok.close();
    expectContinuous(await collect(ok.events), 3200);
  });

  it("keeps two concurrent sessions apart", async () => {
    const c = createLipSyncClient({ baseUrl: server.url, protocol: "grpc" });
    const run = async (seconds: number, rate: number) => {
      const s = c.speak({ avatar: "demo", audio: { encoding: "pcm_s16le", sampleRate: rate } });
      const pcm = speechLikePcm(seconds, rate);
      for (let i = 0; i < pcm.length; i += rate / 25) s.pushAudio(pcm.subarray(i, i + rate / 25));
      s.end();
      const events = await collect(s.events, (e) => e.type === "playback-finished");
      s.close();
      return { events, samples16k: Math.ceil((pcm.length / 2) * 16000 / rate) };
    };
    const [a, b] = await Promise.all([run(1.1, 16000), run(0.7, 44100)]);
    expectContinuous(a.events, a.samples16k);
    expectContinuous(b.events, b.samples16k);
  });

  it("refuses a missing format, a second config and an empty message", async () => {
    const { create } = await import("@bufbuild/protobuf");
    const { SpeakRequestSchema } = await import("@lipsync/proto");
    const c = createLipSyncClient({ baseUrl: server.url, protocol: "grpc" });
    const config = create(SpeakRequestSchema, { message: { case: "config", value: { avatar: "demo", audioFormat: { encoding: 1, sampleRate: 16000, channels: 1 } } } });
    const call = async (messages: ReturnType<typeof create<typeof SpeakRequestSchema>>[]) => {
      async function* reqs() {
        yield* messages;
      }
      try {
        for await (const _ of c.rpc.speak(reqs())) void _;
        return undefined;
      } catch (err) {
        const e = ConnectError.from(err);
        return { code: e.code, message: e.rawMessage };
      }
    };
    expect(await call([create(SpeakRequestSchema, { message: { case: "config", value: { avatar: "demo" } } })])).toMatchObject({ code: Code.InvalidArgument, message: expect.stringMatching(/audio_format/) });
    expect(await call([config, config])).toMatchObject({ code: Code.InvalidArgument, message: expect.stringMatching(/only once/) });
    expect(await call([config, create(SpeakRequestSchema, {})])).toMatchObject({ code: Code.InvalidArgument, message: expect.stringMatching(/empty or unknown/) });
  });

  it("refuses audio before config and an unknown avatar", async () => {
    const { create } = await import("@bufbuild/protobuf");
    const { SpeakRequestSchema } = await import("@lipsync/proto");
    const c = createLipSyncClient({ baseUrl: server.url, protocol: "grpc" });
    async function* audioFirst() {
      yield create(SpeakRequestSchema, { message: { case: "audio", value: { data: new Uint8Array(64) } } });
    }
    await expect((async () => { for await (const _ of c.rpc.speak(audioFirst())) void _; })()).rejects.toMatchObject({ code: Code.InvalidArgument });
    const s = c.speak({ avatar: "ghost", audio: { encoding: "pcm_s16le", sampleRate: 16000 } });
    s.close();
    await expect(collect(s.events)).rejects.toMatchObject({ code: Code.NotFound });
  });
});

describe("SpeakAudio (one clip, server stream)", () => {
  for (const protocol of ["connect", "grpc-web"] as const) {
    it(`turns a WAV clip into frames over ${protocol}`, async () => {
      const c = createLipSyncClient({ baseUrl: server.url, protocol });
      const pcm = speechLikePcm(0.9, 22050);
      const wav = encodeWav(pcm16ToFloat(pcm), 22050);
      const events = await collect(c.speakAudio("demo", wav));
      expect(events[0]!.type).toBe("started");
      expectContinuous(events, Math.ceil((pcm.length / 2) * 16000 / 22050));
      expect(events.at(-1)!.type).toBe("speech-ended");
    });
  }
});

describe("WebSocket /ws", () => {
  it("runs a session with binary audio and binary frames", async () => {
    const sock = await LipSyncSocket.connect({ url: wsUrl, WebSocket: WebSocket as never });
    const events: SpeechEvent[] = [];
    const done = new Promise<void>((resolve) => sock.onEvent((e) => {
      events.push(e);
      if (e.type === "playback-finished") resolve();
    }));
    await sock.start({ avatar: "demo", sampleRate: 48000 });
    const pcm = speechLikePcm(0.7, 48000);
    for (let i = 0; i < pcm.length; i += 4800) sock.pushAudio(pcm.subarray(i, i + 4800));
    sock.end();
    await done;
    sock.close();
    expectContinuous(events, Math.ceil((pcm.length / 2) / 3));
    const f = events.find((e) => e.type === "frame");
    expect(f?.type === "frame" && f.frame.timings!.totalMs).toBeGreaterThan(0);
  });

  it("sends mouth patches when asked, placed by their mouth box", async () => {
    const sock = await LipSyncSocket.connect({ url: wsUrl, WebSocket: WebSocket as never });
    const frames: SpeechEvent[] = [];
    const done = new Promise<void>((resolve) => sock.onEvent((e) => {
      if (e.type === "frame") frames.push(e);
      if (e.type === "speech-ended") resolve();
    }));
    await sock.start({ avatar: "demo", sampleRate: 16000, patch: true });
    sock.pushAudio(speechLikePcm(0.4));
    sock.end();
    await done;
    sock.close();
    expect(frames.length).toBe(10);
    for (const e of frames) {
      if (e.type !== "frame") continue;
      expect(e.frame.patch).toBe(true);
      expect([e.frame.width, e.frame.height]).toEqual([e.frame.mouthBox!.width, e.frame.mouthBox!.height]);
      expect([...e.frame.image.subarray(0, 2)]).toEqual([0xff, 0xd8]);
    }
  });

  it("runs a session with JSON messages only, and answers the seed's requests", async () => {
    const ws = new WebSocket(wsUrl);
    const messages: Record<string, any>[] = [];
    /** The first unread message of `type`, once it is there. */
    const next = async (type: string) => {
      await until(() => messages.some((m) => m.type === type), `a "${type}" message`, 30_000);
      return messages.splice(messages.findIndex((m) => m.type === type), 1)[0]!;
    };
    ws.on("message", (d) => messages.push(JSON.parse(d.toString())));
    await new Promise((r) => ws.once("open", r));
    ws.send(JSON.stringify({ type: "list_models" }));
    expect((await next("models")).models.loaded_models).toContain("demo");
    ws.send(JSON.stringify({ type: "get_metadata", model_name: "demo" }));
    expect((await next("metadata")).frame_count).toBe(125);
    ws.send(JSON.stringify({ type: "get_video_frame", model_name: "demo", frame_id: 4, video_type: "face_regions" }));
    expect((await next("video_frame")).width).toBe(128);
    ws.send(JSON.stringify({ model_name: "demo", frame_id: 9, request_id: "a1" }));
    const inf = await next("inference");
    expect(inf).toMatchObject({ success: true, frame_id: 9, request_id: "a1" });
    expect(Buffer.from(inf.prediction_data, "base64").subarray(0, 2)).toEqual(Buffer.from([0xff, 0xd8]));
    ws.send(JSON.stringify({ model_name: "demo", batch_frames: [{ frame_id: 1 }, { frame_id: 2 }] }));
    expect((await next("batch")).batch_size).toBe(2);
    ws.send(JSON.stringify({ model_name: "demo", frame_id: 500 }));
    expect((await next("error")).code).toBe("invalid_argument");
    ws.send(JSON.stringify({ type: "get_stats" }));
    expect((await next("stats")).total_requests).toBeGreaterThan(0);

    ws.send(JSON.stringify({ type: "start", avatar: "demo", sample_rate: 16000, encoding: "pcm_s16le" }));
    expect((await next("started")).samples_per_frame).toBe(640);
    const pcm = speechLikePcm(0.5);
    ws.send(JSON.stringify({ type: "audio", data: Buffer.from(pcm).toString("base64") }));
    ws.send(JSON.stringify({ type: "end" }));
    const ended = await next("speech_ended");
    ws.close();
    const frames = messages.filter((m) => m.type === "frame");
    expect(frames.length).toBe(Math.ceil(8000 / 640));
    frames.forEach((f, i) => expect(f.pts).toBe(frames[0].pts + i * 640));
    expect(ended.end_pts).toBe(frames[0].pts + frames.length * 640);
  });

  const closeOf = async (send: (ws: WebSocket) => void) => {
    const ws = new WebSocket(wsUrl);
    await new Promise((r) => ws.once("open", r));
    const closed = new Promise<{ code: number; reason: string }>((resolve) => ws.once("close", (code, reason) => resolve({ code, reason: reason.toString() })));
    send(ws);
    return closed;
  };

  it("closes with a code and a reason on protocol violations, and stays healthy", async () => {
    expect(await closeOf((ws) => ws.send("{ nope"))).toMatchObject({ code: 4400, reason: expect.stringMatching(/not valid JSON/) });
    expect(await closeOf((ws) => ws.send(JSON.stringify({ type: "dance" })))).toMatchObject({ code: 4400, reason: expect.stringMatching(/unknown message type/) });
    expect(await closeOf((ws) => ws.send(Buffer.from([0x01, 1, 2, 3, 4])))).toMatchObject({ code: 4412, reason: expect.stringMatching(/before "start"/) });
    expect(await closeOf((ws) => ws.send(Buffer.from([0x02, 0, 0, 0, 0, 50, 0, 100])))).toMatchObject({ code: 4400, reason: expect.stringMatching(/truncated/) });
    expect(await closeOf((ws) => ws.send(Buffer.from([0x7e])))).toMatchObject({ code: 4400, reason: expect.stringMatching(/unknown binary message type/) });
    expect(await closeOf((ws) => {
      ws.send(JSON.stringify({ type: "start", avatar: "demo", sample_rate: 16000 }));
      ws.send(JSON.stringify({ type: "start", avatar: "demo", sample_rate: 16000 }));
    })).toMatchObject({ code: 4400, reason: expect.stringMatching(/already started/) });
    expect(await closeOf((ws) => {
      ws.send(JSON.stringify({ type: "start", avatar: "demo", sample_rate: 16000 }));
      ws.send(Buffer.from([0x01, 1, 2, 3]));
    })).toMatchObject({ code: 4400, reason: expect.stringMatching(/whole number/) });
    expect(await closeOf((ws) => ws.send(JSON.stringify({ type: "start", avatar: "ghost", sample_rate: 16000 })))).toMatchObject({ code: 4404 });
    expect(await closeOf((ws) => ws.send(JSON.stringify({ type: "start", avatar: "demo", sample_rate: 7000 })))).toMatchObject({ code: 4400 });
    const c = createLipSyncClient({ baseUrl: server.url, protocol: "connect" });
    expect((await c.listAvatars()).length).toBeGreaterThan(0);
    await expect.poll(async () => (await c.stats()).activeSessions, { timeout: 5000 }).toBe(0);
  });
});
