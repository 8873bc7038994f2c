/**
 * The media loop of a room session: the agent's streams into the playout and the session, the
 * session's frames into the playout, and on every tick of the 25 fps clock the playout's slot
 * onto the tracks, with the reports to the agent that fall due. Owns the clock; knows nothing of
 * the room's participants (room-session.ts).
 */
import { FrameKind } from "@lipsync/proto";
import type { Avatar } from "../../avatar/avatar.js";
import type { RgbImage } from "../../engine/image-ops.js";
import { asLipSyncError, type LipSyncError } from "../../errors.js";
import type { Logger } from "../../logger.js";
import type { LiveSession } from "../../session/live-session.js";
import type { AgentReports } from "./agent-rpc.js";
import { Playout, type PlayoutEvent } from "./playout.js";
import { StreamAudio, type StreamFormat } from "./stream-audio.js";
import type { AvatarTracks } from "./tracks.js";

export interface MediaOptions {
  /** Slots the audio is queued ahead of the picture. */
  leadSlots: number;
  /** Frames of an utterance rendered before it plays. */
  startFrames: number;
  /** Audio given to the session ahead of what has played, seconds (bounds frames held). */
  feedAheadSeconds: number;
}

/** One agent stream as the media loop takes it. */
export interface StreamSink {
  push(chunk: Uint8Array): void;
  end(): void;
}

export class RoomMedia {
  private readonly playout: Playout<RgbImage>;
  private readonly fps: number;
  private timer: NodeJS.Timeout | undefined;
  private slot = 0;
  private t0 = 0;
  /** Barge-ins whose "cleared" marker has not come out of the session yet: what comes before it is theirs. */
  private clearsPending = 0;
  private stopped = false;
  /** Slots shown: speech frames, idle frames, and held (a late or dropped frame, a stalled stream). */
  readonly shown = { speech: 0, idle: 0, held: 0 };
  /** Ticks later than the audio queued ahead covers (the track's audio ran dry), and the latest, ms. */
  readonly lateness = { underruns: 0, maxMs: 0 };
  /** Idle source frames loaded ahead of their slot, and those being loaded. */
  private readonly idle = new Map<number, RgbImage>();
  private readonly loading = new Set<number>();

  constructor(
    private readonly session: LiveSession,
    private readonly avatar: Avatar,
    private readonly tracks: AvatarTracks,
    private readonly reports: AgentReports,
    private readonly rate: number,
    private readonly options: MediaOptions,
    private readonly logger: Logger,
    /** The session ended by itself (an error, or the server closed it). */
    private readonly onEnded: (error: LipSyncError | undefined) => void,
  ) {
    this.fps = avatar.manifest.fps;
    this.playout = new Playout({
      samplesPerFrame: avatar.samplesPerFrame, frameCount: avatar.frameCount, rate, leadSlots: options.leadSlots, startFrames: options.startFrames,
      // Speech takes its first frame from the idle walk at the session's clock; the picture runs
      // about the lead and the first frame's render time behind it.
      initialLagSlots: options.leadSlots + 4,
    });
  }

  start(): void {
    this.t0 = performance.now();
    void this.readOutputs();
    this.tick();
  }

  /** A new utterance from the agent, in the stream's format. */
  openStream(format: StreamFormat): StreamSink {
    const id = this.playout.startSegment();
    const audio = new StreamAudio(format, this.rate);
    return {
      push: (chunk) => {
        this.playout.pushAudio(id, audio.push(chunk));
        this.feed();
      },
      end: () => {
        this.playout.pushAudio(id, audio.end());
        this.playout.endAudio(id);
        this.feed();
      },
    };
  }

  /** Barge-in: the session and the playout drop what is queued; idle at the next slot. */
  clear(): void {
    if (this.stopped) return;
    this.session.send({ type: "clear" });
    // Everything the session sends before its "cleared" marker belongs to utterances that are gone.
    this.clearsPending++;
    const finished = this.playout.clear();
    this.tracks.clearAudio();
    if (finished && finished.type === "finished") this.reports.playbackFinished(finished.position, true);
  }

  /** Utterances received and not yet played out. */
  get pendingUtterances(): number {
    return this.playout.pendingSegments;
  }

  stop(): void {
    this.stopped = true;
    if (this.timer) clearTimeout(this.timer);
    this.timer = undefined;
  }

