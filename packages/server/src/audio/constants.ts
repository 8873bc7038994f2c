/**
 * Media constants, with units: the clock from @lipsync/proto/media (one module for server, SDK
 * and player; training/constants.py is checked against it), the audio front end's here. An
 * avatar manifest states its mel settings and the loader checks them against these.
 */

// The session clock and video frame (shared with the SDK and the player).
export { SAMPLE_RATE, FPS, SAMPLES_PER_FRAME, FRAME_MS, samplesPerFrameAt, idleIndex } from "@lipsync/proto/media";
import { SAMPLE_RATE, SAMPLES_PER_FRAME } from "@lipsync/proto/media";

/** Input rates the audio front end accepts, samples per second. */
export const MIN_INPUT_RATE = 8_000;
export const MAX_INPUT_RATE = 192_000;

/** Mel settings: the SyncTalk_2D / Wav2Lip convention. */
export interface MelConfig {
  sampleRate: number;
  nFft: number;
  hopLength: number;
  winLength: number;
  nMels: number;
  fMin: number;
  fMax: number;
  preemphasis: number;
  minLevelDb: number;
  refLevelDb: number;
  maxAbsValue: number;
  /** Mel frames in the window of one video frame. */
  windowFrames: number;
  /** First mel frame of video frame j's window: floor(j * melFps / FPS) + windowOffset. */
  windowOffset: number;
}

/**
 * Where each video frame's mel window sits. Its first mel frame is
 * floor((j * samplesPerFrame + offsetSamples) / hop): v1's `window_offset` in mel frames is
 * `offsetSamples = window_offset * hop`; SyncTalk_2D's int(80 * (j - 1) / 25) is -640 at 25 fps.
 * `edge`: mel frames outside the utterance read as silence, or (clamp) the window is moved inside
 * it, as SyncTalk_2D's crop_audio_window does at the end and its repeated first feature at the start.
 */
export interface MelTiming {
  samplesPerFrame: number;
  offsetSamples: number;
  edge: "silence" | "clamp";
}

/** The timing format-version-1 manifests imply: 25 fps, window_offset mel frames, silence. */
export function defaultMelTiming(mel: MelConfig): MelTiming {
  return { samplesPerFrame: SAMPLES_PER_FRAME, offsetSamples: mel.windowOffset * mel.hopLength, edge: "silence" };
}

export const DEFAULT_MEL: MelConfig = {
  sampleRate: SAMPLE_RATE,
  nFft: 800,
  hopLength: 200,
  winLength: 800,
  nMels: 80,
  fMin: 55,
  fMax: 7600,
  preemphasis: 0.97,
  minLevelDb: -100,
  refLevelDb: 20,
  maxAbsValue: 4,
  windowFrames: 16,
  windowOffset: -8,
};

/** Mel frames per second for a config (80 for the default). */
export function melFramesPerSecond(mel: MelConfig): number {
  return mel.sampleRate / mel.hopLength;
}

/** First mel frame of video frame `frame`'s window, before any edge clamping; negative indices are silence. */
export function melWindowStart(mel: MelConfig, frame: number, timing = defaultMelTiming(mel)): number {
  return Math.floor((frame * timing.samplesPerFrame + timing.offsetSamples) / mel.hopLength);
}

/** Samples of a segment that must exist before video frame `frame`'s mel window is complete. */
export function samplesNeeded(mel: MelConfig, frame: number, timing = defaultMelTiming(mel)): number {
  const lastMel = Math.max(melWindowStart(mel, frame, timing), timing.edge === "clamp" ? 0 : -Infinity) + mel.windowFrames - 1;
  return lastMel * mel.hopLength + mel.nFft / 2;
}

/** Whole video frames of a segment of `samples` samples: a partial last frame counts. */
export function framesForSamples(samples: number, samplesPerFrame = SAMPLES_PER_FRAME): number {
  return Math.ceil(samples / samplesPerFrame);
}
