/**
 * <lip-sync-player server="http://host:8080" avatar="demo" stats>
 *
 * Plays speech through Web Audio and draws each lip-synced frame when the audio clock reaches
 * its pts: one clock, no second timer. Between utterances it loops the avatar's idle footage on
 * the same clock, so speech starts from the idle frame on screen. Live audio goes over the
 * WebSocket session; the figures overlay (`stats`) shows what the player and the server measure.
 *
 * This file is the element's surface (attributes, methods, events, parts) and the wiring of
 * three parts: the media clock (media-clock.ts), the connection that sends utterances and
 * receives their frames (connection.ts), and the stage that draws them (stage.ts).
 */
import { html, LitElement, nothing, type PropertyValues } from "lit";
import { CLOCK_RATE } from "./clock.js";
import { PlayerConnection } from "./connection.js";
import { DEFAULT_FRAME_SIZE } from "./defaults.js";
import { MediaClock } from "./media-clock.js";
import { drawChart, overlayTemplate, playerStyles } from "./overlay.js";
import { PerfMonitor, type PerfSnapshot } from "./perf.js";
import { Stage, type FrameEventDetail } from "./stage.js";

export type { FrameEventDetail } from "./stage.js";

/** The overlay's figures are refreshed this often, ms. */
const OVERLAY_REFRESH_MS = 250;

export class LipSyncPlayer extends LitElement {
  static override properties = {
    server: { type: String },
    avatar: { type: String },
    token: { type: String },
    stats: { type: Boolean, reflect: true },
    status: { state: true },
    perf: { state: true },
  };

  static override styles = playerStyles;

  /** Base URL of the lipsync server; defaults to the page's origin. */
  server = "";
  /** Avatar name. */
  avatar = "demo";
  /** Bearer token, for a server started with --auth-token or --jwt-public-key. */
  token = "";
  /** Show the performance overlay. */
  stats = false;
  protected status = "starting";
  protected perf: PerfSnapshot | undefined;

  private frameSize = { width: DEFAULT_FRAME_SIZE, height: DEFAULT_FRAME_SIZE };
  private raf = 0;
  private lastStats = 0;
  private readonly clock = new MediaClock();
  private readonly monitor = new PerfMonitor();
  private readonly stage = new Stage(this.clock, this.monitor, {
    frame: (detail: FrameEventDetail) => this.dispatch("frame", detail),
    speechStart: (detail) => this.dispatch("speechstart", detail),
    speechEnd: (u, at) => {
      this.connection.finished(u);
      this.dispatch("speechend", { interrupted: false, at });
    },
  });
  private readonly connection = new PlayerConnection(this, this.clock, this.stage.frames, this.monitor, {
    loading: () => (this.status = "loading avatar"),
    ready: (avatar) => {
      this.frameSize = { width: avatar.width, height: avatar.height };
      this.stage.setIdleFrames(avatar.frames);
      this.status = "ready";
      this.dispatch("ready", { avatar: this.avatar, frames: avatar.frames.length });
    },
    error: (err) => this.fail(err),
    interrupted: (at) => this.dispatch("speechend", { interrupted: true, at }),
  });

  override connectedCallback(): void {
    super.connectedCallback();
    this.raf = requestAnimationFrame(() => this.tick());
  }

  override disconnectedCallback(): void {
    super.disconnectedCallback();
    cancelAnimationFrame(this.raf);
    this.connection.close();
    this.clock.close();
  }

  protected override updated(changed: PropertyValues): void {
    if (changed.has("server") || changed.has("avatar") || changed.has("token")) void this.connection.load();
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
    await this.reported(this.connection.speak(audio));
  }

  /**
   * One chunk of a live stream (a TTS reply, say): Float32 samples in [-1, 1] or 16-bit PCM, at
   * `sampleRate`. Call end() after the last chunk.
   */
  async pushAudio(chunk: Float32Array | Int16Array | Uint8Array, sampleRate = CLOCK_RATE): Promise<void> {
    await this.reported(this.connection.pushAudio(chunk, sampleRate));
  }

  /** The end of a pushed stream: the server renders its tail. */
  end(): void {
    this.connection.end();
  }

  /** Barge-in: silence and back to the idle loop at once. */
  clear(): void {
    this.connection.clear();
  }

  async startMicrophone(): Promise<void> {
    await this.reported(this.connection.startMicrophone());
  }

  stopMicrophone(): void {
    this.connection.stopMicrophone();
  }

  /** The figures the overlay shows, for pages that draw their own. */
  get performance(): PerfSnapshot {
    return this.monitor.snapshot(performance.now(), this.stage.frames.depth, this.stage.frames.skipped);
  }

  // ---------------------------------------------------------------- internals

  /** Every animation frame: draw what is due, and refresh the overlay now and then. */
  private tick(): void {
    this.raf = requestAnimationFrame(() => this.tick());
    const canvas = this.renderRoot.querySelector("canvas");
    if (!canvas || !this.stage.ready) return;
    this.stage.draw(canvas, this.connection.utterance);
    const wall = performance.now();
    if (this.stats && wall - this.lastStats > OVERLAY_REFRESH_MS) {
      this.lastStats = wall;
      this.monitor.depth.add(this.stage.frames.depth);
      this.perf = this.performance;
      const chart = this.renderRoot.querySelector<HTMLCanvasElement>("canvas.chart");
      if (chart) drawChart(chart, this.monitor.latency.recent, this.monitor.depth.recent);
    }
  }

  /** A public call's failure goes to the page twice: as an `error` event and as the rejection. */
  private async reported(call: Promise<void>): Promise<void> {
    try {
      await call;
    } catch (err) {
      this.fail(err);
      throw err;
    }
  }

  private fail(err: unknown): void {
    const message = err instanceof Error ? err.message : String(err);
    if (this.status !== "ready" || !this.stage.ready) this.status = message;
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
