/**
 * Pixel work around the model. In: a frame's crop box is resized to cropSize x cropSize (bilinear
 * with half-pixel centres, PyTorch's align_corners=False, or OpenCV's INTER_AREA when shrinking)
 * and its centre, `border` pixels in from each side, is the model input. Out: the output is
 * pasted back over the paste region only, through a feathered mask, converted from the model's
 * channel order and value range. Nothing here runs a model or knows an avatar.
 */
import type { Box, ChannelOrder, ImageContract, ResizeFilter } from "./contract.js";
import { driftPlane, MAX_DRIFT, seamFit, seamWeights, type SeamFit } from "./seam.js";

export type { Box };
/** x, y, width, height in frame pixels. */
export type Rect = readonly [number, number, number, number];

export interface RgbImage {
  data: Uint8Array;
  width: number;
  height: number;
}

/** How a crop box becomes the model input: the parts of the ImageContract pixels depend on. */
export type CropGeometry = Pick<ImageContract, "size" | "cropSize" | "border" | "filter">;
/** How the model's pixels are stored: channel order and the values of black and white. */
export type PixelFormat = Pick<ImageContract, "channelOrder" | "valueRange">;

/** Source taps of each output pixel along one axis: `n` (index, weight) pairs per pixel. */
interface Taps {
  n: number;
  index: Int32Array;
  weight: Float32Array;
}

/**
 * Taps of the `count` output pixels from `first` of an axis resized from `srcLen` to `dstLen`.
 * Area: each output pixel averages the source interval it covers (OpenCV INTER_AREA when
 * shrinking); enlarging, and bilinear, use the two nearest source pixels at half-pixel centres.
 */
function axisTaps(srcLen: number, dstLen: number, first: number, count: number, filter: ResizeFilter): Taps {
  const scale = srcLen / dstLen;
  if (filter === "area" && scale > 1) {
    const n = Math.ceil(scale) + 1;
    const index = new Int32Array(count * n);
    const weight = new Float32Array(count * n);
    for (let u = 0; u < count; u++) {
      const start = (u + first) * scale;
      const end = start + scale;
      let k = 0;
      for (let i = Math.floor(start); i < Math.ceil(end) && k < n; i++, k++) {
        index[u * n + k] = Math.min(srcLen - 1, i);
        weight[u * n + k] = (Math.min(end, i + 1) - Math.max(start, i)) / scale;
      }
    }
    return { n, index, weight };
  }
  const index = new Int32Array(count * 2);
  const weight = new Float32Array(count * 2);
  for (let u = 0; u < count; u++) {
    const f = Math.min(srcLen - 1, Math.max(0, (u + first + 0.5) * scale - 0.5));
    const i0 = Math.floor(f);
    const w = f - i0;
    index[2 * u] = i0;
    index[2 * u + 1] = Math.min(srcLen - 1, i0 + 1);
    weight[2 * u] = 1 - w;
    weight[2 * u + 1] = w;
  }
  return { n: 2, index, weight };
}

/**
 * Planar float [3, size, size], RGB in [0, 1], of `rect` of a frame resized to cropSize and cut
 * `border` pixels in. Separable: rows first, then columns.
 */
export function cropToPlanar(frame: RgbImage, rect: Rect, g: CropGeometry, out = new Float32Array(3 * g.size * g.size)): Float32Array {
  const [rx, ry, rw, rh] = rect;
  const { size } = g;
  const plane = size * size;
  const tx = axisTaps(rw, g.cropSize, g.border, size, g.filter);
  const ty = axisTaps(rh, g.cropSize, g.border, size, g.filter);
  // Horizontal pass over every source row of the rect: [rh][size][3].
  const rows = new Float32Array(rh * size * 3);
  const { data, width } = frame;
  for (let y = 0; y < rh; y++) {
    const src = ((ry + y) * width + rx) * 3;
    for (let x = 0; x < size; x++) {
      let r = 0;
      let gr = 0;
      let b = 0;
      for (let k = 0; k < tx.n; k++) {
        const w = tx.weight[x * tx.n + k]!;
        if (w === 0) continue;
        const p = src + tx.index[x * tx.n + k]! * 3;
        r += data[p]! * w;
        gr += data[p + 1]! * w;
        b += data[p + 2]! * w;
      }
      const o = (y * size + x) * 3;
      rows[o] = r;
      rows[o + 1] = gr;
      rows[o + 2] = b;
    }
  }
  for (let y = 0; y < size; y++) {
    for (let x = 0; x < size; x++) {
      let r = 0;
      let gr = 0;
      let b = 0;
      for (let k = 0; k < ty.n; k++) {
        const w = ty.weight[y * ty.n + k]!;
        if (w === 0) continue;
        const o = (ty.index[y * ty.n + k]! * size + x) * 3;
        r += rows[o]! * w;
        gr += rows[o + 1]! * w;
        b += rows[o + 2]! * w;
      }
      const i = y * size + x;
      out[i] = r / 255;
      out[plane + i] = gr / 255;
      out[2 * plane + i] = b / 255;
    }
  }
  return out;
}

