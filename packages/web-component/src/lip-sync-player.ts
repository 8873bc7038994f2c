/**
 * <lip-sync-player server="http://host:8080" avatar="demo" stats>
 *
 * Plays speech through Web Audio and draws each lip-synced frame when the audio clock reaches
 * its pts: one clock, no second timer. Between utterances it loops the avatar's idle footage on
 * the same clock, so speech starts from the idle frame on screen. Live audio goes over the
 * WebSocket session; the figures overlay (`stats`) shows what the player and the server measure.
 */
import { createLipSyncClient, LipSyncSocket, socketUrl, type FrameData, type LipSyncClient, type SpeechEvent } from "@lipsync/client";
import { html, LitElement, nothing, type PropertyValues } from "lit";
import { AudioOutput, decodeAudio, fromPcm16, mono, toPcm16 } from "./audio-output.js";
import { CLOCK_RATE, DEFAULT_SAMPLES_PER_FRAME, idleIndex, PlaybackClock } from "./clock.js";
import { JitterBuffer, JitterEstimator } from "./jitter-buffer.js";
import { Microphone } from "./microphone.js";
import { drawChart, overlayTemplate, playerStyles } from "./overlay.js";
import { PerfMonitor, type PerfSnapshot } from "./perf.js";

/** Detail of the `frame` event. */
export interface FrameEventDetail {
  pts: number;
  kind: "speech" | "idle";
  sourceIndex: number;
  /** Audio-clock time (s) the frame was drawn at, and the time its pts was due. */
  drawnAt: number;
  dueAt: number;
}

interface Utterance {
  rate: number;
  /** pts of its first frame, once the server said. */
  startPts: number | undefined;
  endPts: number | undefined;
  /** Audio time its first sample sounds at, once the first frame arrived. */
  audioStart: number | undefined;
  /** Samples waiting for audioStart. */
  pending: Float32Array[];
  scheduledSamples: number;
  silent: boolean;
  /** (cumulative samples sent, performance.now()) for latency figures. */
  sent: { samples: number; at: number }[];
  sentSamples: number;
  startedEvent: boolean;
  lookaheadSamples: number;
  /** performance.now() of its first frame. */
  firstArrival: number | undefined;
}

const CHUNK_SECONDS = 0.1;
const RECONNECT_MAX_MS = 8000;

export class LipSyncPlayer extends LitElement {
  static override properties = {
    server: { type: String },
    avatar: { type: String },
    stats: { type: Boolean, reflect: true },
    status: { state: true },
    perf: { state: true },
  };

  static override styles = playerStyles;

  /** Base URL of the lipsync server; defaults to the page's origin. */
  server = "";
  /** Avatar name. */
  avatar = "demo";
  /** Show the performance overlay. */
  stats = false;
  protected status = "starting";
  protected perf: PerfSnapshot | undefined;

  private client: LipSyncClient | undefined;
  private socket: LipSyncSocket | undefined;
  private sessionRate: number | undefined;
  private connecting: Promise<LipSyncSocket> | undefined;
  private idleFrames: ImageBitmap[] = [];
  private frameSize = { width: 512, height: 512 };
  private ctx: AudioContext | undefined;
  private output: AudioOutput | undefined;
  private readonly clock = new PlaybackClock();
  private readonly buffer = new JitterBuffer<{ bitmap: ImageBitmap; frame: FrameData }>();
  private readonly jitter = new JitterEstimator();
  private readonly monitor = new PerfMonitor();
  private utterance: Utterance | undefined;
  private mic: Microphone | undefined;
  private raf = 0;
  private lastDrawn: { kind: "speech" | "idle"; key: number } | undefined;
  private lastStats = 0;
  private reconnectDelay = 500;
  private reconnectTimer: number | undefined;
  private loadGeneration = 0;
  private lookaheadFrames = 2;
  /** The avatar's frame length on the 16 kHz clock: from its fps, then the session's `started`. */
  private samplesPerFrame = DEFAULT_SAMPLES_PER_FRAME;
  private clockSource: "audio" | "wall" = "wall";

  override connectedCallback(): void {
    super.connectedCallback();
    this.raf = requestAnimationFrame(() => this.tick());
  }

  override disconnectedCallback(): void {
    super.disconnectedCallback();
    cancelAnimationFrame(this.raf);
    clearTimeout(this.reconnectTimer);
    this.mic?.stop();
    this.socket?.close();
    void this.ctx?.close();
  }

  protected override updated(changed: PropertyValues): void {
    if (changed.has("server") || changed.has("avatar")) void this.loadAvatar();
  }

