/**
 * The player's side of the conversation with the server. Over RPC it fetches the avatar (its
 * frame rate, size and every source frame, for the idle loop and for mouth patches); over one
 * WebSocket session, opened at the rate of the audio being sent, it streams utterances (a clip,
 * a pushed stream or the microphone) in chunks. Each utterance starts sounding, on the media
 * clock, when its first frame arrives; its frames are decoded into the stage's queue. When the
 * server goes away the avatar is loaded again with growing delays until it answers.
 */
import { createLipSyncClient, LipSyncSocket, socketUrl, type FrameData, type LipSyncClient, type SpeechEvent } from "@lipsync/client";
import { decodeAudio, fromPcm16, mono, toPcm16 } from "./audio-output.js";
import { CLOCK_RATE, DEFAULT_SAMPLES_PER_FRAME } from "./clock.js";
import { JitterEstimator } from "./jitter-buffer.js";
import type { MediaClock } from "./media-clock.js";
import { Microphone } from "./microphone.js";
import type { PerfMonitor } from "./perf.js";
import type { FrameQueue, OnStage } from "./stage.js";

/** Audio goes to the server in chunks of this length, seconds. */
const CHUNK_SECONDS = 0.1;
/** Retries after a failure wait this long at first, doubling up to the most, ms. */
const RECONNECT_FIRST_MS = 500;
const RECONNECT_MAX_MS = 8000;
/** Source frames fetched at once while loading the avatar. */
const SOURCE_FRAMES_AT_ONCE = 16;
/** What the player assumes of an avatar whose metadata does not say (and the canvas before any avatar). */
export const DEFAULT_FRAME_SIZE = 512;
const DEFAULT_LOOKAHEAD_FRAMES = 2;
/** A chunk scheduled this much later than the last one ended means the stream ran dry, seconds. */
const LATE_CHUNK_S = 0.002;

/** Where to connect: the element's attributes, read at the moment they are needed. */
export interface ServerTarget {
  readonly server: string;
  readonly avatar: string;
  readonly token: string;
}

/** The avatar as the stage needs it. */
export interface AvatarMedia {
  frames: ImageBitmap[];
  width: number;
  height: number;
}

export interface ConnectionEvents {
  /** Loading (or reloading) the avatar began. */
  loading(): void;
  ready(avatar: AvatarMedia): void;
  /** Something failed: a load (retried by itself), the connection, or a call in progress. */
  error(err: unknown): void;
  /** The utterance was cleared before its end (barge-in, or the connection was lost). */
  interrupted(at: number): void;
}

interface Utterance extends OnStage {
  rate: number;
  startPts: number | undefined;
  endPts: number | undefined;
  audioStart: number | undefined;
  /** Samples waiting for audioStart. */
  pending: Float32Array[];
  scheduledSamples: number;
  /** Microphone audio: sent and timed, but not played back (no echo). */
  silent: boolean;
  /** (cumulative samples sent, performance.now()) for latency figures. */
  sent: { samples: number; at: number }[];
  sentSamples: number;
  lookaheadSamples: number;
  /** performance.now() of its first frame. */
  firstArrival: number | undefined;
}

export class PlayerConnection {
  private client: LipSyncClient | undefined;
  private socket: LipSyncSocket | undefined;
  private sessionRate: number | undefined;
  private connecting: Promise<LipSyncSocket> | undefined;
  private current: Utterance | undefined;
  private mic: Microphone | undefined;
  private readonly jitter = new JitterEstimator();
  private reconnectDelay = RECONNECT_FIRST_MS;
  private reconnectTimer: number | undefined;
  /** Bumped by every load: an older load that finishes late is ignored. */
  private loadGeneration = 0;
  private lookaheadFrames = DEFAULT_LOOKAHEAD_FRAMES;

  constructor(
    private readonly target: ServerTarget,
    private readonly clock: MediaClock,
    /** The stage's queue; its samplesPerFrame is the avatar's frame length on the 16 kHz clock. */
    private readonly frames: FrameQueue,
    private readonly monitor: PerfMonitor,
    private readonly events: ConnectionEvents,
  ) {}

  /** The utterance being spoken, if any. */
  get utterance(): OnStage | undefined {
    return this.current;
  }

