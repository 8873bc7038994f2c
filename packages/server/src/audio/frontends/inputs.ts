/**
 * The Sans-I/O halves of the front ends: samples of one utterance in, frame j's encoder input
 * out. Both give the same inputs however the audio is chunked (tested against the offline path).
 */
import { FrameWindows, silenceWindow } from "../frame-windows.js";
import { MelStream } from "../mel.js";
import { SampleWindow } from "../sample-window.js";
import type { EncoderInputStream, FrontEndSpec } from "./types.js";

/** Mel front end: streaming mel (training/mel.py's), then each frame's mel window. */
class MelInputs implements EncoderInputStream {
  private readonly mel: MelStream;
  private readonly windows: FrameWindows;

  constructor(spec: Extract<FrontEndSpec, { kind: "mel" }>, samplesPerFrame: number) {
    this.mel = new MelStream(spec.mel);
    this.windows = new FrameWindows(spec.mel, { ...spec.timing, samplesPerFrame });
  }

  push(samples: Float32Array): void {
    this.windows.add(this.mel.push(samples));
  }

  end(): void {
    this.windows.add(this.mel.flush());
    this.windows.end();
  }

  ready(frame: number): boolean {
    return this.windows.ready(frame);
  }

  input(frame: number): Float32Array {
    return this.windows.window(frame);
  }

  discardBefore(frame: number): void {
    this.windows.discardBefore(frame);
  }
}

/**
 * Waveform front end: frame j's input is the `windowSamples` samples from
 * j * samplesPerFrame + offsetSamples, zeros outside the utterance.
 */
class WaveformInputs implements EncoderInputStream {
  private readonly samples = new SampleWindow();
  private ended = false;

  constructor(private readonly spec: Extract<FrontEndSpec, { kind: "waveform" }>, private readonly samplesPerFrame: number) {}

  push(samples: Float32Array): void {
    this.samples.append(samples);
  }

  end(): void {
    this.ended = true;
  }

  ready(frame: number): boolean {
    return this.ended || this.samples.end >= this.start(frame) + this.spec.windowSamples;
  }

  input(frame: number): Float32Array {
    const out = new Float32Array(this.spec.windowSamples);
    const start = this.start(frame);
    for (let i = 0; i < out.length; i++) out[i] = this.samples.at(start + i);
    return out;
  }

  discardBefore(frame: number): void {
    this.samples.discardBefore(this.start(frame));
  }

  private start(frame: number): number {
    return frame * this.samplesPerFrame + this.spec.offsetSamples;
  }
}

/** The input stream of a live front end, or undefined for `none`. */
export function openInputs(spec: FrontEndSpec, samplesPerFrame: number): EncoderInputStream | undefined {
  if (spec.kind === "mel") return new MelInputs(spec, samplesPerFrame);
  if (spec.kind === "waveform") return new WaveformInputs(spec, samplesPerFrame);
  return undefined;
}

/** The encoder input of silence (what "silence" padding encodes). */
export function silenceInput(spec: FrontEndSpec): Float32Array | undefined {
  if (spec.kind === "mel") return silenceWindow(spec.mel);
  if (spec.kind === "waveform") return new Float32Array(spec.windowSamples);
  return undefined;
}

/** Per-item dims of the encoder's input: mel [1, n_mels, window_frames], waveform [samples]. */
export function encoderInputDims(spec: FrontEndSpec): number[] | undefined {
  if (spec.kind === "mel") return [1, spec.mel.nMels, spec.mel.windowFrames];
  if (spec.kind === "waveform") return [spec.windowSamples];
  return undefined;
}

/**
 * Samples past the end of frame j that its encoder input reads (the same for every j): how long
 * the front end makes a live frame wait, before the UNet window's own future frames.
 */
export function inputLookaheadSamples(spec: FrontEndSpec, samplesPerFrame: number): number {
  if (spec.kind === "mel") {
    const { mel, timing } = spec;
    // Worst case over the floor in the window start: up to one hop less than exact.
    const lastMelSample = timing.offsetSamples + (mel.windowFrames - 1) * mel.hopLength + mel.nFft / 2;
    return Math.max(0, lastMelSample - samplesPerFrame);
  }
  if (spec.kind === "waveform") return Math.max(0, spec.offsetSamples + spec.windowSamples - samplesPerFrame);
  return 0;
}

/** Offline: every frame's encoder input for a whole track of 16 kHz samples. */
export function trackInputs(spec: FrontEndSpec, samplesPerFrame: number, samples: Float32Array, frames: number): Float32Array[] {
  const stream = openInputs(spec, samplesPerFrame);
  if (!stream) return [];
  stream.push(samples);
  stream.end();
  return Array.from({ length: frames }, (_, j) => stream.input(j));
}
