/**
 * Raw pixel formats for consumers that encode video themselves (a WebRTC track) or want pixels
 * (Pipecat): RGB as composited, RGBA, and I420 (planar YUV 4:2:0, BT.601 limited range, what
 * WebRTC video sources take). Conversions write into a caller's buffer when given one.
 */

/** Bytes of an image of `width` x `height` in `format`. */
export function rawBytes(format: "rgb" | "rgba" | "i420", width: number, height: number): number {
  if (format === "rgb") return width * height * 3;
  if (format === "rgba") return width * height * 4;
  const cw = (width + 1) >> 1;
  const ch = (height + 1) >> 1;
  return width * height + 2 * cw * ch;
}

export function rgbToRgba(rgb: Uint8Array, width: number, height: number, out = new Uint8Array(width * height * 4)): Uint8Array {
  for (let i = 0, j = 0, n = width * height; i < n; i++, j += 3) {
    out[4 * i] = rgb[j]!;
    out[4 * i + 1] = rgb[j + 1]!;
    out[4 * i + 2] = rgb[j + 2]!;
    out[4 * i + 3] = 255;
  }
  return out;
}

/**
 * I420 of an RGB image: full-resolution Y, then U and V averaged over each 2 x 2 block (odd
 * edges repeat their last row or column). Integer BT.601 limited-range coefficients (libyuv's).
 */
export function rgbToI420(rgb: Uint8Array, width: number, height: number, out = new Uint8Array(rawBytes("i420", width, height))): Uint8Array {
  const cw = (width + 1) >> 1;
  const ch = (height + 1) >> 1;
  const uOff = width * height;
  const vOff = uOff + cw * ch;
  for (let y = 0; y < height; y++) {
    const row = y * width;
    for (let x = 0; x < width; x++) {
      const p = (row + x) * 3;
      out[row + x] = (66 * rgb[p]! + 129 * rgb[p + 1]! + 25 * rgb[p + 2]! + 128 >> 8) + 16;
    }
  }
  for (let cy = 0; cy < ch; cy++) {
    const y0 = 2 * cy;
    const y1 = Math.min(height - 1, y0 + 1);
    for (let cx = 0; cx < cw; cx++) {
      const x0 = 2 * cx;
      const x1 = Math.min(width - 1, x0 + 1);
      const a = (y0 * width + x0) * 3;
      const b = (y0 * width + x1) * 3;
      const c = (y1 * width + x0) * 3;
      const d = (y1 * width + x1) * 3;
      const r = (rgb[a]! + rgb[b]! + rgb[c]! + rgb[d]! + 2) >> 2;
      const g = (rgb[a + 1]! + rgb[b + 1]! + rgb[c + 1]! + rgb[d + 1]! + 2) >> 2;
      const bl = (rgb[a + 2]! + rgb[b + 2]! + rgb[c + 2]! + rgb[d + 2]! + 2) >> 2;
      out[uOff + cy * cw + cx] = (-38 * r - 74 * g + 112 * bl + 128 >> 8) + 128;
      out[vOff + cy * cw + cx] = (112 * r - 94 * g - 18 * bl + 128 >> 8) + 128;
    }
  }
  return out;
}
