/**
 * One `lk.audio_stream` byte stream as mono float samples at the room session's rate. The agent
 * sends raw interleaved s16 PCM and says how in the stream's attributes `sample_rate` and
 * `num_channels` (LiveKit Agents' DataStreamAudioOutput; its receiver refuses a stream without
 * them, and so do we). Chunks may split a sample frame: the odd bytes wait for the next chunk.
 */
import { MAX_INPUT_RATE, MIN_INPUT_RATE } from "../../audio/constants.js";
import { Resampler } from "../../audio/resampler.js";
import { invalidArgument } from "../../errors.js";

export const AUDIO_STREAM_TOPIC = "lk.audio_stream";
const MAX_CHANNELS = 8;

export interface StreamFormat {
  sampleRate: number;
  channels: number;
}

/** The stream's format from its attributes, or INVALID_ARGUMENT naming what is wrong. */
export function streamFormat(attributes: Record<string, string> | undefined): StreamFormat {
  const rate = attributes?.sample_rate;
  const channels = attributes?.num_channels;
  if (rate === undefined || channels === undefined) throw invalidArgument("audio stream without the sample_rate and num_channels attributes");
  const r = Number(rate);
  const c = Number(channels);
  if (!/^\d+$/.test(rate) || r < MIN_INPUT_RATE || r > MAX_INPUT_RATE) throw invalidArgument(`audio stream sample_rate must be an integer ${MIN_INPUT_RATE}..${MAX_INPUT_RATE}`);
  if (!/^\d+$/.test(channels) || c < 1 || c > MAX_CHANNELS) throw invalidArgument(`audio stream num_channels must be an integer 1..${MAX_CHANNELS}`);
  return { sampleRate: r, channels: c };
}

export class StreamAudio {
  private readonly frameBytes: number;
  private pending = new Uint8Array(0);
  private readonly resampler: Resampler | undefined;

  constructor(readonly format: StreamFormat, readonly outRate: number) {
    this.frameBytes = 2 * format.channels;
    this.resampler = format.sampleRate === outRate ? undefined : new Resampler(format.sampleRate, outRate);
  }

  /** The samples a chunk completes (mono, at outRate; may be empty). */
  push(chunk: Uint8Array): Float32Array {
    let bytes = chunk;
    if (this.pending.length > 0) {
      bytes = new Uint8Array(this.pending.length + chunk.length);
      bytes.set(this.pending);
      bytes.set(chunk, this.pending.length);
    }
    const whole = bytes.length - (bytes.length % this.frameBytes);
    this.pending = bytes.slice(whole);
    const mono = downmix(bytes.subarray(0, whole), this.format.channels);
    return this.resampler ? this.resampler.push(mono) : mono;
  }

  /** What remains at the end of the stream (a trailing partial sample frame is dropped). */
  end(): Float32Array {
    this.pending = new Uint8Array(0);
    return this.resampler ? this.resampler.flush() : new Float32Array(0);
  }
}

/** Interleaved s16le to mono float in [-1, 1) (v / 32768, as the rest of the server reads PCM). */
function downmix(bytes: Uint8Array, channels: number): Float32Array {
  const n = bytes.length / (2 * channels);
  const out = new Float32Array(n);
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  for (let i = 0; i < n; i++) {
    let sum = 0;
    for (let c = 0; c < channels; c++) sum += view.getInt16((i * channels + c) * 2, true);
    out[i] = sum / channels / 32768;
  }
  return out;
}