  /** Loads the avatar (again), dropping the session: on failure it retries by itself. */
  async load(): Promise<void> {
    const generation = ++this.loadGeneration;
    this.events.loading();
    this.socket?.close();
    this.socket = undefined;
    this.sessionRate = undefined;
    try {
      this.client = createLipSyncClient({ baseUrl: this.baseUrl(), ...(this.target.token ? { token: this.target.token } : {}) });
      const info = await this.client.getAvatar(this.target.avatar);
      const count = info.avatar?.frameCount ?? 0;
      this.lookaheadFrames = info.avatar?.model?.lookaheadFrames ?? DEFAULT_LOOKAHEAD_FRAMES;
      this.setSamplesPerFrame(info.avatar?.fps ? CLOCK_RATE / info.avatar.fps : DEFAULT_SAMPLES_PER_FRAME);
      const width = info.avatar?.width ?? DEFAULT_FRAME_SIZE;
      const height = info.avatar?.height ?? DEFAULT_FRAME_SIZE;
      const frames: ImageBitmap[] = new Array(count);
      for (let i = 0; i < count; i += SOURCE_FRAMES_AT_ONCE) {
        await Promise.all(Array.from({ length: Math.min(SOURCE_FRAMES_AT_ONCE, count - i) }, async (_, k) => {
          const f = await this.client!.sourceFrame(this.target.avatar, i + k);
          frames[i + k] = await createImageBitmap(new Blob([f.image as Uint8Array<ArrayBuffer>], { type: "image/jpeg" }));
        }));
      }
      if (generation !== this.loadGeneration) return;
      this.reconnectDelay = RECONNECT_FIRST_MS;
      this.events.ready({ frames, width, height });
    } catch (err) {
      if (generation !== this.loadGeneration) return;
      this.events.error(err);
      this.scheduleReload();
    }
  }

  /** Speaks a clip: a Blob, an ArrayBuffer of an encoded file, an AudioBuffer or a URL. */
  async speak(audio: Blob | ArrayBuffer | AudioBuffer | string): Promise<void> {
    const ctx = await this.clock.audio();
    const buffer = await decodeAudio(ctx, audio);
    const samples = mono(buffer);
    const socket = await this.session(buffer.sampleRate);
    const u = this.beginUtterance(buffer.sampleRate, false);
    const chunk = Math.round(buffer.sampleRate * CHUNK_SECONDS);
    for (let i = 0; i < samples.length; i += chunk) this.send(socket, u, samples.subarray(i, i + chunk));
    socket.end();
  }

  /** One chunk of a live stream; it continues the open utterance at the same rate, or starts one. */
  async pushAudio(chunk: Float32Array | Int16Array | Uint8Array, sampleRate: number): Promise<void> {
    await this.clock.audio();
    const samples = chunk instanceof Float32Array ? chunk : chunk instanceof Int16Array
      ? Float32Array.from(chunk, (v) => v / 32768) : fromPcm16(chunk);
    const socket = await this.session(sampleRate);
    const u = this.current && this.current.endPts === undefined && this.current.rate === sampleRate ? this.current : this.beginUtterance(sampleRate, false);
    this.send(socket, u, samples);
  }

  /** The end of a pushed stream: the server renders its tail. */
  end(): void {
    this.socket?.end();
  }

  /** Barge-in: silence, unplayed frames dropped, and back to the idle loop at once. */
  clear(): void {
    this.socket?.clear();
    this.clock.output?.stop();
    const now = this.clock.now();
    this.clock.holdAt(now);
    this.frames.drop(this.clock.ptsAt(now));
    if (this.current) {
      this.current = undefined;
      this.events.interrupted(this.clock.audioTime);
    }
  }

  /** The stage presented the end of `u`. */
  finished(u: OnStage): void {
    if (this.current === u) this.current = undefined;
  }

  async startMicrophone(): Promise<void> {
    const ctx = await this.clock.audio();
    if (this.mic?.active) return;
    const socket = await this.session(ctx.sampleRate);
    this.mic = new Microphone(ctx, (samples) => {
      const u = this.current && this.current.endPts === undefined ? this.current : this.beginUtterance(ctx.sampleRate, true);
      this.send(socket, u, samples);
    });
    await this.mic.start();
  }

  stopMicrophone(): void {
    if (!this.mic) return;
    this.mic.stop();
    this.mic = undefined;
    this.end();
  }

  /** The element left the page: no retries, no microphone, no socket. */
  close(): void {
    clearTimeout(this.reconnectTimer);
    this.mic?.stop();
    this.socket?.close();
  }

  // ---------------------------------------------------------------- connection

  private baseUrl(): string {
    return this.target.server || location.origin;
  }

  private setSamplesPerFrame(spf: number): void {
    if (Number.isInteger(spf) && spf > 0) this.frames.samplesPerFrame = spf;
  }

  private scheduleReload(): void {
    clearTimeout(this.reconnectTimer);
    this.reconnectTimer = window.setTimeout(() => void this.load(), this.reconnectDelay);
    this.reconnectDelay = Math.min(RECONNECT_MAX_MS, this.reconnectDelay * 2);
  }