  override render() {
    return html`
      <div class="stage">
        <canvas part="canvas" width=${this.frameSize.width} height=${this.frameSize.height}></canvas>
        ${this.status === "ready" ? nothing : html`<div class="placeholder" part="placeholder">${this.status}</div>`}
        ${this.stats && this.perf ? overlayTemplate(this.perf) : nothing}
      </div>`;
  }

  // ---------------------------------------------------------------- public API

  /** Speaks a clip: a Blob, an ArrayBuffer of an encoded file, an AudioBuffer or a URL. */
  async speak(audio: Blob | ArrayBuffer | AudioBuffer | string): Promise<void> {
    try {
      const ctx = await this.audio();
      const buffer = await decodeAudio(ctx, audio);
      const samples = mono(buffer);
      const socket = await this.session(buffer.sampleRate);
      const u = this.beginUtterance(buffer.sampleRate, false);
      for (let i = 0; i < samples.length; i += Math.round(buffer.sampleRate * CHUNK_SECONDS)) {
        this.send(socket, u, samples.subarray(i, i + Math.round(buffer.sampleRate * CHUNK_SECONDS)));
      }
      socket.end();
    } catch (err) {
      this.fail(err);
      throw err;
    }
  }

  /**
   * One chunk of a live stream (a TTS reply, say): Float32 samples in [-1, 1] or 16-bit PCM, at
   * `sampleRate`. Call end() after the last chunk.
   */
  async pushAudio(chunk: Float32Array | Int16Array | Uint8Array, sampleRate = 16000): Promise<void> {
    try {
      await this.audio();
      const samples = chunk instanceof Float32Array ? chunk : chunk instanceof Int16Array
        ? Float32Array.from(chunk, (v) => v / 32768) : fromPcm16(chunk);
      const socket = await this.session(sampleRate);
      const u = this.utterance && this.utterance.endPts === undefined && this.utterance.rate === sampleRate ? this.utterance : this.beginUtterance(sampleRate, false);
      this.send(socket, u, samples);
    } catch (err) {
      this.fail(err);
      throw err;
    }
  }

  /** The end of a pushed stream: the server renders its tail. */
  end(): void {
    this.socket?.end();
  }

  /** Barge-in: silence and back to the idle loop at once. */
  clear(): void {
    const ctx = this.ctx;
    this.socket?.clear();
    this.output?.stop();
    const now = this.now();
    this.clock.holdAt(now);
    for (const f of this.buffer.clear(this.clock.ptsAt(now))) f.value.bitmap.close();
    if (this.utterance) {
      this.utterance = undefined;
      this.dispatch("speechend", { interrupted: true, at: ctx?.currentTime ?? 0 });
    }
  }

  async startMicrophone(): Promise<void> {
    try {
      const ctx = await this.audio();
      if (this.mic?.active) return;
      const socket = await this.session(ctx.sampleRate);
      this.mic = new Microphone(ctx, (samples) => {
        const u = this.utterance && this.utterance.endPts === undefined ? this.utterance : this.beginUtterance(ctx.sampleRate, true);
        this.send(socket, u, samples);
      });
      await this.mic.start();
    } catch (err) {
      this.fail(err);
      throw err;
    }
  }

  stopMicrophone(): void {
    if (!this.mic) return;
    this.mic.stop();
    this.mic = undefined;
    this.end();
  }

  /** The figures the overlay shows, for pages that draw their own. */
  get performance(): PerfSnapshot {
    return this.monitor.snapshot(performance.now(), this.buffer.depth, this.buffer.skipped);
  }

  // ---------------------------------------------------------------- setup

  private baseUrl(): string {
    return this.server || location.origin;
  }

  private setSamplesPerFrame(spf: number): void {
    if (!Number.isInteger(spf) || spf <= 0) return;
    this.samplesPerFrame = spf;
    this.buffer.samplesPerFrame = spf;
  }

