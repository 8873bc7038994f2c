import { describe, expect, it } from "vitest";
import { checkBox, cropFromLandmarks, parseLandmarks, smoothBoxes } from "./crop-boxes.js";

/** 110 points, with 1, 31 and 52 where the test wants them. */
function lms(p1: [number, number], p31: [number, number], p52: [number, number]): string {
  return Array.from({ length: 110 }, (_, i) => (i === 1 ? p1 : i === 31 ? p31 : i === 52 ? p52 : [50.5, 60.25]).join(" ")).join("\n") + "\n";
}

describe("crop boxes from landmarks", () => {
  it("takes x from points 1 and 31 and y from point 52, cut to integers like NumPy's int32", () => {
    const points = parseLandmarks(lms([100.9, 300], [252.2, 310], [170, 220.7]), "landmarks/0.lms");
    expect(points).toHaveLength(110);
    // xmin = 100, xmax = 252 -> a 152 px square from y = 220.
    expect(cropFromLandmarks(points, "landmarks/0.lms")).toEqual([100, 220, 152, 152]);
  });

  it("names the file and the line or point that is wrong", () => {
    expect(() => parseLandmarks("1 2\n3 four\n", "landmarks/7.lms")).toThrow(/landmarks\/7.lms \(line 2\): must be "x y"/);
    expect(() => cropFromLandmarks(parseLandmarks("1 2\n3 4\n", "landmarks/3.lms"), "landmarks/3.lms")).toThrow(/landmarks\/3.lms \(points\): has 2 points/);
    expect(() => checkBox([500, 10, 152, 152], 512, 512, "landmarks/9.lms", "points 1, 31, 52")).toThrow(/not inside the 512x512 frame/);
    expect(() => checkBox([100, 10, -20, -20], 512, 512, "landmarks/9.lms", "points 1, 31, 52")).toThrow(/swapped/);
  });

  it("smooths only over a window it is given, keeping boxes square", () => {
    const boxes = [[10, 10, 100, 100], [20, 10, 110, 110], [30, 40, 120, 120]] as [number, number, number, number][];
    expect(smoothBoxes(boxes, 0)).toBe(boxes);
    expect(smoothBoxes(boxes, 3)).toEqual([[15, 10, 105, 105], [20, 20, 110, 110], [25, 25, 115, 115]]);
  });
});
