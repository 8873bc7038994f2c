/**
 * Pixel warps of the builder: a photo into the canonical frame, and the idle loop's frames (head
 * sway about the neck, blinks), as training/face.py's render_idle does for the demo face.
 * Backward mapping with bilinear sampling, pixel centres at integers, edges clamped.
 *
 * Where the canonical frame reaches past the photo, the photo is continued by its mirror image,
 * blurred more the further it lies from the edge: a clamped edge would smear one row of pixels
 * into streaks across the frame, a mirror keeps the texture and light of what is near the edge.
 */
import type { RgbImage } from "../../engine/image-ops.js";
import { apply, invert, PIVOT, type Pose, type Similarity } from "./geometry.js";

const smoothstep = (x: number) => {
  const t = Math.min(1, Math.max(0, x));
  return t * t * (3 - 2 * t);
};

function sample(src: RgbImage, x: number, y: number, out: Uint8Array, o: number): void {
  const { width: w, height: h, data } = src;
  const xs = Math.min(Math.max(x, 0), w - 1.001);
  const ys = Math.min(Math.max(y, 0), h - 1.001);
  const x0 = Math.floor(xs);
  const y0 = Math.floor(ys);
  const fx = xs - x0;
  const fy = ys - y0;
  const i00 = (y0 * w + x0) * 3;
  const i01 = i00 + 3;
  const i10 = i00 + w * 3;
  const i11 = i10 + 3;
  for (let c = 0; c < 3; c++) {
    const a = data[i00 + c]! * (1 - fx) + data[i01 + c]! * fx;
    const b = data[i10 + c]! * (1 - fx) + data[i11 + c]! * fx;
    out[o + c] = Math.round(a * (1 - fy) + b * fy);
  }
}

/** Source pixels per pixel of the blurred copy that continues the photo past its edge. */
const BLUR_STEP = 8;
/** Distance past the edge (source pixels) over which the mirror image turns to the blurred one. */
const BLUR_REACH = 24;

/** A copy of `src` shrunk by `k` (box average): sampled bilinearly, a blur of about k pixels. */
function shrink(src: RgbImage, k: number): RgbImage {
  const width = Math.max(1, Math.ceil(src.width / k));
  const height = Math.max(1, Math.ceil(src.height / k));
  const sum = new Float64Array(width * height * 3);
  const count = new Float64Array(width * height);
  for (let y = 0; y < src.height; y++) {
    for (let x = 0; x < src.width; x++) {
      const o = Math.floor(y / k) * width + Math.floor(x / k);
      count[o]!++;
      for (let c = 0; c < 3; c++) sum[o * 3 + c] += src.data[(y * src.width + x) * 3 + c]!;
    }
  }
  return { data: Uint8Array.from(sum, (v, i) => Math.round(v / count[Math.floor(i / 3)]!)), width, height };
}

/** `v` mirrored back into [0, n - 1] (the photo continued by its reflection at each edge). */
function reflect(v: number, n: number): number {
  if (n <= 1) return 0;
  const period = 2 * (n - 1);
  const m = ((v % period) + period) % period;
  return m > n - 1 ? period - m : m;
}

/** `src` seen through `t` (source to output): an output of width x height. */
export function warpSimilarity(src: RgbImage, t: Similarity, width: number, height: number): RgbImage {
  const inv = invert(t);
  const out = new Uint8Array(width * height * 3);
  const blurred = shrink(src, BLUR_STEP);
  const sharp = new Uint8Array(3);
  const soft = new Uint8Array(3);
  for (let y = 0; y < height; y++) {
    for (let x = 0; x < width; x++) {
      const [sx, sy] = apply(inv, x, y);
      const o = (y * width + x) * 3;
      const past = Math.max(-sx, sx - (src.width - 1), -sy, sy - (src.height - 1));
      if (past <= 0) {
        sample(src, sx, sy, out, o);
        continue;
      }
      const rx = reflect(sx, src.width);
      const ry = reflect(sy, src.height);
      sample(src, rx, ry, sharp, 0);
      sample(blurred, (rx + 0.5) / BLUR_STEP - 0.5, (ry + 0.5) / BLUR_STEP - 0.5, soft, 0);
      const b = smoothstep(past / BLUR_REACH);
      for (let c = 0; c < 3; c++) out[o + c] = Math.round(sharp[c]! * (1 - b) + soft[c]! * b);
    }
  }
  return { data: out, width, height };
}

/** Fraction of the output whose source pixel lies outside the photo (edges were stretched). */
export function outsideFraction(src: RgbImage, t: Similarity, width: number, height: number): number {
  const inv = invert(t);
  let outside = 0;
  for (let y = 0; y < height; y += 4) {
    for (let x = 0; x < width; x += 4) {
      const [sx, sy] = apply(inv, x, y);
      if (sx < 0 || sy < 0 || sx > src.width - 1 || sy > src.height - 1) outside++;
    }
  }
  return outside / (Math.ceil(width / 4) * Math.ceil(height / 4));
}

export interface IdleFace {
  /** Eye centres in the canonical frame. */
  eyes: [[number, number], [number, number]];
  /** Eye width in canonical pixels (sizes the blink). */
  eyeWidth: number;
}

/**
 * One idle frame of a canonical photo: the head moved by `pose` (weighted so the background
 * barely moves), the upper lids pulled down by pose.blink.
 */
export function renderIdle(src: RgbImage, face: IdleFace, pose: Pose): RgbImage {
  const { width, height } = src;
  const out = new Uint8Array(width * height * 3);
  const c = Math.cos(-pose.angle);
  const s = Math.sin(-pose.angle);
  // face.py's blink: a Gaussian of 15 x 8 px on a 27 px eye; scaled to this face's eyes.
  const k = face.eyeWidth / 27;
  const ex = 15 * k;
  const ey = 8 * k;
  const lid = 11 * k;
  for (let y = 0; y < height; y++) {
    for (let x = 0; x < width; x++) {
      const r = Math.sqrt(((x - 256) / 175) ** 2 + ((y - 250) / 235) ** 2);
      const w = 1 - smoothstep((r - 0.85) / 0.35);
      const px = x - pose.dx - PIVOT[0];
      const py = y - pose.dy - PIVOT[1];
      let sx = x + w * (PIVOT[0] + c * px - s * py - x);
      let sy = y + w * (PIVOT[1] + s * px + c * py - y);
      if (pose.blink > 0.01) {
        for (const [cx, cy] of face.eyes) {
          const m = Math.exp(-(((sx - cx) / ex) ** 2) - ((sy - cy) / ey) ** 2);
          sy -= pose.blink * lid * m;
        }
      }
      sample(src, sx, sy, out, (y * width + x) * 3);
    }
  }
  return { data: out, width, height };
}
