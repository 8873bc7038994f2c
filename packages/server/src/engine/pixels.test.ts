import { describe, expect, it } from "vitest";
import { rawBytes, rgbToI420, rgbToRgba } from "./pixels.js";

describe("raw pixel formats", () => {
  it("sizes I420 with chroma rounded up on odd sides", () => {
    expect(rawBytes("i420", 4, 2)).toBe(8 + 2 * 2);
    expect(rawBytes("i420", 5, 3)).toBe(15 + 2 * 3 * 2);
    expect(rawBytes("rgba", 5, 3)).toBe(60);
  });

  it("maps black, white and primaries to BT.601 limited range", () => {
    const colours = [[0, 0, 0], [255, 255, 255], [255, 0, 0], [0, 255, 0], [0, 0, 255]];
    // Expected Y, U, V (studio swing: Y 16..235, U/V 16..240 around 128).
    const want = [[16, 128, 128], [235, 128, 128], [82, 90, 240], [145, 54, 34], [41, 240, 110]];
    colours.forEach(([r, g, b], k) => {
      const rgb = new Uint8Array(2 * 2 * 3);
      for (let i = 0; i < 4; i++) rgb.set([r!, g!, b!], 3 * i);
      const yuv = rgbToI420(rgb, 2, 2);
      const [y, u, v] = want[k]!;
      expect(Math.abs(yuv[0]! - y!)).toBeLessThanOrEqual(1);
      expect(Math.abs(yuv[4]! - u!)).toBeLessThanOrEqual(2);
      expect(Math.abs(yuv[5]! - v!)).toBeLessThanOrEqual(2);
    });
  });

  it("averages chroma over each 2 x 2 block and keeps luma per pixel", () => {
    // Left column white, right column black: luma differs per pixel, chroma stays neutral.
    const rgb = Uint8Array.from([255, 255, 255, 0, 0, 0, 255, 255, 255, 0, 0, 0]);
    const yuv = rgbToI420(rgb, 2, 2);
    expect([...yuv.subarray(0, 4)]).toEqual([235, 16, 235, 16]);
    expect([yuv[4], yuv[5]]).toEqual([128, 128]);
  });

  it("adds an opaque alpha channel", () => {
    expect([...rgbToRgba(Uint8Array.from([1, 2, 3, 4, 5, 6]), 2, 1)]).toEqual([1, 2, 3, 255, 4, 5, 6, 255]);
  });
});