  private end(error: LipSyncError | undefined): void {
    if (this.stopped) return;
    this.stop();
    this.onEnded(error);
  }

  private feed(): void {
    if (this.stopped) return;
    for (const f of this.playout.takeFeed(this.options.feedAheadSeconds * this.rate)) {
      this.session.send("end" in f ? { type: "end" } : { type: "samples", samples: f.samples });
    }
  }

  private async readOutputs(): Promise<void> {
    try {
      for await (const out of this.session.events) {
        if (this.stopped) return;
        if (out.type === "error") throw out.error;
        if (out.type === "cleared") this.clearsPending = Math.max(0, this.clearsPending - 1);
        if (this.clearsPending > 0) continue;
        if (out.type === "frame" && out.frame.kind === FrameKind.SPEECH) {
          this.playout.frame(Number(out.frame.pts), { data: out.frame.image, width: out.frame.width, height: out.frame.height });
        } else if (out.type === "speech-started") {
          this.playout.speechStarted(out.pts);
        } else if (out.type === "frames-dropped") {
          this.playout.dropped(out.startPts, out.endPts);
        }
      }
      this.end(undefined);
    } catch (err) {
      this.end(asLipSyncError(err));
    }
  }

  private tick(): void {
    if (this.stopped) return;
    const now = performance.now();
    const late = now - this.slotTime(this.slot);
    this.lateness.maxMs = Math.max(this.lateness.maxMs, Math.round(late));
    const skipped: PlayoutEvent[] = [];
    if (late > (this.options.leadSlots * 1000) / this.fps) {
      // A stall (this process got no CPU) longer than the audio queued ahead: the track's audio
      // ran dry and its source filled the gap with silence, so everything after it sounds that
      // much later. The picture moves on by as much, to stay with the sound: the slots whose
      // audio played during the stall are passed over and the clock restarts from now.
      this.lateness.underruns++;
      skipped.push(...this.playout.skipDecided());
      this.t0 = now - (this.slot * 1000) / this.fps;
    }
    const t = this.playout.tick();
    t.events.unshift(...skipped);
    for (const chunk of t.audio) this.tracks.pushAudio(chunk);
    const show = t.show;
    // Each frame is stamped with its slot's time, not the moment it is captured: frames the clock
    // plays at once after a short delay keep 40 ms apart, and the encoder's frame-rate limit
    // does not take them for a burst and drop them.
    const at = this.slotTime(this.slot);
    if (show.kind === "speech") {
      this.tracks.show(show.frame, at);
      this.shown.speech++;
    } else if (show.kind === "idle" && this.idle.has(show.sourceIndex)) {
      this.tracks.show(this.idle.get(show.sourceIndex)!, at);
      this.shown.idle++;
    } else {
      this.tracks.repeat(at);
      this.shown.held++;
    }
    for (const e of t.events) {
      if (e.type === "started") this.reports.playbackStarted();
      else this.reports.playbackFinished(e.position, e.interrupted);
    }
    this.loadIdle(show.kind === "idle" ? show.sourceIndex : undefined);
    this.feed();
    // The clock is the slot count from the start, so timer lateness never accumulates; slots
    // missed by a short delay are played at once (their audio is queued, the picture catches up).
    this.slot++;
    const due = this.slotTime(this.slot);
    this.timer = setTimeout(() => this.tick(), Math.max(0, due - performance.now()));
  }

  /** When slot `slot` is due on the performance.now() clock, ms. */
  private slotTime(slot: number): number {
    return this.t0 + (slot * 1000) / this.fps;
  }

  /** Keeps the idle frames of the decided slots loaded (a view each, when the avatar is preloaded). */
  private loadIdle(current: number | undefined): void {
    const wanted = new Set(this.playout.upcomingIdle());
    if (current !== undefined) wanted.add(current);
    for (const k of this.idle.keys()) if (!wanted.has(k)) this.idle.delete(k);
    for (const k of wanted) {
      if (this.idle.has(k) || this.loading.has(k)) continue;
      this.loading.add(k);
      this.avatar.frame(k).then((img) => {
        if (!this.stopped) this.idle.set(k, img);
      }, (err: unknown) => this.logger.warn({ err: asLipSyncError(err).message, index: k }, "room idle frame failed to load"))
        .finally(() => this.loading.delete(k));
    }
  }
}
