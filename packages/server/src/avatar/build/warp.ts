/**
 * Pixel warps of the builder: a photo into the canonical frame, and the idle loop's frames (head
 * sway about the neck, blinks), as training/face.py's render_idle does for the demo face.
 * Backward mapping with bilinear sampling, pixel centres at integers, edges clamped.
 */
import type { RgbImage } from "../../engine/image-ops.js";
import { apply, invert, PIVOT, type Pose, type Similarity } from "./geometry.js";

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

/** `src` seen through `t` (source to output): an output of width x height. */
export function warpSimilarity(src: RgbImage, t: Similarity, width: number, height: number): RgbImage {
  const inv = invert(t);
  const out = new Uint8Array(width * height * 3);
  for (let y = 0; y < height; y++) {
    for (let x = 0; x < width; x++) {
      const [sx, sy] = apply(inv, x, y);
      sample(src, sx, sy, out, (y * width + x) * 3);
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

const smoothstep = (x: number) => {
  const t = Math.min(1, Math.max(0, x));
  return t * t * (3 - 2 * t);
};

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
