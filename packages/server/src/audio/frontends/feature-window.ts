/**
 * The UNet's audio window: for frame j, the per-frame features of frames j + first .. j + last,
 * oldest first, laid flat into one array (the model's audio input is that array under its own
 * dims: SyncTalk_2D's [32, 16, 16] is 16 x 512 reshaped). Slots outside the utterance's frames
 * are padding: zeros, the nearest edge feature, or the feature of silence.
 */
import type { WindowSpec } from "./types.js";

/** What an audio window depends on: the manifest's window, the feature size, the feature of silence. */
export interface WindowSource {
  audio: { window: WindowSpec; featureDim: number };
  /** The encoder's feature of silence ("silence" padding); undefined without an encoder. */
  silence: Float32Array | undefined;
}

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

/**
 * What each slot of frame `frame`'s window holds, in windowSlots' order: `feature(k)` for frame
 * k of the utterance, `silence` for silence padding, undefined for zeros. `feature` may hand
 * back promises (features still being encoded): resolve them, then layWindow.
 */
export function windowFeatures<T>(spec: WindowSpec, frame: number, count: number | undefined, feature: (k: number) => T, silence: Float32Array | undefined): (T | Float32Array | undefined)[] {
  return windowSlots(spec, frame, count).map((k) => (k >= 0 ? feature(k) : k === SILENCE ? silence : undefined));
}

/**
 * Frame `frame`'s audio window from per-frame features: `feature(k)` of frame k of an utterance
 * of `count` frames (undefined while it is still arriving), padded as the manifest says. The
 * slots are read synchronously (before the first await): a caller may forget features after.
 */
export async function audioWindow(src: WindowSource, frame: number, count: number | undefined, feature: (k: number) => Float32Array | Promise<Float32Array>): Promise<Float32Array> {
  const { window, featureDim } = src.audio;
  return layWindow(await Promise.all(windowFeatures(window, frame, count, feature, src.silence)), featureDim);
}

/** The audio window of silence in every slot (what capacity measurement renders with). */
export function silentAudioWindow(src: WindowSource): Float32Array {
  const { window, featureDim } = src.audio;
  return layWindow(new Array<Float32Array | undefined>(windowLength(window)).fill(src.silence), featureDim);
}

/** Frame `index`'s window over a whole track's features (an avatar's own audio). */
export function trackWindow(src: WindowSource, index: number, features: Float32Array[]): Float32Array {
  const { window, featureDim } = src.audio;
  return layWindow(windowFeatures(window, index, features.length, (k) => features[k], src.silence), featureDim);
}
