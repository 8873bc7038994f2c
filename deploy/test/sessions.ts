/**
 * Live lip-sync sessions as a load balancer's clients open them: a WebSocket (/ws, binary
 * frames) or a gRPC Speak stream, both asking for mouth patches. Each records every speech frame
 * of every utterance, so a test can tell that none was lost, and how the session ended.
 */
import { Code, ConnectError } from "@connectrpc/connect";
import { createLipSyncClient } from "@lipsync/client/node";
import { WebSocket } from "ws";

const RATE = 16_000;
/** Samples per video frame at 25 fps. */
export const SAMPLES_PER_FRAME = 640;

export interface Utterance {
  /** pts of the speech frames received, in order. */
  pts: number[];
  /** Frames the server said it dropped. */
  dropped: number;
  startPts: number;
  endPts: number;
  interrupted: boolean;
}

/** A refusal: the close code (WebSocket) or status (gRPC), and the retry hint in seconds. */
export interface Refusal {
  code: number;
  retryAfterSeconds: number | undefined;
  message: string;
}

export interface LiveSession {
  kind: "ws" | "grpc";
  /**
   * Sends `seconds` of speech-like audio, in real time (a chunk every 100 ms, as a microphone or
   * a live TTS would) or all at once, then `end`; resolves with the utterance once it finished.
   */
  speak(seconds: number, pace: "realtime" | "burst"): Promise<Utterance>;
  /** Speech frames of the running utterance received so far. */
  received(): number;
  /** How the session ended: a WebSocket close code, or "ok" / a gRPC status code. */
  ended: Promise<{ code: number | "ok"; reason: string }>;
  close(): void;
}

/** 16-bit PCM of a buzzy vowel at syllable rate: speech to the model. */
function speechPcm(seconds: number): Buffer {
  const n = Math.round(seconds * RATE);
  const out = Buffer.alloc(n * 2);
  for (let i = 0; i < n; i++) {
    const t = i / RATE;
    const env = 0.5 + 0.5 * Math.sin(2 * Math.PI * 4 * t);
    let x = 0;
    for (let h = 1; h <= 8; h++) x += Math.sin(2 * Math.PI * 140 * h * t) / h;
    out.writeInt16LE(Math.round(Math.max(-1, Math.min(1, x * env * 0.25)) * 32767), i * 2);
  }
  return out;
}

/** Feeds `pcm` to `push` in 100 ms chunks, paced in real time or all at once; then `end`. */
function feed(pcm: Buffer, pace: "realtime" | "burst", push: (chunk: Buffer) => void, end: () => void): void {
  const chunk = RATE / 10 * 2;
  if (pace === "burst") {
    for (let i = 0; i < pcm.length; i += chunk) push(pcm.subarray(i, i + chunk));
    end();
    return;
  }
  let at = 0;
  const started = performance.now();
  const tick = () => {
    // Chunks due by now (by the clock, not by timer count), so slow timers never slow the audio.
    const due = Math.min(pcm.length, Math.ceil((performance.now() - started) / 100 + 1) * chunk);
    for (; at < due; at += chunk) push(pcm.subarray(at, at + chunk));
    if (at >= pcm.length) end();
    else setTimeout(tick, 20);
  };
  tick();
}

/** Collects one utterance from session events. */
class Collector {
  private current: { pts: number[]; dropped: number; resolve: (u: Utterance) => void; reject: (e: Error) => void; ended?: { startPts: number; endPts: number; interrupted: boolean } } | undefined;

  get received(): number {
    return this.current?.pts.length ?? 0;
  }

  begin(): Promise<Utterance> {
    if (this.current) throw new Error("an utterance is already running");
    return new Promise((resolve, reject) => (this.current = { pts: [], dropped: 0, resolve, reject }));
  }

  frame(pts: number): void {
    this.current?.pts.push(pts);
  }

  dropped(startPts: number, endPts: number): void {
    if (this.current) this.current.dropped += (endPts - startPts) / SAMPLES_PER_FRAME;
  }

  speechEnded(startPts: number, endPts: number, interrupted: boolean): void {
    if (this.current) this.current.ended = { startPts, endPts, interrupted };
  }

  finished(): void {
    const c = this.current;
    if (!c) return;
    this.current = undefined;
    if (!c.ended) return c.reject(new Error("playback finished without speech_ended"));
    c.resolve({ pts: c.pts, dropped: c.dropped, ...c.ended });
  }

  fail(err: Error): void {
    this.current?.reject(err);
    this.current = undefined;
  }
}

