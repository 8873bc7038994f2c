/**
 * The features stage of a session: each frame's encoder input becomes its feature once (with the
 * first job whose window reaches it, batched across sessions by the engine), and each frame's
 * audio window, the UNet's audio input, is laid from the features of its neighbours. Every
 * feature is computed, even for a frame dropped late: the next frames' windows read it.
 */
import { audioWindow, type WindowSource } from "../audio/frontends/feature-window.js";
import type { Schedule } from "../engine/deadline.js";
import type { LipSyncModel } from "../engine/model.js";
import type { FrameJob } from "./speech-session.js";

export class FeatureStage {
  /** Features of the current utterance's frames, by frame index. */
  private readonly features = new Map<number, Promise<Float32Array>>();
  private segment = -1;

  constructor(private readonly model: Pick<LipSyncModel, "encode">, private readonly src: WindowSource) {}

  /** The job's audio window, once every feature it reads is encoded; never an unhandled rejection. */
  window(job: FrameJob, schedule: Schedule): Promise<Float32Array> {
    if (job.segment !== this.segment) {
      this.features.clear();
      this.segment = job.segment;
    }
    // Features are never dropped (later windows need them): the deadline only orders the work.
    const encode: Schedule = { ...(schedule.deadline === undefined ? {} : { deadline: schedule.deadline }), ...(schedule.signal ? { signal: schedule.signal } : {}) };
    for (const { frame, input } of job.inputs) {
      const feature = this.model.encode(input, encode).then((r) => r.value);
      feature.catch(() => undefined);
      this.features.set(frame, feature);
    }
    const window = audioWindow(this.src, job.frame, job.count, (k) => this.features.get(k) ?? Promise.reject(new Error(`missing feature of frame ${k}`)));
    window.catch(() => undefined);
    // No later frame's window reaches back past its own first slot.
    const first = job.frame + 1 + this.src.audio.window.first;
    for (const k of [...this.features.keys()]) if (k < first) this.features.delete(k);
    return window;
  }

  /** Barge-in: the utterance's features are forgotten. */
  clear(): void {
    this.features.clear();
  }
}
