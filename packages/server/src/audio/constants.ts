/**
 * Media constants, with units. They mirror training/constants.py; an avatar manifest states its
 * mel settings and the loader checks them against these.
 */

/** The model's and the session clock's audio rate, samples per second. */
export const SAMPLE_RATE = 16_000;
/** Video frames per second. */
export const FPS = 25;
/** Samples per video frame: 640 (40 ms). pts of consecutive frames differ by exactly this. */
export const SAMPLES_PER_FRAME = SAMPLE_RATE / FPS;
if (!Number.isInteger(SAMPLES_PER_FRAME)) throw new Error("SAMPLE_RATE must be a multiple of FPS");

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

/** First mel frame of video frame `frame`'s window; negative indices are silence. */
export function melWindowStart(mel: MelConfig, frame: number): number {
  return Math.floor((frame * melFramesPerSecond(mel)) / FPS) + mel.windowOffset;
}

/** Samples of a segment that must exist before video frame `frame` can be rendered. */
export function samplesNeeded(mel: MelConfig, frame: number): number {
  const lastMel = melWindowStart(mel, frame) + mel.windowFrames - 1;
  return lastMel * mel.hopLength + mel.nFft / 2;
}

/** Whole video frames of a segment of `samples` samples: a partial last frame counts. */
export function framesForSamples(samples: number): number {
  return Math.ceil(samples / SAMPLES_PER_FRAME);
}
