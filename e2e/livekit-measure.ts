/** What a subscriber measures of the avatar's tracks (e2e/livekit-subscriber.ts records them). */
import { onset } from "./livekit-room.js";
import { idleDistance, type AudioRecord, type VideoRecord } from "./livekit-subscriber.js";

/** Share of full scale above which a sample counts as speech. */
export const LOUD = 0.05;

/** Seconds from the first to the last loud sample. */
export function loudSpan(pcm: ArrayLike<number>, rate: number): number {
  const t = LOUD * 32768;
  let first = -1;
  let last = -1;
  for (let i = 0; i < pcm.length; i++) {
    if (Math.abs(pcm[i]!) > t) {
      if (first < 0) first = i;
      last = i;
    }
  }
  return first < 0 ? 0 : (last - first + 1) / rate;
}

/** The audio received after `from` (ms, performance.now()), joined, and when its first loud sample played. */
export function heard(audio: AudioRecord[], from: number, rate: number): { pcm: Int16Array; firstLoudAt: number | undefined } {
  const parts = audio.filter((a) => a.at >= from);
  const pcm = new Int16Array(parts.reduce((n, a) => n + a.samples.length, 0));
  let off = 0;
  let firstLoudAt: number | undefined;
  for (const a of parts) {
    pcm.set(a.samples, off);
    off += a.samples.length;
    const i = onset(a.samples, LOUD);
    // A 10 ms frame is handed over as it starts to play: sample i plays i / rate later.
    if (firstLoudAt === undefined && i >= 0) firstLoudAt = a.at + (i / rate) * 1000;
  }
  return { pcm, firstLoudAt };
}

/**
 * Tells speech frames from the idle footage: a frame is speech when its mouth differs from every
 * idle source frame by more than the idle frames seen (`idleSeen`) differ, three times over
 * (at least one luma level): the video codec's noise stays well under that, speech well above.
 */
export function speechClassifier(idle: Float32Array[], idleSeen: VideoRecord[]): (f: VideoRecord) => boolean {
  const floor = Math.max(...idleSeen.map((f) => idleDistance(f.patch, idle)));
  const threshold = Math.max(1, 3 * floor);
  return (f) => idleDistance(f.patch, idle) > threshold;
}
