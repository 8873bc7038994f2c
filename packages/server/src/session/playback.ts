/**
 * When an utterance has played out (LiveKit's lk.playback_finished), Sans-I/O. A player that
 * reports its position (`position` commands) has played an utterance once it presents the
 * utterance's end; one that never reports counts as having played each utterance when its last
 * frame is out. A barge-in ends the current one at once, with the samples played so far.
 */
import type { SegmentBounds } from "./speech-session.js";

export interface PlaybackFinished {
  type: "playback-finished";
  /** Samples of the utterance played. */
  position: number;
  interrupted: boolean;
}

export class PlaybackTracker {
  private reported = false;
  private pts = 0;
  private waiting: SegmentBounds[] = [];

  /** An utterance's last frame is out: its report now, or once the player gets there. */
  ended(b: SegmentBounds): PlaybackFinished[] {
    if (!this.reported) return [finished(b.endPts - b.startPts, false)];
    this.waiting.push(b);
    return this.release();
  }

  /** The player presents `pts` now. */
  position(pts: number): PlaybackFinished[] {
    this.reported = true;
    this.pts = Math.max(this.pts, pts);
    return this.release();
  }

  /** Barge-in cut `b` short: what of it was played (reported, else everything sent). */
  interrupted(b: SegmentBounds): PlaybackFinished {
    this.waiting = [];
    const played = this.reported ? this.pts : b.endPts;
    return finished(Math.max(0, Math.min(b.endPts, played) - b.startPts), true);
  }

  private release(): PlaybackFinished[] {
    const out: PlaybackFinished[] = [];
    while (this.waiting.length && this.pts >= this.waiting[0]!.endPts) {
      const b = this.waiting.shift()!;
      out.push(finished(b.endPts - b.startPts, false));
    }
    return out;
  }
}

function finished(position: number, interrupted: boolean): PlaybackFinished {
  return { type: "playback-finished", position, interrupted };
}