/** A copy of a planar [3, size, size] crop with `box` set to black (0). */
export function blankBox(crop: Float32Array, size: number, box: Box): Float32Array {
  const out = Float32Array.from(crop);
  const [x0, y0, x1, y1] = box;
  for (let c = 0; c < 3; c++) {
    for (let y = y0; y < y1; y++) out.fill(0, c * size * size + y * size + x0, c * size * size + y * size + x1);
  }
  return out;
}

/**
 * The model's 6-channel input as it is cached: the crop, then the crop with the mask box black,
 * planar in the model's channel order, 0..255 from black to white. Bytes rather than floats:
 * a quarter of the memory, shareable with the inference worker as they are, and quantised the
 * way the originals' OpenCV resize of uint8 frames is. The worker maps them into the model's
 * value range when it assembles a batch (`expandInput`).
 */
export function modelInputBytes(crop: Float32Array, image: Pick<PixelFormat, "channelOrder"> & { size: number; mask: Box }, out: Uint8Array = new Uint8Array(6 * image.size * image.size)): Uint8Array {
  const plane = image.size * image.size;
  const masked = blankBox(crop, image.size, image.mask);
  for (let half = 0; half < 2; half++) {
    const src = half === 0 ? crop : masked;
    for (let c = 0; c < 3; c++) {
      const from = (image.channelOrder === "BGR" ? 2 - c : c) * plane;
      const to = (3 * half + c) * plane;
      for (let i = 0; i < plane; i++) out[to + i] = Math.round(Math.max(0, Math.min(1, src[from + i]!)) * 255);
    }
  }
  return out;
}

/** Cached input bytes into the model's value range (what the inference worker does per batch). */
export function expandInput(bytes: Uint8Array, valueRange: readonly [number, number], out = new Float32Array(bytes.length)): Float32Array {
  const [lo, hi] = valueRange;
  const scale = (hi - lo) / 255;
  for (let i = 0; i < bytes.length; i++) out[i] = lo + scale * bytes[i]!;
  return out;
}

/**
 * Blend weights over the paste region in crop-box pixels: 1 inside, ramping to 0 over `feather`
 * pixels towards its rounded edge, 0 outside (so those pixels are never touched); and the colour
 * fit over that ramp (seam.ts). Made once per crop size, at load.
 */
export interface PasteMask {
  /** Paste region in crop-box (frame-scale) pixels, relative to the box's origin. */
  x0: number;
  y0: number;
  x1: number;
  y1: number;
  weights: Float32Array;
  /** The drift fit over the ramp; absent for a hard paste (feather 0). */
  fit?: SeamFit;
}

export function pasteMask(rect: Rect, g: Pick<ImageContract, "cropSize" | "border" | "paste" | "feather">): PasteMask {
  const [, , rw, rh] = rect;
  const sx = rw / g.cropSize;
  const sy = rh / g.cropSize;
  const [p0, q0, p1, q1] = g.paste;
  const x0 = Math.round((p0 + g.border) * sx);
  const y0 = Math.round((q0 + g.border) * sy);
  const x1 = Math.round((p1 + g.border) * sx);
  const y1 = Math.round((q1 + g.border) * sy);
  const fx = Math.max(0, g.feather * sx);
  const fy = Math.max(0, g.feather * sy);
  const weights = seamWeights(x1 - x0, y1 - y0, fx, fy);
  const fit = fx > 0 || fy > 0 ? seamFit(weights, x1 - x0, y1 - y0) : undefined;
  return fit ? { x0, y0, x1, y1, weights, fit } : { x0, y0, x1, y1, weights };
}

/** Everything compositing needs to know about the model's output. */
export type OutputGeometry = Pick<ImageContract, "size" | "cropSize" | "border"> & PixelFormat;

/**
 * A copy of `frame` with the model output [3, size, size] pasted into `rect` through `mask`.
 * Pixels outside the mask's region are byte-for-byte those of `frame`.
 */
