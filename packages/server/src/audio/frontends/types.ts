/**
 * Audio front ends: what turns speech into the per-frame features the UNet's audio window is
 * built from. The manifest chooses one, and the rest of the server sees only these types:
 *
 * - `mel`: the mel window of each video frame -> an encoder ONNX (the demo model; SyncTalk_2D's
 *   "ave" AudioEncoder).
 * - `waveform`: a window of 16 kHz samples around each video frame -> an encoder ONNX
 *   (HuBERT/WeNet class: the model computes features at its own rate, and the export wrapper
 *   hands back the ones of that frame, so they are on the video clock by construction).
 * - `none`: no live front end; the package's precomputed features (`aud_*.npy`) drive its own
 *   track only, and Speak is refused.
 *
 * A front end is split in two: a Sans-I/O input stream (samples in, the encoder input of frame j
 * out) used by sessions, and the encoder itself, which the engine runs batched.
 */
import type { MelConfig, MelTiming } from "../constants.js";

export type FrontEndSpec =
  | { kind: "mel"; mel: MelConfig; timing: Omit<MelTiming, "samplesPerFrame"> }
  | { kind: "waveform"; windowSamples: number; offsetSamples: number }
  | { kind: "none" };

/** What fills window slots outside the utterance's frames. */
export type WindowPadding = "zero" | "repeat" | "silence";

/**
 * The UNet's audio window for frame j: the features of frames j + first .. j + last (first <= 0
 * <= last), laid out oldest first; frames outside the utterance are padding.
 */
export interface WindowSpec {
  first: number;
  last: number;
  padding: WindowPadding;
}

/**
 * Encoder inputs of one utterance, built as 16 kHz samples arrive. Frame j's input may read
 * samples past the frame (the front end's lookahead); `ready` says when they have arrived.
 */
export interface EncoderInputStream {
  push(samples: Float32Array): void;
  /** No more samples: inputs past the end read silence (or are clamped). */
  end(): void;
  ready(frame: number): boolean;
  /** Frame `frame`'s encoder input (flat, the encoder's per-item layout). */
  input(frame: number): Float32Array;
  /** Forget what no input from frame `frame` on reads. */
  discardBefore(frame: number): void;
}
