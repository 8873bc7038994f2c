/**
 * The seam between a model's output and the source frame: where the output is blended in, and
 * how its colour is held to the frame's where the model drifts.
 *
 * A feathered paste (feather > 0) blends through a rounded mask: a superellipse inscribed in the
 * paste region, its weight rising along a smoothstep over `feather` pixels from the edge, so no
 * square corner or straight edge is drawn on a face. Over that ramp the output should equal the
 * source (a mouth never reaches the paste region's edge), so what differs there is the model's
 * colour drift: per frame, a plane a + b x + c y per channel is fitted by least squares to
 * (output - source) over the ramp's pixels and taken off the output before blending. A model that
 * keeps the face's colour is left as it is; one that paints its own (a face it never saw) is
 * pulled to the face's. The fit's matrix depends only on the mask and is inverted once per crop
 * size (at load); a frame costs one pass over the ramp and no allocation.
 *
 * feather 0 keeps the originals' contract: the whole paste region, pasted as it is.
 */

/** Superellipse exponent of the rounded mask: 4 keeps most of the box, without its corners. */
const ROUNDNESS = 4;
/** A difference larger than this (0..255) is not drift but content; it is clipped in the fit. */
export const MAX_DRIFT = 48;
/** Ridge on the slope terms: with little evidence the fit falls back to a constant offset. */
const RIDGE = 4;

export interface SeamFit {
  /** Ramp pixels the drift is measured on: region-local x and y, and x, y normalised to [-1, 1]. */
  px: Int32Array;
  py: Int32Array;
  nx: Float32Array;
  ny: Float32Array;
  /** Inverse of the 3 x 3 normal matrix of the plane fit, row-major. */
  inverse: Float64Array;
  /** Region centre and half sizes, to normalise the coordinates of any pixel. */
  cx: number;
  cy: number;
  hx: number;
  hy: number;
}

const smoothstep = (t: number) => {
  const x = Math.min(1, Math.max(0, t));
  return x * x * (3 - 2 * x);
};

/**
 * Blend weights over a w x h region with a ramp of fx, fy pixels: 1 inside, 0 outside. Hard
 * rectangle when the ramp is 0.
 */
export function seamWeights(w: number, h: number, fx: number, fy: number): Float32Array {
  const weights = new Float32Array(w * h);
  if (fx <= 0 && fy <= 0) return weights.fill(1);
  const ax = w / 2;
  const ay = h / 2;
  for (let y = 0; y < h; y++) {
    const ny = Math.abs(y + 0.5 - ay) / ay;
    for (let x = 0; x < w; x++) {
      const nx = Math.abs(x + 0.5 - ax) / ax;
      const r = (nx ** ROUNDNESS + ny ** ROUNDNESS) ** (1 / ROUNDNESS);
      // Distance to the edge along the larger normalised axis, in pixels of that axis.
      const edge = nx > ny ? (1 - r) * ax / Math.max(fx, 1e-6) : (1 - r) * ay / Math.max(fy, 1e-6);
      weights[y * w + x] = smoothstep(edge);
    }
  }
  return weights;
}

/** The drift fit of a region with these weights: its ramp pixels and the inverted normal matrix. */
export function seamFit(weights: Float32Array, w: number, h: number): SeamFit | undefined {
  const xs: number[] = [];
  const ys: number[] = [];
  for (let y = 0; y < h; y++) {
    for (let x = 0; x < w; x++) {
      const a = weights[y * w + x]!;
      // Every other ramp pixel (a checkerboard) is plenty for a plane and halves the cost.
      if (a > 0 && a < 1 && (x + y) % 2 === 0) {
        xs.push(x);
        ys.push(y);
      }
    }
  }
  if (xs.length < 16) return undefined;
  const cx = w / 2;
  const cy = h / 2;
  const nx = Float32Array.from(xs, (x) => (x + 0.5 - cx) / cx);
  const ny = Float32Array.from(ys, (y) => (y + 0.5 - cy) / cy);
  let sx = 0, sy = 0, sxx = 0, sxy = 0, syy = 0;
  for (let i = 0; i < nx.length; i++) {
    sx += nx[i]!;
    sy += ny[i]!;
    sxx += nx[i]! * nx[i]!;
    sxy += nx[i]! * ny[i]!;
    syy += ny[i]! * ny[i]!;
  }
  const m = [nx.length, sx, sy, sx, sxx + RIDGE, sxy, sy, sxy, syy + RIDGE];
  return { px: Int32Array.from(xs), py: Int32Array.from(ys), nx, ny, inverse: invert3(m), cx, cy, hx: cx, hy: cy };
}

function invert3(m: number[]): Float64Array {
  const [a, b, c, d, e, f, g, h, i] = m as [number, number, number, number, number, number, number, number, number];
  const A = e * i - f * h;
  const B = -(d * i - f * g);
  const C = d * h - e * g;
  const det = a * A + b * B + c * C;
  const out = new Float64Array([A, -(b * i - c * h), b * f - c * e, B, a * i - c * g, -(a * f - c * d), C, -(a * h - b * g), a * e - b * d]);
  for (let k = 0; k < 9; k++) out[k] = out[k]! / det;
  return out;
}

/**
 * The drift plane of one frame: `sums` holds, per channel, the sums over the ramp pixels of d,
 * d * nx and d * ny (d = output - source, clipped to +-MAX_DRIFT); `coef` receives [a, b, c] per
 * channel, so that the drift at normalised (nx, ny) is a + b nx + c ny (0..255 units).
 */
export function driftPlane(fit: SeamFit, sums: Float64Array, coef: Float64Array): void {
  const inv = fit.inverse;
  for (let c = 0; c < 3; c++) {
    const s0 = sums[3 * c]!;
    const s1 = sums[3 * c + 1]!;
    const s2 = sums[3 * c + 2]!;
    coef[3 * c] = inv[0]! * s0 + inv[1]! * s1 + inv[2]! * s2;
    coef[3 * c + 1] = inv[3]! * s0 + inv[4]! * s1 + inv[5]! * s2;
    coef[3 * c + 2] = inv[6]! * s0 + inv[7]! * s1 + inv[8]! * s2;
  }
}