/** Opens a WebSocket session at `base` (http://host:port): the session, or the refusal. */
export function openWs(base: string, timeoutMs = 15_000): Promise<LiveSession | Refusal> {
  return new Promise((resolve, reject) => {
    const ws = new WebSocket(`${base.replace(/^http/, "ws")}/ws`);
    const collector = new Collector();
    let retryAfterMs: number | undefined;
    let started = false;
    const timer = setTimeout(() => reject(new Error(`no WebSocket session or refusal in ${timeoutMs} ms`)), timeoutMs);
    const ended = new Promise<{ code: number; reason: string }>((r) => ws.on("close", (code, reason) => {
      collector.fail(new Error(`socket closed (${code}) during an utterance`));
      r({ code, reason: reason.toString() });
    }));
    ws.on("error", () => undefined);
    ws.on("open", () => ws.send(JSON.stringify({ type: "start", avatar: "demo", sample_rate: RATE, frames: "binary", patch: true })));
    ws.on("message", (data, binary) => {
      const buf = data as Buffer;
      if (binary) {
        // FRAME (0x10), kind 1 = speech; pts at offset 12 (docs/protocol.md).
        if (buf[0] === 0x10 && buf[1] === 1) collector.frame(buf.readDoubleLE(12));
        return;
      }
      const m = JSON.parse(buf.toString()) as Record<string, unknown>;
      if (m.type === "started") {
        started = true;
        clearTimeout(timer);
        resolve({
          kind: "ws",
          speak(seconds, pace) {
            const done = collector.begin();
            feed(speechPcm(seconds), pace, (c) => ws.send(Buffer.concat([Buffer.from([0x01]), c])), () => ws.send(JSON.stringify({ type: "end" })));
            return done;
          },
          received: () => collector.received,
          ended,
          close: () => ws.close(),
        });
      } else if (m.type === "error" && typeof m.retry_after_ms === "number") retryAfterMs = m.retry_after_ms;
      else if (m.type === "speech_ended") collector.speechEnded(Number(m.start_pts), Number(m.end_pts), Boolean(m.interrupted));
      else if (m.type === "frames_dropped") collector.dropped(Number(m.start_pts), Number(m.end_pts));
      else if (m.type === "playback_finished") collector.finished();
    });
    void ended.then(({ code, reason }) => {
      if (started) return;
      clearTimeout(timer);
      const hint = /retry in (\d+) s/.exec(reason)?.[1];
      resolve({ code, retryAfterSeconds: retryAfterMs !== undefined ? Math.ceil(retryAfterMs / 1000) : hint ? Number(hint) : undefined, message: reason });
    });
  });
}

/** Opens a gRPC Speak stream at `base` over HTTP/2 cleartext: the session, or the refusal. */
export function openGrpc(base: string, timeoutMs = 15_000): Promise<LiveSession | Refusal> {
  const client = createLipSyncClient({ baseUrl: base, protocol: "grpc" });
  const s = client.speak({ avatar: "demo", audio: { encoding: "pcm_s16le", sampleRate: RATE }, mouthPatch: true });
  const collector = new Collector();
  return new Promise((resolve, reject) => {
    let started = false;
    const timer = setTimeout(() => reject(new Error(`no gRPC session or refusal in ${timeoutMs} ms`)), timeoutMs);
    let settle!: (e: { code: number | "ok"; reason: string }) => void;
    const ended = new Promise<{ code: number | "ok"; reason: string }>((r) => (settle = r));
    const session: LiveSession = {
      kind: "grpc",
      speak(seconds, pace) {
        const done = collector.begin();
        feed(speechPcm(seconds), pace, (c) => s.pushAudio(c), () => s.end());
        return done;
      },
      received: () => collector.received,
      ended,
      close: () => s.close(),
    };
    void (async () => {
      try {
        for await (const e of s.events) {
          if (e.type === "started") {
            started = true;
            clearTimeout(timer);
            resolve(session);
          } else if (e.type === "frame" && e.frame.kind === "speech") collector.frame(e.frame.pts);
          else if (e.type === "frames-dropped") collector.dropped(e.startPts, e.endPts);
          else if (e.type === "speech-ended") collector.speechEnded(e.startPts, e.endPts, e.interrupted);
          else if (e.type === "playback-finished") collector.finished();
        }
        collector.fail(new Error("stream ended during an utterance"));
        settle({ code: "ok", reason: "" });
      } catch (err) {
        const e = ConnectError.from(err);
        collector.fail(new Error(`stream failed (${Code[e.code]}) during an utterance`));
        settle({ code: e.code, reason: e.rawMessage });
        if (started) return;
        clearTimeout(timer);
        const retry = e.metadata.get("retry-after");
        resolve({ code: e.code, retryAfterSeconds: retry === null ? undefined : Number(retry), message: e.rawMessage });
      }
    })();
  });
}

export const isRefusal = (s: LiveSession | Refusal): s is Refusal => "code" in s;
