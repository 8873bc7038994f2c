import { describe, expect, it } from "vitest";
import { DEFAULT_MEL, defaultMelTiming, SAMPLES_PER_FRAME } from "../audio/constants.js";
import { idleIndex, SpeechSession, type FrameJob } from "./speech-session.js";

/** The demo model's audio: mel windows 8 frames back, a past-only context of 8 features. */
function session(inputRate: number, continuous = false, now = 0) {
  return new SpeechSession({
    frameCount: 125, samplesPerFrame: SAMPLES_PER_FRAME, frontEnd: { kind: "mel", mel: DEFAULT_MEL, timing: defaultMelTiming(DEFAULT_MEL) },
    window: { first: -7, last: 0, padding: "silence" }, inputRate, continuous,
  }, now);
}

/** Pushes `seconds` of audio at `rate` in chunks of `chunkMs`, ends, and collects every job. */
function run(rate: number, seconds: number, chunkMs: number): { jobs: FrameJob[]; resampled: number } {
  const s = session(rate);
  const total = Math.round(rate * seconds);
  const chunk = Math.max(1, Math.round((rate * chunkMs) / 1000));
  const jobs: FrameJob[] = [];
  for (let i = 0; i < total; i += chunk) {
    s.pushAudio(new Float32Array(Math.min(chunk, total - i)).fill(0.01), 0);
    jobs.push(...s.takeJobs(1000));
  }
  s.end(0);
  jobs.push(...s.takeJobs(100000));
  const done = s.finishIfDone(0)!;
  expect(done.endPts - done.startPts).toBe(jobs.length * SAMPLES_PER_FRAME);
  return { jobs, resampled: Math.ceil((total * 16000) / rate) };
}

describe("pts continuity", () => {
  const rates = [8000, 11025, 16000, 22050, 24000, 32000, 44100, 48000];
  const chunks = [1, 10, 20, 40, 137, 1000];
  for (const rate of rates) {
    it(`frames = ceil(samples / 640), pts step 640, at ${rate} Hz for chunks of 1 ms to 1 s`, () => {
      for (const chunkMs of chunks) {
        const { jobs, resampled } = run(rate, 1.37, chunkMs);
        expect(jobs.length).toBe(Math.ceil(resampled / SAMPLES_PER_FRAME));
        jobs.forEach((j, i) => {
          expect(j.frame).toBe(i);
          expect(j.pts).toBe(i * SAMPLES_PER_FRAME);
        });
      }
    });
  }

  it("gives the same mel windows whatever the chunking", () => {
    const a = run(44100, 0.8, 1).jobs;
    const b = run(44100, 0.8, 1000).jobs;
    expect(a.length).toBe(b.length);
    a.forEach((j, i) => {
      // A past-only window: each job brings exactly its own frame's mel window.
      expect(j.inputs.map((x) => x.frame)).toEqual([i]);
      expect(Array.from(j.inputs[0]!.input)).toEqual(Array.from(b[i]!.inputs[0]!.input));
    });
  });

  it("holds a frame back until its lookahead has arrived", () => {
    const s = session(16000);
    s.pushAudio(new Float32Array(1799), 0);
    expect(s.takeJobs(10)).toHaveLength(0);
    s.pushAudio(new Float32Array(1), 0);
    expect(s.takeJobs(10).map((j) => j.frame)).toEqual([0]);
  });

  it("continues the clock across utterances without overlap", () => {
    const s = session(16000);
    s.pushAudio(new Float32Array(1000), 0);
    s.end(0);
    const first = s.takeJobs(100);
    const a = s.finishIfDone(0)!;
    expect(first).toHaveLength(2);
    expect(a).toMatchObject({ startPts: 0, endPts: 1280 });
    const started = s.pushAudio(new Float32Array(640), 0);
    expect(started).toBe(1280);
    s.end(0);
    expect(s.takeJobs(100).map((j) => j.pts)).toEqual([1280]);
  });
});

describe("barge-in", () => {
  it("drops queued audio and resumes the clock where sending stopped", () => {
    const s = session(16000, true, 0);
    s.pushAudio(new Float32Array(16000 * 3), 0);
    const jobs = s.takeJobs(10);
    expect(jobs).toHaveLength(10);
    expect(s.queuedSamples).toBeGreaterThan(0);
    const bounds = s.clear(4 * SAMPLES_PER_FRAME, 100)!;
    expect(bounds).toMatchObject({ startPts: 0, endPts: 4 * SAMPLES_PER_FRAME });
    expect(s.speaking).toBe(false);
    expect(s.queuedSamples).toBe(0);
    expect(s.takeJobs(10)).toHaveLength(0);
    // Idle resumes at once, at the pts after the last frame sent.
    expect(s.idleDue(100)).toEqual({ pts: 4 * SAMPLES_PER_FRAME, sourceIndex: 4 });
  });
});

describe("idle pacing", () => {
  it("emits one idle frame per 40 ms of wall time in continuous mode only", () => {
    const s = session(16000, true, 1000);
    expect(s.idleDue(1000)).toEqual({ pts: 0, sourceIndex: 0 });
    expect(s.idleDue(1000)).toBeUndefined();
    expect(s.idleDue(1039)).toBeUndefined();
    expect(s.idleDue(1040)).toEqual({ pts: 640, sourceIndex: 1 });
    expect(session(16000, false).idleDue(5000)).toBeUndefined();
  });

  it("skips ahead rather than bursting after a stall", () => {
    const s = session(16000, true, 0);
    s.idleDue(0);
    const late = s.idleDue(1000)!;
    expect(late.pts).toBeGreaterThanOrEqual(24 * SAMPLES_PER_FRAME);
    expect(s.idleDue(1000)).toBeUndefined();
  });

  it("starts speech on the next frame of the continuous stream", () => {
    const s = session(16000, true, 0);
    s.idleDue(0);
    s.idleDue(40);
    expect(s.pushAudio(new Float32Array(100), 50)).toBe(2 * SAMPLES_PER_FRAME);
    expect(s.idleDue(1000)).toBeUndefined();
  });

  it("walks the idle loop back and forth", () => {
    expect([0, 1, 123, 124, 125, 126, 247, 248, 249].map((k) => idleIndex(k, 125))).toEqual([0, 1, 123, 124, 123, 122, 1, 0, 1]);
  });
});

