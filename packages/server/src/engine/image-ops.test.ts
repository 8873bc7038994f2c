import { describe, expect, it } from "vitest";
import { composite, compositePatch, cropToPlanar, modelInput, pasteMask, type RgbImage } from "./image-ops.js";

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
    const planar = cropToPlanar(f, [10, 5, 16, 16], 16);
    expect(planar[0]).toBeCloseTo(f.data[(5 * 64 + 10) * 3]! / 255, 6);
    expect(planar[256 + 17]).toBeCloseTo(f.data[(6 * 64 + 11) * 3 + 1]! / 255, 6);
  });

  it("resizes a uniform crop to the same uniform value", () => {
    const f: RgbImage = { data: new Uint8Array(100 * 100 * 3).fill(200), width: 100, height: 100 };
    const planar = cropToPlanar(f, [0, 0, 80, 80], 32);
    for (const v of planar) expect(v).toBeCloseTo(200 / 255, 5);
  });

  it("builds the reference then the masked copy, blanking only the mouth box", () => {
    const crop = new Float32Array(3 * 16 * 16).fill(0.5);
    const input = modelInput(crop, 16, [4, 8, 12, 16]);
    expect(input.length).toBe(6 * 256);
    expect(input.subarray(0, 3 * 256).every((v) => v === 0.5)).toBe(true);
    expect(input[3 * 256 + 8 * 16 + 4]).toBe(0);
    expect(input[3 * 256 + 8 * 16 + 3]).toBe(0.5);
    expect(input[3 * 256 + 7 * 16 + 4]).toBe(0.5);
  });
});

describe("compositing", () => {
  for (const [label, rect, size] of [["same size", [20, 10, 32, 32], 32], ["resized", [20, 10, 40, 40], 32]] as const) {
    it(`leaves every pixel outside the mouth box equal to the source (${label})`, () => {
      const frame = noise(96, 64);
      const output = new Float32Array(3 * size * size).fill(1);
      const mask = pasteMask(rect, size, [4, 6, 28, 30], 3);
      const out = composite(frame, output, size, rect, mask);
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
    const mask = pasteMask([0, 0, 32, 32], 32, [0, 0, 32, 32], 4);
    expect(mask.weights[16 * 32 + 16]).toBe(1);
    expect(mask.weights[16 * 32]).toBeGreaterThan(0);
    expect(mask.weights[16 * 32]).toBeLessThan(0.2);
  });

  it("makes a mouth patch equal to that region of the full composite", () => {
    const frame = noise(96, 64, 7);
    const size = 32;
    const rect = [20, 10, 40, 40] as const;
    const output = Float32Array.from({ length: 3 * size * size }, (_, i) => (i % 97) / 97);
    const mask = pasteMask(rect, size, [4, 6, 28, 30], 3);
    const full = composite(frame, output, size, rect, mask);
    const patch = compositePatch(frame, output, size, rect, mask);
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
