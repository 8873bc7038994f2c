/**
 * The player's side of the conversation with the server. Over RPC it fetches the avatar (its
 * frame rate, size and every source frame, for the idle loop and for mouth patches); over one
 * WebSocket session, opened at the rate of the audio being sent, it streams utterances (a clip,
 * a pushed stream or the microphone) in chunks. Each utterance starts sounding, on the media
 * clock, when its first frame arrives; its frames are decoded into the stage's queue. When the
 * server goes away the avatar is loaded again with growing delays until it answers.
 */
import { socketUrl, type FrameData, type SpeechEvent } from "@lipsync/client";
import { decodeAudio, fromPcm16, mono, toPcm16 } from "./audio-output.js";
import { CLOCK_RATE, DEFAULT_SAMPLES_PER_FRAME } from "./clock.js";
import { BROWSER, type ConnectionDeps } from "./connection-deps.js";
import { DEFAULT_FRAME_SIZE, PLAYER_DEFAULTS, type PlayerTunables } from "./defaults.js";
import { JitterEstimator } from "./jitter-buffer.js";
import type { MediaClock } from "./media-clock.js";
import { Microphone } from "./microphone.js";
import type { PerfMonitor } from "./perf.js";
import type { FrameQueue, OnStage } from "./stage.js";

type Client = ReturnType<ConnectionDeps["createClient"]>;
type Socket = Awaited<ReturnType<ConnectionDeps["connectSocket"]>>;

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
  private client: Client | undefined;
  private socket: Socket | undefined;
  private sessionRate: number | undefined;
  private connecting: Promise<Socket> | undefined;
  private current: Utterance | undefined;
  private mic: Microphone | undefined;
  private readonly jitter = new JitterEstimator();
  private readonly tune: PlayerTunables;
  private readonly deps: ConnectionDeps;
  private reconnectDelay: number;
  private reconnectTimer: number | undefined;
  /** Bumped by every load: an older load that finishes late is ignored. */
  private loadGeneration = 0;
  private lookaheadFrames: number;

  constructor(
    private readonly target: ServerTarget,
    private readonly clock: MediaClock,
    /** The stage's queue; its samplesPerFrame is the avatar's frame length on the 16 kHz clock. */
    private readonly frames: FrameQueue,
    private readonly monitor: PerfMonitor,
    private readonly events: ConnectionEvents,
    options: { tunables?: Partial<PlayerTunables>; deps?: Partial<ConnectionDeps> } = {},
  ) {
    this.tune = { ...PLAYER_DEFAULTS, ...options.tunables };
    this.deps = { ...BROWSER, ...options.deps };
    this.reconnectDelay = this.tune.reconnectFirstMs;
    this.lookaheadFrames = this.tune.lookaheadFrames;
  }

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
      this.client = this.deps.createClient({ baseUrl: this.baseUrl(), ...(this.target.token ? { token: this.target.token } : {}) });
      const info = await this.client.getAvatar(this.target.avatar);
      const count = info.avatar?.frameCount ?? 0;
      this.lookaheadFrames = info.avatar?.model?.lookaheadFrames ?? this.tune.lookaheadFrames;
      this.setSamplesPerFrame(info.avatar?.fps ? CLOCK_RATE / info.avatar.fps : DEFAULT_SAMPLES_PER_FRAME);
      const width = info.avatar?.width ?? DEFAULT_FRAME_SIZE;
      const height = info.avatar?.height ?? DEFAULT_FRAME_SIZE;
      const frames: ImageBitmap[] = new Array(count);
      const batch = this.tune.sourceFramesAtOnce;
      for (let i = 0; i < count; i += batch) {
        await Promise.all(Array.from({ length: Math.min(batch, count - i) }, async (_, k) => {
          const f = await this.client!.sourceFrame(this.target.avatar, i + k);
          frames[i + k] = await this.deps.decodeImage(f.image, "image/jpeg");
        }));
      }
      if (generation !== this.loadGeneration) return;
      this.reconnectDelay = this.tune.reconnectFirstMs;
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
    const chunk = Math.round(buffer.sampleRate * this.tune.chunkSeconds);
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
    this.deps.clearTimeout(this.reconnectTimer);
    this.mic?.stop();
    this.socket?.close();
  }


  private baseUrl(): string {
    return this.target.server || this.deps.origin();
  }

  private setSamplesPerFrame(spf: number): void {
    if (Number.isInteger(spf) && spf > 0) this.frames.samplesPerFrame = spf;
  }

  private scheduleReload(): void {
    this.deps.clearTimeout(this.reconnectTimer);
    this.reconnectTimer = this.deps.setTimeout(() => void this.load(), this.reconnectDelay);
    this.reconnectDelay = Math.min(this.tune.reconnectMaxMs, this.reconnectDelay * 2);
  }

  /** The WebSocket session at `rate`, (re)connecting if needed. */
  private async session(rate: number): Promise<Socket> {
    if (this.socket && !this.socket.closed && this.sessionRate === rate) return this.socket;
    if (this.connecting && this.sessionRate === rate) return this.connecting;
    this.socket?.close();
    this.sessionRate = rate;
    this.connecting = (async () => {
      const socket = await this.deps.connectSocket({ url: socketUrl(this.baseUrl()), ...(this.target.token ? { token: this.target.token } : {}) });
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


  private beginUtterance(rate: number, silent: boolean): Utterance {
    if (this.current) this.clear();
    this.current = newUtterance(rate, silent, (this.lookaheadFrames + 1) * this.frames.samplesPerFrame);
    this.monitor.firstFrameMs = undefined;
    return this.current;
  }

  private send(socket: Socket, u: Utterance, samples: Float32Array): void {
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
    if (at > expected + this.tune.lateChunkSeconds && u.startPts !== undefined) {
      // The stream ran dry and this chunk starts late: move the clock with the sound.
      this.clock.setAnchor(u.startPts + (u.scheduledSamples * CLOCK_RATE) / u.rate, at);
    }
    u.scheduledSamples += samples.length;
  }


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
    measureArrival(u, frame, arrival, this.monitor, this.jitter);
    if (u.audioStart === undefined) {
      // First frame: start sound and picture together after the jitter allowance.
      const start = this.clock.now() + this.jitter.delay();
      u.audioStart = start;
      this.clock.output!.begin(start);
      this.clock.setAnchor(u.startPts, start);
      this.monitor.firstFrameMs = u.sent.length ? arrival - u.sent[0]!.at : undefined;
      for (const chunk of u.pending.splice(0)) this.play(u, chunk);
    }
    void this.deps.decodeImage(frame.image, frame.format === "jpeg" ? "image/jpeg" : "application/octet-stream").then((bitmap) => {
      if (this.current !== u || !this.frames.push(frame.pts, { bitmap, frame })) bitmap.close();
    }, () => undefined);
  }
}

function newUtterance(rate: number, silent: boolean, lookaheadSamples: number): Utterance {
  return {
    rate, startPts: undefined, endPts: undefined, audioStart: undefined, pending: [], scheduledSamples: 0, silent,
    sent: [], sentSamples: 0, startedEvent: false, lookaheadSamples, firstArrival: undefined,
  };
}

/** A speech frame's arrival in the figures: latency from the audio it needed, jitter, the server's stage times. */
function measureArrival(u: Utterance, frame: FrameData, arrival: number, monitor: PerfMonitor, jitter: JitterEstimator): void {
  const rel = frame.pts - u.startPts!;
  const needed = rel + u.lookaheadSamples;
  const sent = u.sent.find((s) => s.samples >= needed) ?? u.sent[u.sent.length - 1];
  if (sent) monitor.latency.add(arrival - sent.at);
  while (u.sent.length > 1 && u.sent[1]!.samples < needed) u.sent.shift();
  monitor.received.tick(arrival);
  u.firstArrival ??= arrival;
  jitter.add((arrival - u.firstArrival) / 1000 - rel / CLOCK_RATE);
  const t = frame.timings;
  if (t) {
    monitor.server.inference.add(t.inferenceMs);
    monitor.server.composite.add(t.compositeMs);
    monitor.server.encode.add(t.encodeMs);
    monitor.server.total.add(t.totalMs);
    monitor.server.batch.add(t.batchSize);
  }
}
