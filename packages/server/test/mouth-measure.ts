/**
 * How the quality gate measures a mouth in the server's frames, and the real-speech set it is
 * measured on. The definitions are training/realspeech.py's (see its docstring and
 * training/README.md); `levels` is checked against Python's numbers in the gate.
 */
import { execFileSync } from "node:child_process";
import { createHash } from "node:crypto";
import { existsSync, readFileSync } from "node:fs";
import path from "node:path";
import { SAMPLES_PER_FRAME } from "../src/audio/constants.js";
import type { Avatar } from "../src/avatar/avatar.js";
import { SessionRunner } from "../src/session/session-runner.js";
import { MODELS_DIR } from "./reference.js";
import { rectOf } from "./frames.js";

export type Box = [number, number, number, number];

export interface Measure {
  speech_db: number;
  silence_db: number;
  silence_over_floor_db: number;
  silence_margin_frames: number;
  dark_luma: number;
  lips_box: Box;
  lags: number[];
}

export interface RealSpeechSet {
  decode: string;
  measure: Measure;
  check: { path: string; levels: number[] };
  sources: { source: string; package: string; version: string; kind: "speech" | "noise"; files: { path: string; sha256: string; frames: number }[] }[];
}

export const REAL_SPEECH_SET = path.join(MODELS_DIR, "realspeech", "set.json");

/** The set, with every file present and unchanged; a clear message names what to install. */
export function loadRealSpeechSet(): RealSpeechSet {
  const set: RealSpeechSet = JSON.parse(readFileSync(REAL_SPEECH_SET, "utf8"));
  for (const s of set.sources) {
    for (const f of s.files) {
      if (!existsSync(f.path)) throw new Error(`${f.path} is missing: install Debian's ${s.package} (bash scripts/setup.sh --system)`);
      const sha = createHash("sha256").update(readFileSync(f.path)).digest("hex");
      if (sha !== f.sha256) throw new Error(`${f.path} differs from the one the set was chosen from (${s.package} ${s.version}); rerun python3 -m training.realspeech select`);
    }
  }
  return set;
}

/** 16 kHz mono samples (int16 / 32768), decoded by ffmpeg exactly as training/realspeech.py does. */
export function decodeAudio(file: string): Float32Array {
  const raw = execFileSync("ffmpeg", ["-nostdin", "-v", "error", "-i", file, "-ac", "1", "-ar", "16000", "-f", "s16le", "-"], { maxBuffer: 1 << 28 });
  const pcm = new Int16Array(raw.buffer, raw.byteOffset, raw.byteLength >> 1);
  return Float32Array.from(pcm, (v) => v / 32768);
}

/** E_t: per video frame, the variance of its 640 samples smoothed (1/4, 1/2, 1/4) over frames, in dB. */
export function levels(samples: Float32Array): number[] {
  const n = Math.ceil(samples.length / SAMPLES_PER_FRAME);
  const p: number[] = [];
  for (let t = 0; t < n; t++) {
    let sum = 0;
    for (let i = 0; i < SAMPLES_PER_FRAME; i++) sum += samples[t * SAMPLES_PER_FRAME + i] ?? 0;
    const mean = sum / SAMPLES_PER_FRAME;
    let sq = 0;
    for (let i = 0; i < SAMPLES_PER_FRAME; i++) sq += ((samples[t * SAMPLES_PER_FRAME + i] ?? 0) - mean) ** 2;
    p.push(sq / SAMPLES_PER_FRAME);
  }
  return p.map((v, t) => 10 * Math.log10(0.25 * p[Math.max(t - 1, 0)]! + 0.5 * v + 0.25 * p[Math.min(t + 1, n - 1)]! + 1e-10));
}

/** env_t: the smoothed RMS amplitude relative to the clip's loudest frame (0..1). */
export function envelope(e: number[]): number[] {
  const peak = Math.max(...e);
  return e.map((v) => 10 ** ((v - peak) / 20));
}

export function speechMask(e: number[], m: Measure): boolean[] {
  const peak = Math.max(...e);
  return e.map((v) => v >= peak + m.speech_db);
}

/** Silent frames whose neighbours within `silence_margin_frames` are silent too. */
export function silenceMask(e: number[], m: Measure): boolean[] {
  const threshold = Math.max(Math.max(...e) + m.silence_db, Math.min(...e) + m.silence_over_floor_db);
  const silent = e.map((v) => v < threshold);
  const k = m.silence_margin_frames;
  return silent.map((_, t) => {
    for (let j = t - k; j <= t + k; j++) if (j >= 0 && j < silent.length && !silent[j]) return false;
    return true;
  });
}

export function pearson(a: number[], b: number[]): number {
  const ma = a.reduce((s, x) => s + x, 0) / a.length;
  const mb = b.reduce((s, x) => s + x, 0) / b.length;
  let sab = 0;
  let saa = 0;
  let sbb = 0;
  for (let i = 0; i < a.length; i++) {
    sab += (a[i]! - ma) * (b[i]! - mb);
    saa += (a[i]! - ma) ** 2;
    sbb += (b[i]! - mb) ** 2;
  }
  return sab / Math.sqrt(saa * sbb + 1e-12);
}

/** r of (x_t, y_{t+lag}) pooled over clips, both frames inside the same clip. */
export function laggedR(xs: number[][], ys: number[][], lag: number): number {
  const a: number[] = [];
  const b: number[] = [];
  xs.forEach((x, c) => {
    const y = ys[c]!;
    for (let t = Math.max(0, -lag); t < x.length && t + lag < y.length; t++) {
      a.push(x[t]!);
      b.push(y[t + lag]!);
    }
  });
  return pearson(a, b);
}