export function composite(frame: RgbImage, output: Float32Array, g: OutputGeometry, rect: Rect, mask: PasteMask, out = new Uint8Array(frame.data.length)): Uint8Array {
  out.set(frame.data);
  blendInto(out, frame.width, 0, 0, frame, output, g, rect, mask);
  return out;
}

/**
 * Only the mask's region of the composite, as its own RGB image (mouth-patch frames): what
 * composite() would put there, without copying or encoding the rest of the frame.
 */
export function compositePatch(frame: RgbImage, output: Float32Array, g: OutputGeometry, rect: Rect, mask: PasteMask, into?: Uint8Array): RgbImage {
  const width = mask.x1 - mask.x0;
  const height = mask.y1 - mask.y0;
  const out = into ? into.subarray(0, width * height * 3) : new Uint8Array(width * height * 3);
  for (let y = 0; y < height; y++) {
    const src = ((rect[1] + mask.y0 + y) * frame.width + rect[0] + mask.x0) * 3;
    out.set(frame.data.subarray(src, src + width * 3), y * width * 3);
  }
  // In patch coordinates the frame origin sits at minus the region's position.
  blendInto(out, width, rect[0] + mask.x0, rect[1] + mask.y0, frame, output, g, rect, mask);
  return { data: out, width, height };
}

/** Output planes in RGB order: BGR models' planes reversed. */
function planeOrder(order: ChannelOrder): [number, number, number] {
  return order === "BGR" ? [2, 1, 0] : [0, 1, 2];
}

/** Per-thread scratch of the drift fit: sums and plane coefficients, 3 per channel. */
const driftSums = new Float64Array(9);
const drift = new Float64Array(9);

/** The output at crop-box pixel (x, y), channel c, in 0..255 (bilinear when the box was resized). */
function outputAt(output: Float32Array, g: OutputGeometry, rect: Rect, plane: number, x: number, y: number): number {
  const { size, border } = g;
  const [, , rw, rh] = rect;
  const [lo, hi] = g.valueRange;
  let v: number;
  if (rw === g.cropSize && rh === g.cropSize) {
    v = output[plane + (y - border) * size + x - border]!;
  } else {
    const fy = Math.min(size - 1, Math.max(0, (y + 0.5) * (g.cropSize / rh) - 0.5 - border));
    const fx = Math.min(size - 1, Math.max(0, (x + 0.5) * (g.cropSize / rw) - 0.5 - border));
    const y0 = Math.floor(fy);
    const x0 = Math.floor(fx);
    const y1 = Math.min(size - 1, y0 + 1);
    const x1 = Math.min(size - 1, x0 + 1);
    const wy = fy - y0;
    const wx = fx - x0;
    v = (output[plane + y0 * size + x0]! * (1 - wx) + output[plane + y0 * size + x1]! * wx) * (1 - wy) +
      (output[plane + y1 * size + x0]! * (1 - wx) + output[plane + y1 * size + x1]! * wx) * wy;
  }
  return Math.max(0, Math.min(255, (v - lo) * (255 / (hi - lo))));
}

/** Fits this frame's colour drift (output - source over the mask's ramp) into `drift`. */
function measureDrift(frame: RgbImage, output: Float32Array, g: OutputGeometry, rect: Rect, mask: PasteMask, fit: SeamFit, planes: number[]): void {
  driftSums.fill(0);
  const identity = rect[2] === g.cropSize && rect[3] === g.cropSize;
  const [lo, hi] = g.valueRange;
  const gain = 255 / (hi - lo);
  for (let i = 0; i < fit.px.length; i++) {
    const x = mask.x0 + fit.px[i]!;
    const y = mask.y0 + fit.py[i]!;
    const src = ((rect[1] + y) * frame.width + rect[0] + x) * 3;
    const at = (y - g.border) * g.size + x - g.border;
    for (let c = 0; c < 3; c++) {
      const v = identity ? Math.max(0, Math.min(255, (output[planes[c]! + at]! - lo) * gain)) : outputAt(output, g, rect, planes[c]!, x, y);
      const d = Math.max(-MAX_DRIFT, Math.min(MAX_DRIFT, v - frame.data[src + c]!));
      driftSums[3 * c] = driftSums[3 * c]! + d;
      driftSums[3 * c + 1] = driftSums[3 * c + 1]! + d * fit.nx[i]!;
      driftSums[3 * c + 2] = driftSums[3 * c + 2]! + d * fit.ny[i]!;
    }
  }
  driftPlane(fit, driftSums, drift);
}

/** Per-thread scratch of blendInto: each mask column's output taps and drift terms, once per frame. */
let colX0 = new Int32Array(0);
let colX1 = new Int32Array(0);
let colWx = new Float64Array(0);
let colD = new Float64Array(0);

