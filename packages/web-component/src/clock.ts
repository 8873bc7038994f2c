/**
 * One clock for sound and picture. The server stamps every frame with a pts on its session clock
 * (16 kHz samples); the player maps pts to the Web Audio clock (seconds) with one anchor per
 * utterance: pts `startPts` sounds at audio time `startTime`. Between utterances the idle loop
 * runs on the same mapping, so it continues exactly where speech left off.
 */
export const CLOCK_RATE = 16000;
/**
 * Samples per frame until the avatar says otherwise (25 fps). The avatar's own value comes from
 * GetAvatar (fps) and the session's `started` message (samples_per_frame): 800 at 20 fps.
 */
export const DEFAULT_SAMPLES_PER_FRAME = 640;

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

/** Ping-pong walk over the idle footage, as the server's session does (pts / samples per frame). */
export function idleIndex(pts: number, frameCount: number, samplesPerFrame = DEFAULT_SAMPLES_PER_FRAME): number {
  if (frameCount <= 1) return 0;
  const step = Math.floor(pts / samplesPerFrame);
  const period = 2 * (frameCount - 1);
  const p = ((step % period) + period) % period;
  return p < frameCount ? p : period - p;
}