  private async loadAvatar(): Promise<void> {
    const generation = ++this.loadGeneration;
    this.status = "loading avatar";
    this.socket?.close();
    this.socket = undefined;
    this.sessionRate = undefined;
    try {
      this.client = createLipSyncClient({ baseUrl: this.baseUrl() });
      const info = await this.client.getAvatar(this.avatar);
      const count = info.avatar?.frameCount ?? 0;
      this.lookaheadFrames = info.avatar?.model?.lookaheadFrames ?? 2;
      this.setSamplesPerFrame(info.avatar?.fps ? CLOCK_RATE / info.avatar.fps : DEFAULT_SAMPLES_PER_FRAME);
      this.frameSize = { width: info.avatar?.width ?? 512, height: info.avatar?.height ?? 512 };
      const frames: ImageBitmap[] = new Array(count);
      for (let i = 0; i < count; i += 16) {
        await Promise.all(Array.from({ length: Math.min(16, count - i) }, async (_, k) => {
          const f = await this.client!.sourceFrame(this.avatar, i + k);
          frames[i + k] = await createImageBitmap(new Blob([f.image as Uint8Array<ArrayBuffer>], { type: "image/jpeg" }));
        }));
      }
      if (generation !== this.loadGeneration) return;
      this.idleFrames = frames;
      this.status = "ready";
      this.reconnectDelay = 500;
      this.dispatch("ready", { avatar: this.avatar, frames: count });
    } catch (err) {
      if (generation !== this.loadGeneration) return;
      this.fail(err);
      this.scheduleReconnect(() => this.loadAvatar());
    }
  }

  private scheduleReconnect(run: () => Promise<void>): void {
    clearTimeout(this.reconnectTimer);
    this.reconnectTimer = window.setTimeout(() => void run(), this.reconnectDelay);
    this.reconnectDelay = Math.min(RECONNECT_MAX_MS, this.reconnectDelay * 2);
  }

  private async audio(): Promise<AudioContext> {
    if (!this.ctx) {
      this.ctx = new AudioContext({ latencyHint: "interactive" });
      this.output = new AudioOutput(this.ctx);
    }
    if (this.ctx.state === "suspended") await this.ctx.resume();
    return this.ctx;
  }

  /** The player's clock: the audio clock once it runs, wall time before (idle only). */
  private now(): number {
    const running = this.ctx?.state === "running";
    const source = running ? "audio" : "wall";
    const t = running ? this.ctx!.currentTime : performance.now() / 1000;
    if (source !== this.clockSource) {
      // Switching clocks keeps the presented pts continuous.
      const old = this.clockSource === "audio" && this.ctx ? this.ctx.currentTime : performance.now() / 1000;
      this.clock.setAnchor(this.clock.ptsAt(old), t);
      this.clockSource = source;
    }
    return t;
  }

