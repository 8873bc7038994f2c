import { describe, expect, it } from "vitest";
import type { ImageContract } from "./contract.js";
import { blankBox, composite, compositePatch, cropToPlanar, expandInput, modelInputBytes, pasteMask, type RgbImage } from "./image-ops.js";
import { driftPlane, MAX_DRIFT } from "./seam.js";

/** The model's 6-channel input as the inference worker sees it: cached bytes, expanded to its range. */
const modelInput = (crop: Float32Array, image: Parameters<typeof modelInputBytes>[1] & { valueRange: readonly [number, number] }) =>
  expandInput(modelInputBytes(crop, image), image.valueRange);

/** An RGB [0, 1] model of `size` with no border, as format version 1 describes it. */
function v1(size: number, box: [number, number, number, number] = [0, 0, size, size], feather = 0): ImageContract {
  return { size, channelOrder: "RGB", valueRange: [0, 1], cropSize: size, border: 0, filter: "bilinear", mask: box, paste: box, feather };
}

function noise(width: number, height: number, seed = 1): RgbImage {
  const data = new Uint8Array(width * height * 3);
  let s = seed;
  for (let i = 0; i < data.length; i++) {
    s = (s * 1103515245 + 12345) >>> 0;
    data[i] = s >>> 24;
  }
  return { data, width, height };
}

describe("tensor building", () => {
  it("crops without resizing when the crop is the model size", () => {
    const f = noise(64, 48);
    const planar = cropToPlanar(f, [10, 5, 16, 16], v1(16));
    expect(planar[0]).toBeCloseTo(f.data[(5 * 64 + 10) * 3]! / 255, 6);
    expect(planar[256 + 17]).toBeCloseTo(f.data[(6 * 64 + 11) * 3 + 1]! / 255, 6);
  });

  it("resizes a uniform crop to the same uniform value", () => {
    const f: RgbImage = { data: new Uint8Array(100 * 100 * 3).fill(200), width: 100, height: 100 };
    const planar = cropToPlanar(f, [0, 0, 80, 80], v1(32));
    for (const v of planar) expect(v).toBeCloseTo(200 / 255, 5);
  });

  it("builds the reference then the masked copy, blanking only the mouth box", () => {
    const crop = new Float32Array(3 * 16 * 16).fill(0.5);
    const bytes = modelInputBytes(crop, v1(16, [4, 8, 12, 16]));
    expect(bytes.length).toBe(6 * 256);
    // Cached as 8-bit values, as OpenCV's uint8 frames would be: 0.5 rounds to 128.
    expect(bytes.subarray(0, 3 * 256).every((v) => v === 128)).toBe(true);
    expect(bytes[3 * 256 + 8 * 16 + 4]).toBe(0);
    expect(bytes[3 * 256 + 8 * 16 + 3]).toBe(128);
    expect(bytes[3 * 256 + 7 * 16 + 4]).toBe(128);
    const input = modelInput(crop, v1(16, [4, 8, 12, 16]));
    expect(input[0]).toBeCloseTo(128 / 255, 7);
    expect(input[3 * 256 + 8 * 16 + 4]).toBe(0);
  });
});

describe("compositing", () => {
  for (const [label, rect, size] of [["same size", [20, 10, 32, 32], 32], ["resized", [20, 10, 40, 40], 32]] as const) {
    it(`leaves every pixel outside the mouth box equal to the source (${label})`, () => {
      const frame = noise(96, 64);
      const output = new Float32Array(3 * size * size).fill(1);
      const mask = pasteMask(rect, v1(size, [4, 6, 28, 30], 3));
      const out = composite(frame, output, v1(size), rect, mask);
      let changedInside = 0;
      for (let y = 0; y < 64; y++) {
        for (let x = 0; x < 96; x++) {
          const inside = x >= rect[0] + mask.x0 && x < rect[0] + mask.x1 && y >= rect[1] + mask.y0 && y < rect[1] + mask.y1;
          for (let c = 0; c < 3; c++) {
            const i = (y * 96 + x) * 3 + c;
            if (!inside) expect(out[i]).toBe(frame.data[i]);
            else if (out[i] !== frame.data[i]) changedInside++;
          }
        }
      }
      expect(changedInside).toBeGreaterThan(0);
    });
  }

  it("feathers: full weight in the middle, partial at the edge", () => {
    const mask = pasteMask([0, 0, 32, 32], v1(32, [0, 0, 32, 32], 4));
    expect(mask.weights[16 * 32 + 16]).toBe(1);
    expect(mask.weights[16 * 32]).toBeGreaterThan(0);
    expect(mask.weights[16 * 32]).toBeLessThan(0.2);
  });

  it("makes a mouth patch equal to that region of the full composite", () => {
    const frame = noise(96, 64, 7);
    const size = 32;
    const rect = [20, 10, 40, 40] as const;
    const output = Float32Array.from({ length: 3 * size * size }, (_, i) => (i % 97) / 97);
    const mask = pasteMask(rect, v1(size, [4, 6, 28, 30], 3));
    const full = composite(frame, output, v1(size), rect, mask);
    const patch = compositePatch(frame, output, v1(size), rect, mask);
    expect(patch.width).toBe(mask.x1 - mask.x0);
    for (let y = 0; y < patch.height; y++) {
      for (let x = 0; x < patch.width; x++) {
        for (let c = 0; c < 3; c++) {
          expect(patch.data[(y * patch.width + x) * 3 + c]).toBe(full[((rect[1] + mask.y0 + y) * 96 + rect[0] + mask.x0 + x) * 3 + c]);
        }
      }
    }
  });
});

