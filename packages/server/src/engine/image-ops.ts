/**
 * Pixel work around the model: crop and resize into the planar float input, and paste the
 * planar float output back into an RGB frame through a feathered mask. Bilinear with half-pixel
 * centres (PyTorch's align_corners=False); when the crop is the model's size, a plain copy.
 */

/** x, y, width, height in frame pixels. */
export type Rect = readonly [number, number, number, number];
/** x0, y0, x1, y1 (exclusive) in model pixels. */
export type Box = readonly [number, number, number, number];

export interface RgbImage {
  data: Uint8Array;
  width: number;
  height: number;
}

/** Planar float [3, size, size] in [0, 1] of `rect` of an RGB frame, resized to size x size. */
export function cropToPlanar(frame: RgbImage, rect: Rect, size: number, out = new Float32Array(3 * size * size)): Float32Array {
  const [rx, ry, rw, rh] = rect;
  const plane = size * size;
  const { data, width } = frame;
  if (rw === size && rh === size) {
    for (let y = 0; y < size; y++) {
      let src = ((ry + y) * width + rx) * 3;
      const row = y * size;
      for (let x = 0; x < size; x++, src += 3) {
        out[row + x] = data[src]! / 255;
        out[plane + row + x] = data[src + 1]! / 255;
        out[2 * plane + row + x] = data[src + 2]! / 255;
      }
    }
    return out;
  }
  const sx = rw / size;
  const sy = rh / size;
  for (let y = 0; y < size; y++) {
    const fy = Math.min(rh - 1, Math.max(0, (y + 0.5) * sy - 0.5));
    const y0 = Math.floor(fy);
    const y1 = Math.min(rh - 1, y0 + 1);
    const wy = fy - y0;
    for (let x = 0; x < size; x++) {
      const fx = Math.min(rw - 1, Math.max(0, (x + 0.5) * sx - 0.5));
      const x0 = Math.floor(fx);
      const x1 = Math.min(rw - 1, x0 + 1);
      const wx = fx - x0;
      for (let c = 0; c < 3; c++) {
        const p = (yy: number, xx: number) => data[((ry + yy) * width + rx + xx) * 3 + c]!;
        const v = (p(y0, x0) * (1 - wx) + p(y0, x1) * wx) * (1 - wy) + (p(y1, x0) * (1 - wx) + p(y1, x1) * wx) * wy;
        out[c * plane + y * size + x] = v / 255;
      }
    }
  }
  return out;
}

/** The model's 6-channel input: the crop, then the crop with the mouth box blanked. */
export function modelInput(crop: Float32Array, size: number, mouth: Box): Float32Array {
  const plane = size * size;
  const out = new Float32Array(6 * plane);
  out.set(crop, 0);
  out.set(crop, 3 * plane);
  const [x0, y0, x1, y1] = mouth;
  for (let c = 3; c < 6; c++) {
    for (let y = y0; y < y1; y++) out.fill(0, c * plane + y * size + x0, c * plane + y * size + x1);
  }
  return out;
}

/**
 * Blend weights over the mouth box in crop pixels: 1 inside, ramping to 0 over `feather`
 * pixels at its edge, 0 outside (so those pixels are never touched).
 */
export interface PasteMask {
  /** Mouth box in crop (frame-scale) pixels. */
  x0: number;
  y0: number;
  x1: number;
  y1: number;
  weights: Float32Array;
}

