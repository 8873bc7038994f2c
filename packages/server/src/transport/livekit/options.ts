/**
 * Room session settings, with their defaults in one place. The figures behind the defaults are
 * in docs/livekit.md ("Latency") and bench/RESULTS.md.
 */
import type { MediaOptions } from "./room-media.js";

export interface RoomOptions extends MediaOptions {
  /** Joining and publishing may take this long before StartRoomSession fails UNAVAILABLE, ms. */
  joinTimeoutMs: number;
  /** Leaving may take this long before the session gives up on a clean leave, ms. */
  leaveTimeoutMs: number;
  /** With no agent in the room this long after joining, the avatar leaves, ms. */
  agentTimeoutMs: number;
  /** The published audio track's rate when the request leaves it 0, Hz (Opus's own rate). */
  defaultAudioRate: number;
  /** What the audio source may hold queued, ms (more than leadSlots of audio). */
  audioQueueMs: number;
  /** The video encoder's bitrate cap, bits per second. */
  videoMaxBitrate: number;
}

export const ROOM_DEFAULTS: RoomOptions = {
  joinTimeoutMs: 15_000,
  leaveTimeoutMs: 5_000,
  agentTimeoutMs: 60_000,
  defaultAudioRate: 48_000,
  audioQueueMs: 400,
  videoMaxBitrate: 1_500_000,
  // Two slots (80 ms) of audio queued ahead absorb the timer's jitter on a busy machine.
  leadSlots: 2,
  startFrames: 1,
  feedAheadSeconds: 1.5,
};
