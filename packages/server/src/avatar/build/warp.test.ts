import { describe, expect, it } from "vitest";
import type { RgbImage } from "../../engine/image-ops.js";
import { warpSimilarity } from "./warp.js";

/** Vertical stripes of 4 px, so a smeared edge (one column repeated) is easy to tell from texture. */
function stripes(width: number, height: number): RgbImage {
  const data = new Uint8Array(width * height * 3);
  for (let y = 0; y < height; y++) for (let x = 0; x < width; x++) data.fill(Math.floor(x / 4) % 2 ? 200 : 40, (y * width + x) * 3, (y * width + x) * 3 + 3);
  return { data, width, height };
}

describe("placing a photo in the canonical frame", () => {
  it("continues the photo past its edge by its mirror image, not by repeating the edge", () => {
    const src = stripes(64, 32);
    // Shift right by 32: output columns 0..31 lie left of the photo.
    const out = warpSimilarity(src, { scale: 1, angle: 0, tx: 32, ty: 0 }, 96, 32);
    const at = (x: number, y: number) => out.data[(y * 96 + x) * 3]!;
    // Inside: the photo itself.
    for (let x = 32; x < 96; x++) expect(at(x, 10)).toBe(src.data[(10 * 64 + x - 32) * 3]);
    // Just past the edge the stripes go on (mirrored), so the columns there are not all the edge
    // column's value, as clamping would make them.
    const near = Array.from({ length: 8 }, (_, i) => at(31 - i, 10));
    expect(new Set(near).size).toBeGreaterThan(1);
    expect(near[0]).toBe(src.data[(10 * 64 + 1) * 3]);
    // Far from the edge it is blurred towards the photo's mean, never a streak of the edge value.
    const far = at(0, 10);
    expect(far).toBeGreaterThan(60);
    expect(far).toBeLessThan(180);
  });
});
