/**
 * The UNet's audio window: for frame j, the per-frame features of frames j + first .. j + last,
 * oldest first, laid flat into one array (the model's audio input is that array under its own
 * dims: SyncTalk_2D's [32, 16, 16] is 16 x 512 reshaped). Slots outside the utterance's frames
 * are padding: zeros, the nearest edge feature, or the feature of silence.
 */
import type { WindowSpec } from "./types.js";

/** A slot that holds zeros. */
export const ZERO = -1;
/** A slot that holds the feature of silence. */
export const SILENCE = -2;

/**
 * The feature index each slot of frame `frame`'s window reads, or ZERO / SILENCE. `count` is the
 * utterance's frame count, or undefined while it is still arriving (no slot is past its end yet).
 */
export function windowSlots(spec: WindowSpec, frame: number, count: number | undefined): number[] {
  const out: number[] = [];
  const end = count ?? Number.POSITIVE_INFINITY;
  for (let k = frame + spec.first; k <= frame + spec.last; k++) {
    if (k >= 0 && k < end) out.push(k);
    else if (spec.padding === "repeat") out.push(k < 0 ? 0 : end - 1);
    else out.push(spec.padding === "zero" ? ZERO : SILENCE);
  }
  return out;
}

/** Slots per window. */
export function windowLength(spec: WindowSpec): number {
  return spec.last - spec.first + 1;
}

/**
 * Frame `frame`'s window from resolved features (same order as windowSlots), into a flat array of
 * windowLength * featureDim.
 */
export function layWindow(features: ArrayLike<Float32Array | undefined>, featureDim: number, out = new Float32Array(features.length * featureDim)): Float32Array {
  for (let s = 0; s < features.length; s++) {
    const f = features[s];
    if (f) out.set(f, s * featureDim);
    else out.fill(0, s * featureDim, (s + 1) * featureDim);
  }
  return out;
}

/** Windows of every frame of a whole track whose per-frame features are all known. */
export function trackWindows(spec: WindowSpec, features: Float32Array[], featureDim: number, silence: Float32Array | undefined, frames = features.length): Float32Array[] {
  return Array.from({ length: frames }, (_, j) =>
    layWindow(windowSlots(spec, j, features.length).map((k) => (k >= 0 ? features[k] : k === SILENCE ? silence : undefined)), featureDim));
}