export function pasteMask(rect: Rect, size: number, mouth: Box, feather: number): PasteMask {
  const [, , rw, rh] = rect;
  const sx = rw / size;
  const sy = rh / size;
  const x0 = Math.round(mouth[0] * sx);
  const y0 = Math.round(mouth[1] * sy);
  const x1 = Math.round(mouth[2] * sx);
  const y1 = Math.round(mouth[3] * sy);
  const fx = Math.max(0, feather * sx);
  const fy = Math.max(0, feather * sy);
  const w = x1 - x0;
  const weights = new Float32Array(w * (y1 - y0));
  for (let y = y0; y < y1; y++) {
    const wy = fy > 0 ? Math.min(1, (y - y0 + 0.5) / fy, (y1 - y - 0.5) / fy) : 1;
    for (let x = x0; x < x1; x++) {
      const wx = fx > 0 ? Math.min(1, (x - x0 + 0.5) / fx, (x1 - x - 0.5) / fx) : 1;
      weights[(y - y0) * w + (x - x0)] = Math.max(0, Math.min(wx, wy));
    }
  }
  return { x0, y0, x1, y1, weights };
}

/**
 * A copy of `frame` with the model output [3, size, size] pasted into `rect` through `mask`.
 * Pixels outside the mask's box are byte-for-byte those of `frame`.
 */
export function composite(frame: RgbImage, output: Float32Array, size: number, rect: Rect, mask: PasteMask, out = new Uint8Array(frame.data.length)): Uint8Array {
  out.set(frame.data);
  blendInto(out, frame.width, 0, 0, frame, output, size, rect, mask);
  return out;
}

/**
 * Only the mask's box of the composite, as its own RGB image (mouth-patch frames): what
 * composite() would put there, without copying or encoding the rest of the frame.
 */
export function compositePatch(frame: RgbImage, output: Float32Array, size: number, rect: Rect, mask: PasteMask): RgbImage {
  const width = mask.x1 - mask.x0;
  const height = mask.y1 - mask.y0;
  const out = new Uint8Array(width * height * 3);
  for (let y = 0; y < height; y++) {
    const src = ((rect[1] + mask.y0 + y) * frame.width + rect[0] + mask.x0) * 3;
    out.set(frame.data.subarray(src, src + width * 3), y * width * 3);
  }
  // In patch coordinates the frame origin sits at minus the box's position.
  blendInto(out, width, rect[0] + mask.x0, rect[1] + mask.y0, frame, output, size, rect, mask);
  return { data: out, width, height };
}

/** Blends the output into `out` (an image `outWidth` wide whose pixel 0 is frame pixel (ox, oy)). */
function blendInto(out: Uint8Array, outWidth: number, ox: number, oy: number, frame: RgbImage, output: Float32Array, size: number, rect: Rect, mask: PasteMask): void {
  const [rx, ry, rw, rh] = rect;
  const plane = size * size;
  const sx = size / rw;
  const sy = size / rh;
  const identity = rw === size && rh === size;
  const bw = mask.x1 - mask.x0;
  for (let y = mask.y0; y < mask.y1; y++) {
    for (let x = mask.x0; x < mask.x1; x++) {
      const a = mask.weights[(y - mask.y0) * bw + (x - mask.x0)]!;
      if (a <= 0) continue;
      const dst = ((ry + y - oy) * outWidth + rx + x - ox) * 3;
      const src = ((ry + y) * frame.width + rx + x) * 3;
      for (let c = 0; c < 3; c++) {
        let v: number;
        if (identity) {
          v = output[c * plane + y * size + x]!;
        } else {
          const fy = Math.min(size - 1, Math.max(0, (y + 0.5) * sy - 0.5));
          const fx = Math.min(size - 1, Math.max(0, (x + 0.5) * sx - 0.5));
          const y0 = Math.floor(fy);
          const x0 = Math.floor(fx);
          const y1 = Math.min(size - 1, y0 + 1);
          const x1 = Math.min(size - 1, x0 + 1);
          const wy = fy - y0;
          const wx = fx - x0;
          const o = c * plane;
          v = (output[o + y0 * size + x0]! * (1 - wx) + output[o + y0 * size + x1]! * wx) * (1 - wy) +
            (output[o + y1 * size + x0]! * (1 - wx) + output[o + y1 * size + x1]! * wx) * wy;
        }
        const g = Math.max(0, Math.min(255, v * 255));
        out[dst + c] = Math.round(frame.data[src + c]! * (1 - a) + g * a);
      }
    }
  }
}