/** An RGB image and where its top-left pixel lies in the whole frame. */
export interface Placed {
  data: Uint8Array;
  width: number;
  x: number;
  y: number;
}

/** Dark pixels (BT.601 luma below the threshold) in a box of a crop (crop in frame coordinates). */
export function darkPixels(img: Placed, crop: readonly number[], box: Box, luma: number): number {
  const [bx0, by0, bx1, by1] = box;
  const threshold = luma * 255;
  let n = 0;
  for (let y = by0; y < by1; y++) {
    for (let x = bx0; x < bx1; x++) {
      const i = ((crop[1]! + y - img.y) * img.width + crop[0]! + x - img.x) * 3;
      if (img.data[i]! * 0.299 + img.data[i + 1]! * 0.587 + img.data[i + 2]! * 0.114 < threshold) n++;
    }
  }
  return n;
}

/** Mean absolute difference (0..255, over RGB) of two images inside a box of a crop. */
export function boxDifference(a: Placed, b: Placed, crop: readonly number[], box: Box): number {
  const [bx0, by0, bx1, by1] = box;
  let sum = 0;
  for (let y = by0; y < by1; y++) {
    for (let x = bx0; x < bx1; x++) {
      const fx = crop[0]! + x;
      const fy = crop[1]! + y;
      const i = ((fy - a.y) * a.width + fx - a.x) * 3;
      const j = ((fy - b.y) * b.width + fx - b.x) * 3;
      sum += Math.abs(a.data[i]! - b.data[j]!) + Math.abs(a.data[i + 1]! - b.data[j + 1]!) + Math.abs(a.data[i + 2]! - b.data[j + 2]!);
    }
  }
  return sum / ((bx1 - bx0) * (by1 - by0) * 3);
}

export interface ClipMeasure {
  /** o_t: dark pixels of the frame's lips box minus the source frame's. */
  opening: number[];
  /** m_t: mean |frame - source| in the lips box. */
  motion: number[];
  /** Pixels outside the mouth box that differ from the source frame. */
  outside: number;
}

/**
 * Runs one clip through a session (from pts 0) and measures every speech frame. With `patch`
 * the server sends only the mouth box (cheaper; the pixels outside it are then not checked).
 */
export async function measureClip(avatar: Avatar, samples: Float32Array, rate: number, box: Box, luma: number, patch = false): Promise<ClipMeasure> {
  // A clock frozen at 0 starts every clip at pts 0: the same source frames each run.
  const runner = new SessionRunner(avatar, { continuous: false, inputRate: rate, encoding: "rgb", quality: 90, patch, maxQueuedFrames: 400, maxQueuedSeconds: 600, now: () => 0 });
  runner.pushAudio(samples);
  runner.end();
  const result: ClipMeasure = { opening: [], motion: [], outside: 0 };
  try {
    for await (const out of runner) {
      if (out.type === "speech-ended") break;
      if (out.type !== "frame") continue;
      const f = out.frame;
      const source = await avatar.frame(f.sourceIndex);
      const crop = avatar.rect(f.sourceIndex);
      const [mx, my, mw, mh] = rectOf(f.mouthBox)!;
      const image: Placed = f.patch ? { data: f.image, width: f.width, x: mx, y: my } : { data: f.image, width: f.width, x: 0, y: 0 };
      const src: Placed = { data: source.data, width: source.width, x: 0, y: 0 };
      result.opening.push(darkPixels(image, crop, box, luma) - darkPixels(src, crop, box, luma));
      result.motion.push(boxDifference(image, src, crop, box));
      if (f.patch) continue;
      for (let y = 0; y < f.height; y++) {
        for (let x = 0; x < f.width; x++) {
          if (x >= mx && x < mx + mw && y >= my && y < my + mh) continue;
          const i = (y * f.width + x) * 3;
          if (f.image[i] !== source.data[i] || f.image[i + 1] !== source.data[i + 1] || f.image[i + 2] !== source.data[i + 2]) result.outside++;
        }
      }
    }
  } finally {
    runner.close();
  }
  return result;
}

export interface SourceFigures {
  r: number;
  byLag: Record<number, number>;
  bestLag: number;
  frames: number;
  motionSpeech: [number, number];
  motionSilence: [number, number];
  motionAll: number;
}

/** A source's figures from its clips' audio and measured frames. */
export function sourceFigures(clips: { samples: Float32Array; m: ClipMeasure }[], measure: Measure): SourceFigures {
  const envs: number[][] = [];
  const opens: number[][] = [];
  const speech: [number, number] = [0, 0];
  const silence: [number, number] = [0, 0];
  let all = 0;
  let frames = 0;
  for (const { samples, m } of clips) {
    const e = levels(samples);
    if (m.opening.length !== e.length) throw new Error(`${m.opening.length} frames rendered for ${e.length} frames of audio`);
    envs.push(envelope(e));
    opens.push(m.opening);
    const sp = speechMask(e, measure);
    const si = silenceMask(e, measure);
    m.motion.forEach((v, t) => {
      if (sp[t]) (speech[0] += v), speech[1]++;
      if (si[t]) (silence[0] += v), silence[1]++;
      all += v;
    });
    frames += e.length;
  }
  const byLag: Record<number, number> = {};
  for (let lag = -3; lag <= 3; lag++) byLag[lag] = laggedR(envs, opens, lag);
  const bestLag = Number(Object.entries(byLag).sort((a, b) => b[1] - a[1])[0]![0]);
  return { r: Math.max(...measure.lags.map((l) => byLag[l]!)), byLag, bestLag, frames, motionSpeech: speech, motionSilence: silence, motionAll: all / frames };
}