/**
 * Blends the output into `out` (an image `outWidth` wide whose pixel 0 is frame pixel (ox, oy)),
 * less its colour drift where the mask has a fit (seam.ts). A column's taps and drift terms and a
 * row's are the same for every pixel of it: they are worked out once, outside the pixel loop (the
 * loop is the main thread's largest cost for mouth patches). Rounding is by the Uint8Array store
 * of value + 0.5 (values are never negative): Math.round measured a third of the loop.
 */
function blendInto(out: Uint8Array, outWidth: number, ox: number, oy: number, frame: RgbImage, output: Float32Array, g: OutputGeometry, rect: Rect, mask: PasteMask): void {
  const [rx, ry, rw, rh] = rect;
  const { size, border } = g;
  const plane = size * size;
  const sx = g.cropSize / rw;
  const sy = g.cropSize / rh;
  const identity = rw === g.cropSize && rh === g.cropSize;
  const planes = planeOrder(g.channelOrder).map((p) => p * plane);
  const [lo, hi] = g.valueRange;
  const gain = 255 / (hi - lo);
  const fit = mask.fit;
  if (fit) measureDrift(frame, output, g, rect, mask, fit, planes);
  else drift.fill(0);
  const bw = mask.x1 - mask.x0;
  if (colX0.length < bw) {
    colX0 = new Int32Array(bw);
    colX1 = new Int32Array(bw);
    colWx = new Float64Array(bw);
    colD = new Float64Array(3 * bw);
  }
  for (let i = 0; i < bw; i++) {
    const x = mask.x0 + i;
    const fx = identity ? x - border : Math.min(size - 1, Math.max(0, (x + 0.5) * sx - 0.5 - border));
    const x0 = Math.min(size - 1, Math.max(0, Math.floor(fx)));
    colX0[i] = x0;
    colX1[i] = Math.min(size - 1, x0 + 1);
    colWx[i] = identity ? 0 : fx - x0;
    const nx = fit ? (x - mask.x0 + 0.5 - fit.cx) / fit.hx : 0;
    colD[3 * i] = drift[1]! * nx;
    colD[3 * i + 1] = drift[4]! * nx;
    colD[3 * i + 2] = drift[7]! * nx;
  }
  for (let y = mask.y0; y < mask.y1; y++) {
    // Crop-box pixel -> model-output coordinate: half-pixel centres, then the border off.
    const fy = identity ? y - border : Math.min(size - 1, Math.max(0, (y + 0.5) * sy - 0.5 - border));
    const y0 = Math.min(size - 1, Math.max(0, Math.floor(fy)));
    const ny = fit ? (y - mask.y0 + 0.5 - fit.cy) / fit.hy : 0;
    // One record for every row (no allocation per row), filled with this row's values.
    const row = blendRow;
    row.out = out;
    row.data = frame.data;
    row.output = output;
    row.weights = mask.weights;
    row.bw = bw;
    row.wRow = (y - mask.y0) * bw;
    row.dst = ((ry + y - oy) * outWidth + rx - ox + mask.x0) * 3;
    row.src = ((ry + y) * frame.width + rx + mask.x0) * 3;
    row.r0 = y0 * size;
    row.r1 = Math.min(size - 1, y0 + 1) * size;
    row.wy = identity ? 0 : fy - y0;
    row.o0 = planes[0]!;
    row.o1 = planes[1]!;
    row.o2 = planes[2]!;
    row.gain = gain;
    // (v - lo) * gain - drift, with the row's share of the drift folded in.
    row.k0 = lo * gain + drift[0]! + drift[2]! * ny;
    row.k1 = lo * gain + drift[3]! + drift[5]! * ny;
    row.k2 = lo * gain + drift[6]! + drift[8]! * ny;
    if (identity) blendRowIdentity(row);
    else blendRowBilinear(row);
  }
}

/** One row of blendInto: where it reads and writes, and its drift constants. */
interface BlendRow {
  out: Uint8Array;
  data: Uint8Array;
  output: Float32Array;
  weights: Float32Array;
  bw: number;
  wRow: number;
  dst: number;
  src: number;
  r0: number;
  r1: number;
  wy: number;
  o0: number;
  o1: number;
  o2: number;
  gain: number;
  k0: number;
  k1: number;
  k2: number;
}

const blendRow: BlendRow = {
  out: new Uint8Array(0), data: new Uint8Array(0), output: new Float32Array(0), weights: new Float32Array(0),
  bw: 0, wRow: 0, dst: 0, src: 0, r0: 0, r1: 0, wy: 0, o0: 0, o1: 0, o2: 0, gain: 0, k0: 0, k1: 0, k2: 0,
};

