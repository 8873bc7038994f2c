/**
 * Drawing: on every animation frame the stage asks the media clock which pts is being presented
 * and draws the frame that covers it. During an utterance that is the speech frame from the
 * queue (a whole frame, or a mouth patch pasted over its source frame); otherwise it is the
 * avatar's idle footage, walked back and forth on the same clock so speech starts from the idle
 * frame on screen. A speech frame that is late is skipped, never drawn out of order.
 */
import type { FrameData } from "@lipsync/client";
import { idleIndex } from "./clock.js";
import { JitterBuffer, type Buffered } from "./jitter-buffer.js";
import type { MediaClock } from "./media-clock.js";
import type { PerfMonitor } from "./perf.js";

/** Detail of the `frame` event. */
export interface FrameEventDetail {
  pts: number;
  kind: "speech" | "idle";
  sourceIndex: number;
  /** Audio-clock time (s) the frame was drawn at, and the time its pts was due. */
  drawnAt: number;
  dueAt: number;
}

/** A decoded speech frame waiting for its pts. */
export interface QueuedFrame {
  bitmap: ImageBitmap;
  frame: FrameData;
}

/** The frame queue: the connection fills it as frames arrive, the stage draws from it. */
export class FrameQueue extends JitterBuffer<QueuedFrame> {
  /** Drops every waiting frame and frees its bitmap; frames after `resumeAfter` are taken again. */
  drop(resumeAfter?: number): void {
    for (const f of this.clear(resumeAfter)) f.value.bitmap.close();
  }
}

/** The utterance being spoken, as far as drawing goes (connection.ts keeps the rest). */
export interface OnStage {
  /** pts of its first frame, once the server said. */
  readonly startPts: number | undefined;
  /** pts just past its last frame, once the server said. */
  readonly endPts: number | undefined;
  /** Audio time its first sample sounds at; undefined until its first frame arrived. */
  readonly audioStart: number | undefined;
  /** Its first frame was drawn (speechstart went out). */
  startedEvent: boolean;
}

export interface StageEvents {
  frame(detail: FrameEventDetail): void;
  speechStart(detail: { pts: number; at: number }): void;
  /** Presentation passed the utterance's end: it is over (its frames are gone from the queue). */
  speechEnd(u: OnStage, at: number): void;
}

export class Stage {
  /** Speech frames waiting for their pts; its samplesPerFrame is the avatar's frame length. */
  readonly frames = new FrameQueue();
  private idleFrames: ImageBitmap[] = [];
  /** What is on the canvas: an idle frame is drawn once per frame period, not per animation frame. */
  private lastDrawn: { kind: "speech" | "idle"; key: number } | undefined;

  constructor(private readonly clock: MediaClock, private readonly monitor: PerfMonitor, private readonly events: StageEvents) {}

  /** The avatar's source frames: the idle loop, and what mouth patches are pasted onto. */
  setIdleFrames(frames: ImageBitmap[]): void {
    this.idleFrames = frames;
  }

  /** Whether there is anything to draw. */
  get ready(): boolean {
    return this.idleFrames.length > 0;
  }

  /** Draws what is due now: `u`'s frame while it is being spoken, else the idle loop. */
  draw(canvas: HTMLCanvasElement, u: OnStage | undefined): void {
    const g = canvas.getContext("2d")!;
    const now = this.clock.now();
    const pts = this.clock.ptsAt(now);
    let drawn = false;
    if (u && u.audioStart !== undefined && u.startPts !== undefined && pts >= u.startPts && (u.endPts === undefined || pts < u.endPts)) {
      const f = this.frames.take(pts);
      if (f) this.drawSpeech(canvas, g, f, u, now);
      // Between two speech frames the last one stays up, even when the next is late.
      drawn = true;
    } else if (u && u.endPts !== undefined && pts >= u.endPts) {
      this.frames.drop(u.endPts);
      this.events.speechEnd(u, now);
    }
    if (!drawn) this.drawIdle(canvas, g, pts, now);
  }

  private drawSpeech(canvas: HTMLCanvasElement, g: CanvasRenderingContext2D, f: Buffered<QueuedFrame>, u: OnStage, now: number): void {
    const { bitmap, frame } = f.value;
    const box = frame.mouthBox;
    if (frame.patch && box) {
      g.drawImage(this.idleFrames[frame.sourceIndex] ?? this.idleFrames[0]!, 0, 0, canvas.width, canvas.height);
      g.drawImage(bitmap, box.x, box.y, box.width, box.height);
    } else {
      g.drawImage(bitmap, 0, 0, canvas.width, canvas.height);
    }
    bitmap.close();
    const due = this.clock.timeOf(f.pts);
    this.monitor.avOffset.add((now - due) * 1000);
    this.monitor.drawn.tick(performance.now());
    this.lastDrawn = { kind: "speech", key: f.pts };
    if (!u.startedEvent) {
      u.startedEvent = true;
      this.events.speechStart({ pts: f.pts, at: now });
    }
    this.events.frame({ pts: f.pts, kind: "speech", sourceIndex: frame.sourceIndex, drawnAt: now, dueAt: due });
  }

  private drawIdle(canvas: HTMLCanvasElement, g: CanvasRenderingContext2D, pts: number, now: number): void {
    const spf = this.frames.samplesPerFrame;
    const index = idleIndex(pts, this.idleFrames.length, spf);
    const key = Math.floor(pts / spf);
    if (this.lastDrawn?.kind === "idle" && this.lastDrawn.key === key) return;
    g.drawImage(this.idleFrames[index]!, 0, 0, canvas.width, canvas.height);
    this.lastDrawn = { kind: "idle", key };
    this.events.frame({ pts: key * spf, kind: "idle", sourceIndex: index, drawnAt: now, dueAt: this.clock.timeOf(key * spf) });
  }
}