  /** The WebSocket session at `rate`, (re)connecting if needed. */
  private async session(rate: number): Promise<LipSyncSocket> {
    if (this.socket && !this.socket.closed && this.sessionRate === rate) return this.socket;
    if (this.connecting && this.sessionRate === rate) return this.connecting;
    this.socket?.close();
    this.sessionRate = rate;
    this.connecting = (async () => {
      const socket = await LipSyncSocket.connect({ url: socketUrl(this.baseUrl()), ...(this.target.token ? { token: this.target.token } : {}) });
      socket.onEvent((e) => this.onEvent(e));
      socket.onClose((e) => {
        if (this.socket !== socket) return;
        this.socket = undefined;
        if (e.code !== 1000) {
          this.events.error(new Error(e.reason ? `connection closed: ${e.reason}` : "connection to the server was lost"));
          this.clear();
          this.scheduleReload();
        }
      });
      // Mouth patches: the player already holds every source frame, so the server encodes and
      // sends only the mouth region (a tenth of the bytes and of its JPEG work).
      const started = await socket.start({ avatar: this.target.avatar, sampleRate: rate, patch: true });
      if (started.samplesPerFrame > 0) this.setSamplesPerFrame(started.samplesPerFrame);
      // The server's session clock starts now: anchor pts 0 here, continuing the idle walk.
      this.clock.setAnchor(0, this.clock.now());
      this.socket = socket;
      return socket;
    })();
    try {
      return await this.connecting;
    } finally {
      this.connecting = undefined;
    }
  }

  // ---------------------------------------------------------------- utterances

  private beginUtterance(rate: number, silent: boolean): Utterance {
    if (this.current) this.clear();
    this.current = {
      rate, startPts: undefined, endPts: undefined, audioStart: undefined, pending: [], scheduledSamples: 0, silent,
      sent: [], sentSamples: 0, startedEvent: false, lookaheadSamples: (this.lookaheadFrames + 1) * this.frames.samplesPerFrame, firstArrival: undefined,
    };
    this.monitor.firstFrameMs = undefined;
    return this.current;
  }

  private send(socket: LipSyncSocket, u: Utterance, samples: Float32Array): void {
    socket.pushAudio(toPcm16(samples));
    u.sentSamples += samples.length;
    u.sent.push({ samples: (u.sentSamples * CLOCK_RATE) / u.rate, at: performance.now() });
    if (u.audioStart === undefined) u.pending.push(samples);
    else this.play(u, samples);
  }

  private play(u: Utterance, samples: Float32Array): void {
    const out = this.clock.output!;
    const expected = out.scheduledUntil;
    const at = out.schedule(samples, u.rate, u.silent);
    if (at > expected + LATE_CHUNK_S && u.startPts !== undefined) {
      // The stream ran dry and this chunk starts late: move the clock with the sound.
      this.clock.setAnchor(u.startPts + (u.scheduledSamples * CLOCK_RATE) / u.rate, at);
    }
    u.scheduledSamples += samples.length;
  }

  // ---------------------------------------------------------------- server events

  private onEvent(e: SpeechEvent): void {
    const u = this.current;
    switch (e.type) {
      case "speech-started":
        if (u) u.startPts = e.pts;
        return;
      case "speech-ended":
        if (u && u.startPts === e.startPts) u.endPts = e.endPts;
        return;
      case "frame":
        if (e.frame.kind === "speech" && u) this.onSpeechFrame(u, e.frame);
        return;
      default:
        return;
    }
  }

  private onSpeechFrame(u: Utterance, frame: FrameData): void {
    const arrival = performance.now();
    if (u.startPts === undefined) u.startPts = frame.pts;
    const rel = frame.pts - u.startPts;
    // Latency: from sending the audio this frame needed to its arrival.
    const needed = rel + u.lookaheadSamples;
    const sent = u.sent.find((s) => s.samples >= needed) ?? u.sent[u.sent.length - 1];
    if (sent) this.monitor.latency.add(arrival - sent.at);
    while (u.sent.length > 1 && u.sent[1]!.samples < needed) u.sent.shift();
    this.monitor.received.tick(arrival);
    u.firstArrival ??= arrival;
    this.jitter.add((arrival - u.firstArrival) / 1000 - rel / CLOCK_RATE);
    if (frame.timings) {
      this.monitor.server.inference.add(frame.timings.inferenceMs);
      this.monitor.server.composite.add(frame.timings.compositeMs);
      this.monitor.server.encode.add(frame.timings.encodeMs);
      this.monitor.server.total.add(frame.timings.totalMs);
      this.monitor.server.batch.add(frame.timings.batchSize);
    }
    if (u.audioStart === undefined) {
      // First frame: start sound and picture together after the jitter allowance.
      const start = this.clock.now() + this.jitter.delay();
      u.audioStart = start;
      this.clock.output!.begin(start);
      this.clock.setAnchor(u.startPts, start);
      this.monitor.firstFrameMs = u.sent.length ? arrival - u.sent[0]!.at : undefined;
      for (const chunk of u.pending.splice(0)) this.play(u, chunk);
    }
    const image = new Blob([frame.image as Uint8Array<ArrayBuffer>], { type: frame.format === "jpeg" ? "image/jpeg" : "application/octet-stream" });
    void createImageBitmap(image).then((bitmap) => {
      if (this.current !== u || !this.frames.push(frame.pts, { bitmap, frame })) bitmap.close();
    }, () => undefined);
  }
}
