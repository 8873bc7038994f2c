/**
 * Speech on the Web Audio clock. Chunks of an utterance are scheduled back to back from the
 * moment its first frame is ready; `stop()` silences everything at once (barge-in). The audio
 * context's currentTime is the player's only clock.
 */
export class AudioOutput {
  readonly ctx: AudioContext;
  private readonly out: GainNode;
  private readonly muted: GainNode;
  private sources = new Set<AudioBufferSourceNode>();
  /** Audio time at which the next chunk of the current utterance starts. */
  private next = 0;

  constructor(ctx: AudioContext) {
    this.ctx = ctx;
    this.out = ctx.createGain();
    this.out.connect(ctx.destination);
    // Microphone audio runs through the graph silently: it keeps one clock without echo.
    this.muted = ctx.createGain();
    this.muted.gain.value = 0;
    this.muted.connect(ctx.destination);
  }

  /** Starts a new utterance whose first sample sounds at `at` (audio time, seconds). */
  begin(at: number): void {
    this.next = Math.max(at, this.ctx.currentTime);
  }

  /** Queues mono samples after what is already scheduled; returns their start time. */
  schedule(samples: Float32Array, rate: number, silent = false): number {
    const buffer = this.ctx.createBuffer(1, Math.max(1, samples.length), rate);
    buffer.copyToChannel(samples as Float32Array<ArrayBuffer>, 0);
    const src = this.ctx.createBufferSource();
    src.buffer = buffer;
    src.connect(silent ? this.muted : this.out);
    const at = Math.max(this.next, this.ctx.currentTime);
    src.start(at);
    this.next = at + samples.length / rate;
    this.sources.add(src);
    src.onended = () => this.sources.delete(src);
    return at;
  }

  /** Audio time when everything scheduled has played. */
  get scheduledUntil(): number {
    return this.next;
  }

  /** Silences all scheduled speech now. */
  stop(): void {
    for (const s of this.sources) {
      try {
        s.stop();
      } catch {
        // Already stopped.
      }
    }
    this.sources.clear();
    this.next = this.ctx.currentTime;
  }
}

/** Mono samples at the context's rate from whatever the caller gave us. */
export async function decodeAudio(ctx: BaseAudioContext, input: Blob | ArrayBuffer | AudioBuffer | string): Promise<AudioBuffer> {
  if (input instanceof AudioBuffer) return input;
  let bytes: ArrayBuffer;
  if (typeof input === "string") {
    const res = await fetch(input);
    if (!res.ok) throw new Error(`cannot fetch audio (${res.status})`);
    bytes = await res.arrayBuffer();
  } else if (input instanceof Blob) {
    bytes = await input.arrayBuffer();
  } else {
    bytes = input.slice(0);
  }
  try {
    return await ctx.decodeAudioData(bytes);
  } catch {
    throw new Error("the audio could not be decoded (use WAV, MP3, OGG or another format the browser plays)");
  }
}

export function mono(buffer: AudioBuffer): Float32Array {
  if (buffer.numberOfChannels === 1) return buffer.getChannelData(0).slice();
  const out = new Float32Array(buffer.length);
  for (let c = 0; c < buffer.numberOfChannels; c++) {
    const d = buffer.getChannelData(c);
    for (let i = 0; i < out.length; i++) out[i]! += d[i]! / buffer.numberOfChannels;
  }
  return out;
}

export function toPcm16(samples: Float32Array): Uint8Array {
  const out = new Uint8Array(samples.length * 2);
  const v = new DataView(out.buffer);
  for (let i = 0; i < samples.length; i++) {
    const x = Math.max(-1, Math.min(1, samples[i]!));
    v.setInt16(i * 2, Math.max(-32768, Math.min(32767, Math.round(x * 32768))), true);
  }
  return out;
}

export function fromPcm16(bytes: Uint8Array): Float32Array {
  const v = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  return Float32Array.from({ length: bytes.byteLength >> 1 }, (_, i) => v.getInt16(i * 2, true) / 32768);
}