  /** The WebSocket session at `rate`, (re)connecting if needed. */
  private async session(rate: number): Promise<LipSyncSocket> {
    if (this.socket && !this.socket.closed && this.sessionRate === rate) return this.socket;
    if (this.connecting && this.sessionRate === rate) return this.connecting;
    this.socket?.close();
    this.sessionRate = rate;
    this.connecting = (async () => {
      const socket = await LipSyncSocket.connect({ url: socketUrl(this.baseUrl()) });
      socket.onEvent((e) => this.onEvent(e));
      socket.onClose((e) => {
        if (this.socket !== socket) return;
        this.socket = undefined;
        if (e.code !== 1000) {
          this.fail(new Error(e.reason ? `connection closed: ${e.reason}` : "connection to the server was lost"));
          this.clear();
          this.scheduleReconnect(() => this.loadAvatar());
        }
      });
      // Mouth patches: the player already holds every source frame, so the server encodes and
      // sends only the mouth region (a tenth of the bytes and of its JPEG work).
      const started = await socket.start({ avatar: this.avatar, sampleRate: rate, patch: true });
      if (started.samplesPerFrame > 0) this.setSamplesPerFrame(started.samplesPerFrame);
      // The server's session clock starts now: anchor pts 0 here, continuing the idle walk.
      this.clock.setAnchor(0, this.now());
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
    if (this.utterance) this.clear();
    this.utterance = {
      rate, startPts: undefined, endPts: undefined, audioStart: undefined, pending: [], scheduledSamples: 0, silent,
      sent: [], sentSamples: 0, startedEvent: false, lookaheadSamples: (this.lookaheadFrames + 1) * this.samplesPerFrame, firstArrival: undefined,
    };
    this.monitor.firstFrameMs = undefined;
    return this.utterance;
  }

  private send(socket: LipSyncSocket, u: Utterance, samples: Float32Array): void {
    socket.pushAudio(toPcm16(samples));
    u.sentSamples += samples.length;
    u.sent.push({ samples: (u.sentSamples * CLOCK_RATE) / u.rate, at: performance.now() });
    if (u.audioStart === undefined) u.pending.push(samples);
    else this.play(u, samples);
  }

  private play(u: Utterance, samples: Float32Array): void {
    const out = this.output!;
    const expected = out.scheduledUntil;
    const at = out.schedule(samples, u.rate, u.silent);
    if (at > expected + 0.002 && u.startPts !== undefined) {
      // The stream ran dry and this chunk starts late: move the clock with the sound.
      this.clock.setAnchor(u.startPts + (u.scheduledSamples * CLOCK_RATE) / u.rate, at);
    }
    u.scheduledSamples += samples.length;
  }

  // ---------------------------------------------------------------- server events

  private onEvent(e: SpeechEvent): void {
    const u = this.utterance;
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
      const start = this.now() + this.jitter.delay();
      u.audioStart = start;
      this.output!.begin(start);
      this.clock.setAnchor(u.startPts, start);
      this.monitor.firstFrameMs = u.sent.length ? arrival - u.sent[0]!.at : undefined;
      for (const chunk of u.pending.splice(0)) this.play(u, chunk);
    }
    const image = new Blob([frame.image as Uint8Array<ArrayBuffer>], { type: frame.format === "jpeg" ? "image/jpeg" : "application/octet-stream" });
    void createImageBitmap(image).then((bitmap) => {
      if (this.utterance !== u || !this.buffer.push(frame.pts, { bitmap, frame })) bitmap.close();
    }, () => undefined);
  }

  // ---------------------------------------------------------------- drawing

  private tick(): void {
    this.raf = requestAnimationFrame(() => this.tick());
    const canvas = this.renderRoot.querySelector("canvas");
    if (!canvas || !this.idleFrames.length) return;
    const g = canvas.getContext("2d")!;
    const now = this.now();
    const pts = this.clock.ptsAt(now);
    const u = this.utterance;
    let drawn = false;
    if (u && u.audioStart !== undefined && u.startPts !== undefined && pts >= u.startPts && (u.endPts === undefined || pts < u.endPts)) {
      const f = this.buffer.take(pts);
      if (f) {
        const box = f.value.frame.mouthBox;
        if (f.value.frame.patch && box) {
          g.drawImage(this.idleFrames[f.value.frame.sourceIndex] ?? this.idleFrames[0]!, 0, 0, canvas.width, canvas.height);
          g.drawImage(f.value.bitmap, box.x, box.y, box.width, box.height);
        } else {
          g.drawImage(f.value.bitmap, 0, 0, canvas.width, canvas.height);
        }
        f.value.bitmap.close();
        const due = this.clock.timeOf(f.pts);
        this.monitor.avOffset.add((now - due) * 1000);
        this.monitor.drawn.tick(performance.now());
        this.lastDrawn = { kind: "speech", key: f.pts };
        if (!u.startedEvent) {
          u.startedEvent = true;
          this.dispatch("speechstart", { pts: f.pts, at: now });
        }
        this.dispatch("frame", { pts: f.pts, kind: "speech", sourceIndex: f.value.frame.sourceIndex, drawnAt: now, dueAt: due } satisfies FrameEventDetail);
      }
      drawn = true;
    } else if (u && u.endPts !== undefined && pts >= u.endPts) {
      this.utterance = undefined;
      for (const f of this.buffer.clear(u.endPts)) f.value.bitmap.close();
      this.dispatch("speechend", { interrupted: false, at: now });
    }
    if (!drawn) {
      const spf = this.samplesPerFrame;
      const index = idleIndex(pts, this.idleFrames.length, spf);
      const key = Math.floor(pts / spf);
      if (this.lastDrawn?.kind !== "idle" || this.lastDrawn.key !== key) {
        g.drawImage(this.idleFrames[index]!, 0, 0, canvas.width, canvas.height);
        this.lastDrawn = { kind: "idle", key };
        this.dispatch("frame", { pts: key * spf, kind: "idle", sourceIndex: index, drawnAt: now, dueAt: this.clock.timeOf(key * spf) } satisfies FrameEventDetail);
      }
    }
    const wall = performance.now();
    if (this.stats && wall - this.lastStats > 250) {
      this.lastStats = wall;
      this.monitor.depth.add(this.buffer.depth);
      this.perf = this.performance;
      const chart = this.renderRoot.querySelector<HTMLCanvasElement>("canvas.chart");
      if (chart) drawChart(chart, this.monitor.latency.recent, this.monitor.depth.recent);
    }
  }

  private fail(err: unknown): void {
    const message = err instanceof Error ? err.message : String(err);
    if (this.status !== "ready" || !this.idleFrames.length) this.status = message;
    this.dispatch("error", { message });
  }

  private dispatch(type: string, detail: unknown): void {
    this.dispatchEvent(new CustomEvent(type, { detail, bubbles: true, composed: true }));
  }
}

declare global {
  interface HTMLElementTagNameMap {
    "lip-sync-player": LipSyncPlayer;
  }
}
