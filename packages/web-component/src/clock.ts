/**
 * One clock for sound and picture. The server stamps every frame with a pts on its session clock
 * (16 kHz samples); the player maps pts to the Web Audio clock (seconds) with one anchor per
 * utterance: pts `startPts` sounds at audio time `startTime`. Between utterances the idle loop
 * runs on the same mapping, so it continues exactly where speech left off.
 */
import { FPS, idleIndex as idleStep, SAMPLE_RATE, SAMPLES_PER_FRAME } from "@lipsync/proto/media";

export const CLOCK_RATE = SAMPLE_RATE;
/** Video frames per second until the avatar says otherwise. */
export const DEFAULT_FPS = FPS;
/**
 * Samples per frame until the avatar says otherwise: 640 (40 ms). The avatar's own value comes
 * from GetAvatar (fps) and the session's `started` message (samples_per_frame): 800 at 20 fps.
 */
export const DEFAULT_SAMPLES_PER_FRAME = SAMPLES_PER_FRAME;
/** One frame at DEFAULT_FPS, seconds. */
export const DEFAULT_FRAME_SECONDS = 1 / DEFAULT_FPS;

export interface Anchor {
  pts: number;
  time: number;
}

export class PlaybackClock {
  private anchor: Anchor = { pts: 0, time: 0 };

  /** pts `pts` is presented at audio time `time` (seconds). */
  setAnchor(pts: number, time: number): void {
    this.anchor = { pts, time };
  }

  get current(): Anchor {
    return this.anchor;
  }

  /** The session-clock pts being presented at audio time `time`. */
  ptsAt(time: number): number {
    return this.anchor.pts + (time - this.anchor.time) * CLOCK_RATE;
  }

  /** The audio time at which `pts` is due. */
  timeOf(pts: number): number {
    return this.anchor.time + (pts - this.anchor.pts) / CLOCK_RATE;
  }

  /** Re-anchors so that the clock keeps running from where it is now (for idle). */
  holdAt(time: number): void {
    this.anchor = { pts: this.ptsAt(time), time };
  }
}

/** The idle loop's source frame at `pts`: the server's ping-pong walk (@lipsync/proto/media). */
export function idleIndex(pts: number, frameCount: number, samplesPerFrame = DEFAULT_SAMPLES_PER_FRAME): number {
  return idleStep(Math.floor(pts / samplesPerFrame), frameCount);
}
