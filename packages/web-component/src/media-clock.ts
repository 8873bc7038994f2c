/**
 * The player's one clock. Speech sounds through a Web Audio context, and once that context runs
 * its currentTime is the time every frame is drawn by. Before it runs (browsers start audio only
 * after a user gesture, so only the idle loop plays) wall time stands in; switching from one to
 * the other keeps the presented pts continuous. pts map to this time through the anchor that
 * PlaybackClock keeps.
 */
import { AudioOutput } from "./audio-output.js";
import { PlaybackClock } from "./clock.js";

export class MediaClock extends PlaybackClock {
  private ctx: AudioContext | undefined;
  private out: AudioOutput | undefined;
  private source: "audio" | "wall" = "wall";

  /** The audio context, created on first use and resumed when suspended. */
  async audio(): Promise<AudioContext> {
    if (!this.ctx) {
      this.ctx = new AudioContext({ latencyHint: "interactive" });
      this.out = new AudioOutput(this.ctx);
    }
    if (this.ctx.state === "suspended") await this.ctx.resume();
    return this.ctx;
  }

  /** Where speech is scheduled; undefined until audio() first ran. */
  get output(): AudioOutput | undefined {
    return this.out;
  }

  /** The audio context's time, or 0 before there is one. */
  get audioTime(): number {
    return this.ctx?.currentTime ?? 0;
  }

  /** The clock's time now, seconds: the audio clock once it runs, wall time before (idle only). */
  now(): number {
    const running = this.ctx?.state === "running";
    const source = running ? "audio" : "wall";
    const t = running ? this.ctx!.currentTime : performance.now() / 1000;
    if (source !== this.source) {
      // Switching clocks keeps the presented pts continuous.
      const old = this.source === "audio" && this.ctx ? this.ctx.currentTime : performance.now() / 1000;
      this.setAnchor(this.ptsAt(old), t);
      this.source = source;
    }
    return t;
  }

  close(): void {
    void this.ctx?.close();
  }
}