/** SyncTalk_2D's geometry at a small scale: a 20 px crop, 2 px border, 16 px model input. */
function bordered(over: Partial<ImageContract> = {}): ImageContract {
  return { size: 16, channelOrder: "RGB", valueRange: [0, 1], cropSize: 20, border: 2, filter: "bilinear", mask: [1, 1, 15, 14], paste: [0, 0, 16, 16], feather: 0, ...over };
}

describe("crop geometry of version 2", () => {
  it("takes the model input from inside the border of the resized crop", () => {
    const f = noise(64, 48, 3);
    // A 20 px box resized to 20 is a copy: model pixel (0, 0) is box pixel (2, 2).
    const planar = cropToPlanar(f, [10, 5, 20, 20], bordered());
    expect(planar[0]).toBeCloseTo(f.data[(7 * 64 + 12) * 3]! / 255, 6);
    expect(planar[2 * 256 + 15 * 16 + 15]).toBeCloseTo(f.data[(22 * 64 + 27) * 3 + 2]! / 255, 6);
  });

  it("averages the covered source pixels when shrinking with the area filter", () => {
    // Every third pixel is white: shrinking 3:1 by area averages each triple to 1/3 everywhere,
    // where bilinear would sample single pixels.
    const data = new Uint8Array(60 * 60 * 3);
    for (let i = 0; i < 60 * 60; i++) data.fill(i % 3 === 0 ? 255 : 0, i * 3, i * 3 + 3);
    const planar = cropToPlanar({ data, width: 60, height: 60 }, [0, 0, 60, 60], { size: 20, cropSize: 20, border: 0, filter: "area" });
    for (const v of planar) expect(v).toBeCloseTo(1 / 3, 5);
  });

  it("lays the crop into the model's channel order and value range, mask black", () => {
    // 8-bit values, as the cached input holds them (51 / 255 = 0.2).
    const crop = new Float32Array(3 * 16 * 16);
    crop.fill(51 / 255, 0, 256);
    crop.fill(0, 256, 512);
    crop.fill(1, 512, 768);
    const input = modelInput(crop, bordered({ channelOrder: "BGR", valueRange: [-1, 1] }));
    expect(input[0]).toBe(1);
    expect(input[256]).toBe(-1);
    expect(input[512]).toBeCloseTo(-0.6, 6);
    // Masked half: the mask box is black (-1 in this range), the rest the same crop.
    expect(input[3 * 256 + 1 * 16 + 1]).toBe(-1);
    expect(input[3 * 256]).toBe(1);
    expect(blankBox(crop, 16, [1, 1, 15, 14])[1 * 16 + 1]).toBe(0);
  });

  it("pastes a BGR [-1, 1] output as the same pixels as its RGB [0, 1] twin", () => {
    const frame = noise(64, 48, 5);
    const rect = [10, 5, 30, 30] as const;
    // Dyadic values, so the [-1, 1] twin is exact in float32 and the pixels can be compared exactly.
    const rgb = Float32Array.from({ length: 3 * 256 }, (_, i) => ((i * 37) % 65) / 64);
    const bgr = new Float32Array(3 * 256);
    for (let c = 0; c < 3; c++) for (let i = 0; i < 256; i++) bgr[(2 - c) * 256 + i] = rgb[c * 256 + i]! * 2 - 1;
    const g = bordered();
    const a = composite(frame, rgb, g, rect, pasteMask(rect, g));
    const b = composite(frame, bgr, bordered({ channelOrder: "BGR", valueRange: [-1, 1] }), rect, pasteMask(rect, g));
    expect(Buffer.from(a).equals(Buffer.from(b))).toBe(true);
  });

  it("pastes only the paste region, which excludes the crop's border", () => {
    const frame = noise(80, 60, 9);
    const rect = [10, 5, 40, 40] as const;
    const g = bordered({ paste: [2, 3, 12, 14], feather: 0 });
    const mask = pasteMask(rect, g);
    // Crop pixels per model pixel: 40 / 20 = 2; border 2 -> the region starts at (2 + 2) * 2.
    expect([mask.x0, mask.y0, mask.x1, mask.y1]).toEqual([8, 10, 28, 32]);
    const out = composite(frame, new Float32Array(3 * 256).fill(1), g, rect, mask);
    for (let y = 0; y < 60; y++) {
      for (let x = 0; x < 80; x++) {
        const inside = x >= 18 && x < 38 && y >= 15 && y < 37;
        for (let c = 0; c < 3; c++) {
          const i = (y * 80 + x) * 3 + c;
          expect(out[i]).toBe(inside ? 255 : frame.data[i]);
        }
      }
    }
  });
});

