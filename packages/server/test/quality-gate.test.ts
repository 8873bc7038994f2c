/**
 * The demo model's quality gate, through the project's own engine: held-out sentences spoken by
 * a voice never used in training (models/heldout, with the ground-truth jaw opening per frame).
 * The mouth opening measured in the generated frames must follow the ground truth (r >= 0.8) at
 * lag 0, and every pixel outside the mouth box must be the source frame's.
 */
import { readFileSync } from "node:fs";
import path from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { parseWav } from "../src/audio/wav.js";
import type { Avatar } from "../src/avatar/avatar.js";
import type { AvatarRegistry } from "../src/avatar/registry.js";
import { SessionRunner } from "../src/session/session-runner.js";
import { loadDemo } from "./harness.js";
import { MODELS_DIR } from "./reference.js";

interface HeldOut {
  measure: { dark_luma: number; lips_box: [number, number, number, number] };
  utterances: { name: string; set: "gate" | "family"; voice: string; text: string; jaw: number[] }[];
}

const HELD_OUT = path.join(MODELS_DIR, "heldout");
const heldOut: HeldOut = JSON.parse(readFileSync(path.join(HELD_OUT, "heldout.json"), "utf8"));

let registry: AvatarRegistry;
let avatar: Avatar;

beforeAll(async () => {
  ({ registry, avatar } = await loadDemo());
});

afterAll(() => registry.closeAll());

/** Dark pixels (luma below the threshold) in the lips box of a crop of an RGB frame. */
function darkPixels(rgb: Uint8Array, width: number, crop: readonly number[]): number {
  const [bx0, by0, bx1, by1] = heldOut.measure.lips_box;
  const threshold = heldOut.measure.dark_luma * 255;
  let n = 0;
  for (let y = by0; y < by1; y++) {
    for (let x = bx0; x < bx1; x++) {
      const i = ((crop[1]! + y) * width + crop[0]! + x) * 3;
      if (rgb[i]! * 0.299 + rgb[i + 1]! * 0.587 + rgb[i + 2]! * 0.114 < threshold) n++;
    }
  }
  return n;
}

function pearson(a: number[], b: number[]): number {
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
  return sab / Math.sqrt(saa * sbb);
}

/** r of truth[t] against measured[t + lag] over the overlap. */
function lagged(truth: number[], measured: number[], lag: number): number {
  return lag >= 0 ? pearson(truth.slice(0, truth.length - lag), measured.slice(lag)) : pearson(truth.slice(-lag), measured.slice(0, lag));
}

/** Renders a set's utterances; returns measured opening, ground truth, and pixels changed outside the mouth box. */
async function measure(set: "gate" | "family") {
  const measured: number[] = [];
  const truth: number[] = [];
  let outside = 0;
  for (const u of heldOut.utterances.filter((x) => x.set === set)) {
    const wav = parseWav(readFileSync(path.join(HELD_OUT, `${u.name}.wav`)));
    // A clock frozen at 0 starts every utterance at pts 0: the same source frames each run.
    const runner = new SessionRunner(avatar, { continuous: false, inputRate: wav.sampleRate, encoding: "rgb", quality: 90, maxQueuedFrames: 400, maxQueuedSeconds: 600, now: () => 0 });
    runner.pushAudio(wav.samples);
    runner.end();
    const frames: number[] = [];
    for await (const out of runner) {
      if (out.type === "speech-ended") break;
      if (out.type !== "frame") continue;
      const f = out.frame;
      const source = await avatar.frame(f.sourceIndex);
      const crop = avatar.rect(f.sourceIndex);
      frames.push(darkPixels(f.image, f.width, crop) - darkPixels(source.data, source.width, crop));
      const [mx, my, mw, mh] = f.mouthRect!;
      for (let y = 0; y < f.height; y++) {
        for (let x = 0; x < f.width; x++) {
          if (x >= mx && x < mx + mw && y >= my && y < my + mh) continue;
          const i = (y * f.width + x) * 3;
          if (f.image[i] !== source.data[i] || f.image[i + 1] !== source.data[i + 1] || f.image[i + 2] !== source.data[i + 2]) outside++;
        }
      }
    }
    runner.close();
    expect(frames.length).toBe(u.jaw.length);
    measured.push(...frames);
    truth.push(...u.jaw);
  }
  const byLag = Object.fromEntries([-3, -2, -1, 0, 1, 2, 3].map((lag) => [lag, lagged(truth, measured, lag)]));
  const bestLag = Number(Object.entries(byLag).sort((a, b) => b[1] - a[1])[0]![0]);
  return { r: byLag[0]!, bestLag, byLag, frames: truth.length, outside };
}

describe("demo model quality gate (held-out voice and texts)", () => {
  it("opens the mouth with the ground truth: r >= 0.8 at lag 0, source pixels untouched", async () => {
    const gate = await measure("gate");
    console.log(JSON.stringify({ quality_gate: "gate", r: Number(gate.r.toFixed(3)), best_lag: gate.bestLag, frames: gate.frames }));
    expect(gate.frames).toBeGreaterThan(300);
    expect(gate.r).toBeGreaterThanOrEqual(0.8);
    expect(gate.bestLag).toBe(0);
    expect(gate.outside).toBe(0);
  });

  it("reports r on a voice family never used in training", async () => {
    const family = await measure("family");
    console.log(JSON.stringify({ quality_gate: "unseen voice family (flite kal16)", r: Number(family.r.toFixed(3)), best_lag: family.bestLag, frames: family.frames }));
    // Reported, not gated at 0.8: a different synthesiser is a harder transfer. It must still
    // clearly follow the speech at the right lag.
    expect(family.r).toBeGreaterThan(0.5);
    expect(Math.abs(family.bestLag)).toBeLessThanOrEqual(1);
    expect(family.outside).toBe(0);
  });
});