describe("other frame rates and centred windows", () => {
  /** Ultralight-like: 20 fps, a waveform window of 1000 samples from 200 before the frame, window -4 .. +3. */
  function centred(inputRate = 16000) {
    return new SpeechSession({
      frameCount: 40, samplesPerFrame: 800, frontEnd: { kind: "waveform", windowSamples: 1000, offsetSamples: -200 },
      window: { first: -4, last: 3, padding: "zero" }, inputRate, continuous: false,
    }, 0);
  }

  it("steps pts by 800 at 20 fps and makes ceil(N / 800) frames", () => {
    const s = centred(24000);
    const jobs: FrameJob[] = [];
    s.pushAudio(new Float32Array(24000 * 1.23), 0);
    jobs.push(...s.takeJobs(1000));
    s.end(0);
    jobs.push(...s.takeJobs(1000));
    const samples = Math.ceil(16000 * 1.23);
    expect(jobs).toHaveLength(Math.ceil(samples / 800));
    jobs.forEach((j, i) => expect(j.pts).toBe(i * 800));
    expect(s.finishIfDone(0)).toMatchObject({ startPts: 0, endPts: jobs.length * 800 });
  });

  it("holds frame j until frame j + 3's window has arrived, and hands each input out once", () => {
    const s = centred();
    // Frame 3's window ends at 3 * 800 - 200 + 1000 = 3200 samples.
    s.pushAudio(new Float32Array(3199), 0);
    expect(s.takeJobs(10)).toHaveLength(0);
    s.pushAudio(new Float32Array(1), 0);
    const [first, ...rest] = s.takeJobs(10);
    expect(rest).toHaveLength(0);
    expect(first!.inputs.map((x) => x.frame)).toEqual([0, 1, 2, 3]);
    expect(first!.count).toBeUndefined();
    s.pushAudio(new Float32Array(800), 0);
    expect(s.takeJobs(10).map((j) => j.inputs.map((x) => x.frame))).toEqual([[4]]);
    s.end(0);
    const tail = s.takeJobs(10);
    // 4000 samples: 5 frames, every input already handed out; the count bounds the windows.
    expect(tail.map((j) => j.frame)).toEqual([2, 3, 4]);
    expect(tail.flatMap((j) => j.inputs)).toEqual([]);
    expect(tail.every((j) => j.count === 5)).toBe(true);
  });
});

describe("utterances back to back", () => {
  it("queues audio sent after end behind the utterance still rendering", () => {
    const s = session(16000);
    s.pushAudio(new Float32Array(3 * 640), 0);
    s.end(0);
    const a = s.takeJobs(1);
    // The next utterance arrives before the first is fully taken.
    expect(s.pushAudio(new Float32Array(2 * 640), 0)).toBeUndefined();
    s.end(0);
    const rest = s.takeJobs(100);
    expect([...a, ...rest].map((j) => j.pts)).toEqual([0, 640, 1280]);
    const first = s.finishIfDone(0)!;
    expect(first).toMatchObject({ startPts: 0, endPts: 1920, next: 1920 });
    expect(s.takeJobs(100).map((j) => [j.segment, j.pts])).toEqual([[2, 1920], [2, 2560]]);
    expect(s.finishIfDone(0)).toMatchObject({ startPts: 1920, endPts: 3200, next: undefined });
    expect(s.speaking).toBe(false);
  });

  it("drops queued utterances on clear", () => {
    const s = session(16000);
    s.pushAudio(new Float32Array(3 * 640), 0);
    s.end(0);
    s.pushAudio(new Float32Array(3 * 640), 0);
    s.takeJobs(1);
    expect(s.clear(640, 10)).toMatchObject({ startPts: 0, endPts: 640 });
    expect(s.speaking).toBe(false);
    expect(s.queuedSamples).toBe(0);
  });
});

describe("when frames are due", () => {
  it("is when their audio completed, for audio streamed in real time", () => {
    const s = session(16000);
    const jobs: FrameJob[] = [];
    // 40 ms chunks arriving every 40 ms from t = 1000.
    for (let k = 0; k < 20; k++) {
      s.pushAudio(new Float32Array(640), 1000 + k * 40);
      jobs.push(...s.takeJobs(100));
    }
    expect(jobs.length).toBeGreaterThan(10);
    for (const j of jobs) {
      // Frame j needs samples up to 640 j + 1800: chunk ceil((640 j + 1800) / 640) - 1.
      const chunk = Math.ceil((j.frame * 640 + 1800) / 640) - 1;
      expect(j.dueAt).toBe(1000 + chunk * 40);
    }
  });

  it("is its real-time slot, for audio that arrived ahead", () => {
    const s = session(16000);
    s.pushAudio(new Float32Array(640 * 50), 500);
    s.end(500);
    const jobs = s.takeJobs(100);
    expect(jobs).toHaveLength(50);
    jobs.forEach((j, i) => expect(j.dueAt).toBe(500 + i * 40));
  });
});
