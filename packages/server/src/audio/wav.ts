import { invalidArgument } from "../errors.js";
import { decodePcm, type SampleEncoding } from "./pcm.js";

export interface DecodedAudio {
  sampleRate: number;
  /** Mono samples in [-1, 1]. */
  samples: Float32Array;
}

const WAVE_FORMAT_PCM = 1;
const WAVE_FORMAT_IEEE_FLOAT = 3;
const WAVE_FORMAT_EXTENSIBLE = 0xfffe;

/**
 * Parses a RIFF/WAVE file: PCM 16-bit or IEEE float 32-bit, mono or stereo (mixed down).
 * Chunks other than fmt and data are skipped; a data chunk that claims more bytes than the file
 * holds is read to the end of the file (common in streamed WAVs).
 */
export function parseWav(bytes: Uint8Array): DecodedAudio {
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const ascii = (offset: number) => String.fromCharCode(...bytes.subarray(offset, offset + 4));
  if (bytes.byteLength < 12 || ascii(0) !== "RIFF" || ascii(8) !== "WAVE") {
    throw invalidArgument("audio is not a RIFF/WAVE file");
  }
  let offset = 12;
  let format: { encoding: SampleEncoding; channels: number; sampleRate: number } | undefined;
  while (offset + 8 <= bytes.byteLength) {
    const id = ascii(offset);
    const size = view.getUint32(offset + 4, true);
    const body = offset + 8;
    if (id === "fmt ") {
      if (size < 16 || body + 16 > bytes.byteLength) throw invalidArgument("WAV fmt chunk is truncated");
      let tag = view.getUint16(body, true);
      const channels = view.getUint16(body + 2, true);
      const sampleRate = view.getUint32(body + 4, true);
      const bits = view.getUint16(body + 14, true);
      if (tag === WAVE_FORMAT_EXTENSIBLE && size >= 40) tag = view.getUint16(body + 24, true);
      if (tag === WAVE_FORMAT_PCM && bits === 16) format = { encoding: "s16le", channels, sampleRate };
      else if (tag === WAVE_FORMAT_IEEE_FLOAT && bits === 32) format = { encoding: "f32le", channels, sampleRate };
      else throw invalidArgument(`WAV format ${tag} with ${bits} bits is not supported (use 16-bit PCM or 32-bit float)`);
    } else if (id === "data") {
      if (!format) throw invalidArgument("WAV data chunk comes before its fmt chunk");
      const end = Math.min(bytes.byteLength, body + size);
      const sampleBytes = format.encoding === "s16le" ? 2 : 4;
      const usable = end - body - ((end - body) % (sampleBytes * Math.max(1, format.channels)));
      const samples = decodePcm(bytes.subarray(body, body + usable), format.encoding, format.channels);
      return { sampleRate: format.sampleRate, samples };
    }
    offset = body + size + (size % 2);
  }
  throw invalidArgument("WAV file has no data chunk");
}

/** A 16-bit PCM mono WAV file of `samples` (used by the CLI and tests). */
export function encodeWav(samples: Float32Array, sampleRate: number): Uint8Array {
  const out = new Uint8Array(44 + samples.length * 2);
  const view = new DataView(out.buffer);
  const put = (offset: number, text: string) => {
    for (let i = 0; i < text.length; i++) out[offset + i] = text.charCodeAt(i);
  };
  put(0, "RIFF");
  view.setUint32(4, 36 + samples.length * 2, true);
  put(8, "WAVE");
  put(12, "fmt ");
  view.setUint32(16, 16, true);
  view.setUint16(20, WAVE_FORMAT_PCM, true);
  view.setUint16(22, 1, true);
  view.setUint32(24, sampleRate, true);
  view.setUint32(28, sampleRate * 2, true);
  view.setUint16(32, 2, true);
  view.setUint16(34, 16, true);
  put(36, "data");
  view.setUint32(40, samples.length * 2, true);
  for (let i = 0; i < samples.length; i++) {
    const v = Math.round(Math.max(-1, Math.min(1, samples[i]!)) * 32768);
    view.setInt16(44 + i * 2, Math.max(-32768, Math.min(32767, v)), true);
  }
  return out;
}
