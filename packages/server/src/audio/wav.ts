import { invalidArgument } from "../errors.js";
import { decodePcm } from "./pcm.js";

export interface DecodedAudio {
  sampleRate: number;
  /** Mono samples in [-1, 1]. */
  samples: Float32Array;
}

const WAVE_FORMAT_PCM = 1;
const WAVE_FORMAT_IEEE_FLOAT = 3;
const WAVE_FORMAT_EXTENSIBLE = 0xfffe;
/** More channels than any speech source has; a bound on work per sample frame. */
const MAX_CHANNELS = 32;

type SampleFormat = "u8" | "s16" | "s24" | "s32" | "f32" | "f64";

interface Format {
  sample: SampleFormat;
  bytes: number;
  channels: number;
  sampleRate: number;
}

/** The sample format of a fmt chunk's tag and bit depth, or a clear refusal. */
function sampleFormat(tag: number, bits: number): { sample: SampleFormat; bytes: number } {
  if (tag === WAVE_FORMAT_PCM) {
    if (bits === 8) return { sample: "u8", bytes: 1 };
    if (bits === 16) return { sample: "s16", bytes: 2 };
    if (bits === 24) return { sample: "s24", bytes: 3 };
    if (bits === 32) return { sample: "s32", bytes: 4 };
  }
  if (tag === WAVE_FORMAT_IEEE_FLOAT) {
    if (bits === 32) return { sample: "f32", bytes: 4 };
    if (bits === 64) return { sample: "f64", bytes: 8 };
  }
  throw invalidArgument(`WAV format ${tag} with ${bits} bits is not supported (integer PCM of 8, 16, 24 or 32 bits, or 32/64-bit float)`);
}

/** Interleaved samples of any supported format to mono floats in [-1, 1]. */
function decodeSamples(bytes: Uint8Array, f: Format): Float32Array {
  const frame = f.bytes * f.channels;
  const n = Math.floor(bytes.byteLength / frame);
  if (f.sample === "s16" && f.channels <= 2) return decodePcm(bytes.subarray(0, n * frame), "s16le", f.channels);
  const out = new Float32Array(n);
  const v = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const read = (o: number): number => {
    switch (f.sample) {
      case "u8": return (v.getUint8(o) - 128) / 128;
      case "s16": return v.getInt16(o, true) / 32768;
      case "s24": return ((v.getUint8(o) | (v.getUint8(o + 1) << 8) | (v.getInt8(o + 2) << 16))) / 8388608;
      case "s32": return v.getInt32(o, true) / 2147483648;
      case "f32": return v.getFloat32(o, true);
      case "f64": return v.getFloat64(o, true);
    }
  };
  for (let i = 0; i < n; i++) {
    let sum = 0;
    for (let c = 0; c < f.channels; c++) sum += read(i * frame + c * f.bytes);
    if (!Number.isFinite(sum)) throw invalidArgument("audio contains NaN or infinite samples");
    out[i] = sum / f.channels;
  }
  return out;
}

/**
 * Parses a RIFF/WAVE file: integer PCM of 8 (unsigned), 16, 24 or 32 bits, IEEE float of 32 or
 * 64 bits, plain or WAVE_FORMAT_EXTENSIBLE, any number of channels up to 32 (mixed down to
 * mono). Chunks other than fmt and data are skipped; a data chunk that claims more bytes than
 * the file holds is read to the end of the file (common in streamed WAVs and ffmpeg's pipes).
 */
export function parseWav(bytes: Uint8Array): DecodedAudio {
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const ascii = (offset: number) => String.fromCharCode(...bytes.subarray(offset, offset + 4));
  if (bytes.byteLength < 12 || ascii(0) !== "RIFF" || ascii(8) !== "WAVE") {
    throw invalidArgument("audio is not a RIFF/WAVE file");
  }
  let offset = 12;
  let format: Format | undefined;
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
      if (tag === WAVE_FORMAT_EXTENSIBLE) {
        // The real format is the first two bytes of the SubFormat GUID.
        if (size < 40 || body + 26 > bytes.byteLength) throw invalidArgument("WAV extensible fmt chunk is truncated");
        tag = view.getUint16(body + 24, true);
      }
      if (channels < 1 || channels > MAX_CHANNELS) throw invalidArgument(`WAV has ${channels} channels; 1..${MAX_CHANNELS} are supported`);
      format = { ...sampleFormat(tag, bits), channels, sampleRate };
    } else if (id === "data") {
      if (!format) throw invalidArgument("WAV data chunk comes before its fmt chunk");
      const end = Math.min(bytes.byteLength, body + size);
      return { sampleRate: format.sampleRate, samples: decodeSamples(bytes.subarray(body, end), format) };
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
