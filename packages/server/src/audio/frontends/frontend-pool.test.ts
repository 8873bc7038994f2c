import { afterAll, describe, expect, it } from "vitest";
import { DEFAULT_MEL, defaultMelTiming, SAMPLES_PER_FRAME } from "../constants.js";
import { SpeechSession, type FrameJob, type FrontEndFactory } from "../../session/speech-session.js";
import { FrontEndPool } from "./frontend-pool.js";

const pool = new FrontEndPool(2);
afterAll(() => pool.close());

function session(rate: number, frontEnd?: FrontEndFactory) {
  return new SpeechSession({
    frameCount: 125, samplesPerFrame: SAMPLES_PER_FRAME, frontEnd: { kind: "mel", mel: DEFAULT_MEL, timing: defaultMelTiming(DEFAULT_MEL) },
    window: { first: -7, last: 0, padding: "silence" }, inputRate: rate, continuous: false,
  }, 0, frontEnd);
}

const speech = (n: number) => Float32Array.from({ length: n }, (_, i) => 0.3 * Math.sin(i * 0.07) * Math.sin(i * 0.0013));

/** Streams `seconds` in 40 ms chunks, ends, and collects every job (waiting for worker updates). */
async function jobsOf(s: SpeechSession, rate: number, seconds: number): Promise<FrameJob[]> {
  const jobs: FrameJob[] = [];
  const audio = speech(Math.round(rate * seconds));
  const chunk = rate / 25;
  const done = new Promise<void>((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error("no end in 10 s")), 10_000);
    s.onUpdate = () => {
      jobs.push(...s.takeJobs(1000));
      if (s.finishIfDone(0)) {
        clearTimeout(timer);
        resolve();
      }
    };
  });
  for (let i = 0; i < audio.length; i += chunk) {
    s.pushAudio(audio.subarray(i, i + chunk), 0);
    jobs.push(...s.takeJobs(1000));
  }
  s.end(0);
  jobs.push(...s.takeJobs(1000));
  if (!s.finishIfDone(0)) await done;
  return jobs;
}

describe("audio front ends in worker threads", () => {
  for (const rate of [16000, 24000]) {
    it(`give the same jobs, inputs and pts as the main thread (${rate} Hz)`, async () => {
      const local = await jobsOf(session(rate), rate, 1.3);
      const remote = await jobsOf(session(rate, (l) => pool.client(l)), rate, 1.3);
      expect(remote.map((j) => j.pts)).toEqual(local.map((j) => j.pts));
      expect(remote.length).toBe(Math.ceil(Math.ceil((rate * 1.3 * 16000) / rate) / 640));
      remote.forEach((j, i) => {
        const l = local[i]!;
        expect(j.inputs.map((x) => x.frame)).toEqual(l.inputs.map((x) => x.frame));
        j.inputs.forEach((x, k) => expect(Array.from(x.input)).toEqual(Array.from(l.inputs[k]!.input)));
      });
    });
  }

  it("forgets a cleared utterance and keeps sessions apart", async () => {
    const a = session(16000, (l) => pool.client(l));
    a.pushAudio(speech(16000), 0);
    a.clear(0, 0);
    const b = await jobsOf(session(16000, (l) => pool.client(l)), 16000, 0.5);
    expect(b.length).toBe(Math.ceil(8000 / 640));
    expect(a.takeJobs(100)).toEqual([]);
  });
});