const clamp255 = (v: number) => (v < 0 ? 0 : v > 255 ? 255 : v);

/** A row whose crop box is the model's size: one output tap per pixel. */
function blendRowIdentity(r: BlendRow): void {
  const { out, data, output, weights, bw, wRow, r0, o0, o1, o2, gain, k0, k1, k2 } = r;
  let dst = r.dst;
  let src = r.src;
  for (let i = 0; i < bw; i++, dst += 3, src += 3) {
    const a = weights[wRow + i]!;
    if (a <= 0) continue;
    const t = r0 + colX0[i]!;
    if (a >= 1) {
      // Inside the ramp (most of the region): the output alone, the source unread.
      out[dst] = clamp255(output[o0 + t]! * gain - k0 - colD[3 * i]!) + 0.5;
      out[dst + 1] = clamp255(output[o1 + t]! * gain - k1 - colD[3 * i + 1]!) + 0.5;
      out[dst + 2] = clamp255(output[o2 + t]! * gain - k2 - colD[3 * i + 2]!) + 0.5;
      continue;
    }
    const b = 1 - a;
    out[dst] = data[src]! * b + clamp255(output[o0 + t]! * gain - k0 - colD[3 * i]!) * a + 0.5;
    out[dst + 1] = data[src + 1]! * b + clamp255(output[o1 + t]! * gain - k1 - colD[3 * i + 1]!) * a + 0.5;
    out[dst + 2] = data[src + 2]! * b + clamp255(output[o2 + t]! * gain - k2 - colD[3 * i + 2]!) * a + 0.5;
  }
}

/** A row of a resized crop box: bilinear between four output taps. */
function blendRowBilinear(r: BlendRow): void {
  const { out, data, output, weights, bw, wRow, r0, r1, wy, o0, o1, o2, gain, k0, k1, k2 } = r;
  const vy = 1 - wy;
  let dst = r.dst;
  let src = r.src;
  for (let i = 0; i < bw; i++, dst += 3, src += 3) {
    const a = weights[wRow + i]!;
    if (a <= 0) continue;
    const x0 = colX0[i]!;
    const x1 = colX1[i]!;
    const wx = colWx[i]!;
    const vx = 1 - wx;
    const v0 = (output[o0 + r0 + x0]! * vx + output[o0 + r0 + x1]! * wx) * vy + (output[o0 + r1 + x0]! * vx + output[o0 + r1 + x1]! * wx) * wy;
    const v1 = (output[o1 + r0 + x0]! * vx + output[o1 + r0 + x1]! * wx) * vy + (output[o1 + r1 + x0]! * vx + output[o1 + r1 + x1]! * wx) * wy;
    const v2 = (output[o2 + r0 + x0]! * vx + output[o2 + r0 + x1]! * wx) * vy + (output[o2 + r1 + x0]! * vx + output[o2 + r1 + x1]! * wx) * wy;
    if (a >= 1) {
      out[dst] = clamp255(v0 * gain - k0 - colD[3 * i]!) + 0.5;
      out[dst + 1] = clamp255(v1 * gain - k1 - colD[3 * i + 1]!) + 0.5;
      out[dst + 2] = clamp255(v2 * gain - k2 - colD[3 * i + 2]!) + 0.5;
      continue;
    }
    const b = 1 - a;
    out[dst] = data[src]! * b + clamp255(v0 * gain - k0 - colD[3 * i]!) * a + 0.5;
    out[dst + 1] = data[src + 1]! * b + clamp255(v1 * gain - k1 - colD[3 * i + 1]!) * a + 0.5;
    out[dst + 2] = data[src + 2]! * b + clamp255(v2 * gain - k2 - colD[3 * i + 2]!) * a + 0.5;
  }
}

/**
 * Half of a cached 6-channel input (`modelInputBytes`: planar bytes in the model's channel order)
 * as interleaved RGB: half 0 is the crop, half 1 the masked crop.
 */
export function inputHalfToRgb(bytes: Uint8Array, size: number, half: 0 | 1, order: ChannelOrder, out = new Uint8Array(size * size * 3)): Uint8Array {
  const plane = size * size;
  const planes = planeOrder(order).map((p) => (3 * half + p) * plane);
  for (let c = 0; c < 3; c++) {
    const src = bytes.subarray(planes[c]!, planes[c]! + plane);
    for (let i = 0; i < plane; i++) out[3 * i + c] = src[i]!;
  }
  return out;
}
