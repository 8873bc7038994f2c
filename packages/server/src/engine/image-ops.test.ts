import { describe, expect, it } from "vitest";
import type { ImageContract } from "./contract.js";
import { blankBox, composite, compositePatch, cropToPlanar, modelInput, pasteMask, type RgbImage } from "./image-ops.js";

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
    const input = modelInput(crop, v1(16, [4, 8, 12, 16]));
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
    const crop = new Float32Array(3 * 16 * 16);
    crop.fill(0.25, 0, 256);
    crop.fill(0.5, 256, 512);
    crop.fill(1, 512, 768);
    const input = modelInput(crop, bordered({ channelOrder: "BGR", valueRange: [-1, 1] }));
    expect([input[0], input[256], input[512]]).toEqual([1, 0, -0.5]);
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
