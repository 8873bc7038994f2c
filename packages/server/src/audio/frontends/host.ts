/**
 * The compute of a live session's audio: input-rate samples in, resampled to 16 kHz, through the
 * front end's input stream, out come the encoder inputs of frames as they become ready. Sans-I/O
 * and keyed by utterance, so one host serves many sessions: on the main thread (`LocalFrontEnd`,
 * synchronous) or in worker threads (frontend-pool.ts), where resampling and mel features cost the
 * main thread nothing. Either way the session sees the same `FrontEndUpdate`s in the same order.
 */
import { SAMPLE_RATE } from "../constants.js";
import { Resampler } from "../resampler.js";
import { openInputs } from "./inputs.js";
import type { EncoderInputStream, FrontEndSpec } from "./types.js";

export interface UtteranceSpec {
  frontEnd: FrontEndSpec;
  samplesPerFrame: number;
  inputRate: number;
}

export interface FrontEndUpdate {
  /** 16 kHz samples of the utterance so far (final once `ended`). */
  samples: number;
  /** Encoder inputs of the next frames, in frame order, from `first`. */
  first: number;
  inputs: Float32Array[];
  /** Every input of the utterance has been sent. */
  ended: boolean;
}

export type UpdateListener = (key: number, update: FrontEndUpdate) => void;

/** Where a session's audio is computed; updates reach the listener given at creation. */
export interface FrontEnd {
  open(key: number, spec: UtteranceSpec): void;
  push(key: number, samples: Float32Array): void;
  /** No more audio: the rest of the inputs follow, then an update with `ended`. */
  end(key: number): void;
  /** Forget the utterance (barge-in, session closed): no further updates for `key`. */
  drop(key: number): void;
}

/** 16 kHz samples an utterance of `inputSamples` at `rate` resamples to (Resampler's exact count). */
export function resampledLength(inputSamples: number, rate: number): number {
  return rate === SAMPLE_RATE ? inputSamples : Math.ceil((inputSamples * SAMPLE_RATE) / rate);
}

interface Utterance {
  spec: UtteranceSpec;
  resampler: Resampler;
  inputs: EncoderInputStream;
  samples: number;
  /** Next frame whose input has not been sent. */
  next: number;
}

/** The per-utterance state and its rules; `FrontEnd`s wrap it. */
export class FrontEndHost {
  private readonly utterances = new Map<number, Utterance>();

  open(key: number, spec: UtteranceSpec): void {
    const inputs = openInputs(spec.frontEnd, spec.samplesPerFrame);
    if (!inputs) throw new Error("a speech session needs a live audio front end");
    this.utterances.set(key, { spec, resampler: new Resampler(spec.inputRate, SAMPLE_RATE), inputs, samples: 0, next: 0 });
  }

  push(key: number, samples: Float32Array): FrontEndUpdate | undefined {
    const u = this.utterances.get(key);
    if (!u) return undefined;
    this.feed(u, u.resampler.push(samples));
    return this.collect(u, false);
  }

  end(key: number): FrontEndUpdate | undefined {
    const u = this.utterances.get(key);
    if (!u) return undefined;
    this.feed(u, u.resampler.flush());
    u.inputs.end();
    this.utterances.delete(key);
    return this.collect(u, true);
  }

  drop(key: number): void {
    this.utterances.delete(key);
  }

  private feed(u: Utterance, samples: Float32Array): void {
    if (samples.length === 0) return;
    u.samples += samples.length;
    u.inputs.push(samples);
  }

  /** Inputs of the frames that became ready; after the end, every frame's. */
  private collect(u: Utterance, ended: boolean): FrontEndUpdate {
    const first = u.next;
    const inputs: Float32Array[] = [];
    const total = ended ? Math.ceil(u.samples / u.spec.samplesPerFrame) : Number.POSITIVE_INFINITY;
    while (u.next < total && (ended || u.inputs.ready(u.next))) inputs.push(u.inputs.input(u.next++));
    u.inputs.discardBefore(u.next);
    return { samples: u.samples, first, inputs, ended };
  }
}

/** On the calling thread: each update is delivered before push/end return. */
export class LocalFrontEnd implements FrontEnd {
  private readonly host = new FrontEndHost();

  constructor(private readonly listener: UpdateListener) {}

  open(key: number, spec: UtteranceSpec): void {
    this.host.open(key, spec);
  }

  push(key: number, samples: Float32Array): void {
    const u = this.host.push(key, samples);
    if (u) this.listener(key, u);
  }

  end(key: number): void {
    const u = this.host.end(key);
    if (u) this.listener(key, u);
  }

  drop(key: number): void {
    this.host.drop(key);
  }
}
