import { invalidArgument } from "../errors.js";

export type SampleEncoding = "s16le" | "f32le";

/** How a stream's raw PCM chunks are laid out (its rate is the session's input rate). */
export interface PcmFormat {
  encoding: SampleEncoding;
  channels: number;
}

/** Bytes of one sample of one channel. */
export function bytesPerSample(encoding: SampleEncoding): number {
  return encoding === "s16le" ? 2 : 4;
}

/**
 * Interleaved little-endian PCM to mono float samples. int16 maps to [-1, 1) as v / 32768, the
 * training pipeline's convention. Rejects partial sample frames and non-finite floats: a NaN
 * would poison the mel features of every frame after it.
 */
export function decodePcm(bytes: Uint8Array, encoding: SampleEncoding, channels: number): Float32Array {
  if (!Number.isInteger(channels) || channels < 1 || channels > 2) {
    throw invalidArgument(`channels must be 1 or 2, got ${channels}`);
  }
  const frameBytes = bytesPerSample(encoding) * channels;
  if (bytes.byteLength % frameBytes !== 0) {
    throw invalidArgument(`audio chunk of ${bytes.byteLength} bytes is not a whole number of ${frameBytes}-byte sample frames`);
  }
  const n = bytes.byteLength / frameBytes;
  const out = new Float32Array(n);
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  if (encoding === "s16le") {
    for (let i = 0; i < n; i++) {
      let sum = 0;
      for (let c = 0; c < channels; c++) sum += view.getInt16((i * channels + c) * 2, true);
      out[i] = sum / channels / 32768;
    }
  } else {
    for (let i = 0; i < n; i++) {
      let sum = 0;
      for (let c = 0; c < channels; c++) sum += view.getFloat32((i * channels + c) * 4, true);
      if (!Number.isFinite(sum)) throw invalidArgument("audio contains NaN or infinite samples");
      out[i] = sum / channels;
    }
  }
  return out;
}