/**
 * The paste as its definition reads, one pixel at a time: the output at the pixel (bilinear when
 * the box was resized), less the drift plane fitted over the ramp (on the output clamped to
 * 0..255), clamped, blended by the mask's weight
 * and rounded. The fast blend (per-column and per-row terms hoisted) must give the same bytes.
 */
function referencePatch(frame: RgbImage, output: Float32Array, g: ImageContract, rect: readonly [number, number, number, number], mask: ReturnType<typeof pasteMask>): Uint8Array {
  const [rx, ry, rw, rh] = rect;
  const planes = (g.channelOrder === "BGR" ? [2, 1, 0] : [0, 1, 2]).map((p) => p * g.size * g.size);
  const [lo, hi] = g.valueRange;
  const at = (c: number, x: number, y: number) => {
    const fx = Math.min(g.size - 1, Math.max(0, (x + 0.5) * (g.cropSize / rw) - 0.5 - g.border));
    const fy = Math.min(g.size - 1, Math.max(0, (y + 0.5) * (g.cropSize / rh) - 0.5 - g.border));
    const x0 = Math.floor(fx), y0 = Math.floor(fy), x1 = Math.min(g.size - 1, x0 + 1), y1 = Math.min(g.size - 1, y0 + 1);
    const tap = (xx: number, yy: number) => output[planes[c]! + yy * g.size + xx]!;
    const v = (tap(x0, y0) * (1 - (fx - x0)) + tap(x1, y0) * (fx - x0)) * (1 - (fy - y0)) + (tap(x0, y1) * (1 - (fx - x0)) + tap(x1, y1) * (fx - x0)) * (fy - y0);
    return (v - lo) * (255 / (hi - lo));
  };
  const clamp = (v: number) => Math.max(0, Math.min(255, v));
  const src = (c: number, x: number, y: number) => frame.data[((ry + y) * frame.width + rx + x) * 3 + c]!;
  const coef = new Float64Array(9);
  const fit = mask.fit!;
  const sums = new Float64Array(9);
  for (let i = 0; i < fit.px.length; i++) {
    const x = mask.x0 + fit.px[i]!, y = mask.y0 + fit.py[i]!;
    for (let c = 0; c < 3; c++) {
      const d = Math.max(-MAX_DRIFT, Math.min(MAX_DRIFT, clamp(at(c, x, y)) - src(c, x, y)));
      sums[3 * c] += d;
      sums[3 * c + 1] += d * fit.nx[i]!;
      sums[3 * c + 2] += d * fit.ny[i]!;
    }
  }
  driftPlane(fit, sums, coef);
  const w = mask.x1 - mask.x0;
  const out = new Uint8Array(w * (mask.y1 - mask.y0) * 3);
  for (let y = mask.y0; y < mask.y1; y++) {
    for (let x = mask.x0; x < mask.x1; x++) {
      const a = mask.weights[(y - mask.y0) * w + x - mask.x0]!;
      const nx = (x - mask.x0 + 0.5 - fit.cx) / fit.hx, ny = (y - mask.y0 + 0.5 - fit.cy) / fit.hy;
      for (let c = 0; c < 3; c++) {
        const p = clamp(at(c, x, y) - (coef[3 * c]! + coef[3 * c + 1]! * nx + coef[3 * c + 2]! * ny));
        out[((y - mask.y0) * w + x - mask.x0) * 3 + c] = a > 0 ? Math.round(src(c, x, y) * (1 - a) + p * a) : src(c, x, y);
      }
    }
  }
  return out;
}

describe("the fast blend", () => {
  const cases = [
    ["model-size box, RGB [0, 1]", [30, 20, 48, 48], { size: 48, cropSize: 48, border: 0 }],
    ["resized box with a border, BGR [-1, 1]", [25, 15, 61, 57], { size: 40, cropSize: 48, border: 4, channelOrder: "BGR", valueRange: [-1, 1] }],
  ] as const;
  for (const [label, rect, over] of cases) {
    it(`gives the per-pixel definition's bytes (${label})`, () => {
      const frame = noise(128, 96, 11);
      const g: ImageContract = { ...v1(over.size, [6, 20, over.size - 6, over.size - 2], 5), ...over, paste: [4, 16, over.size - 4, over.size], feather: 5 };
      // A face-like output: the source's colour shifted by a drift, plus content in the middle.
      const output = Float32Array.from({ length: 3 * g.size * g.size }, (_, i) => Math.sin(i * 0.013) * 0.4 + 0.1 + (i % 7) * 0.01);
      const mask = pasteMask(rect, g);
      expect(mask.fit).toBeDefined();
      const patch = compositePatch(frame, output, g, rect, mask);
      const want = referencePatch(frame, output, g, rect, mask);
      let differ = 0;
      for (let i = 0; i < want.length; i++) if (Math.abs(patch.data[i]! - want[i]!) > 0) differ++;
      // Sums taken in another order may round a value on the .5 boundary the other way.
      expect(differ / want.length).toBeLessThan(0.002);
      expect(Math.max(...patch.data.map((v, i) => Math.abs(v - want[i]!)))).toBeLessThanOrEqual(1);
    });
  }
});
