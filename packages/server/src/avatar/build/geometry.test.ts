import { readFileSync } from "node:fs";
import path from "node:path";
import { describe, expect, it } from "vitest";
import { REPO_ROOT } from "../../static-mounts.js";
import { apply, canonicalTransform, CANON_LIP, cropOrigin, faceShape, idlePoses, invert, poseApply, poseForLip } from "./geometry.js";

const demo = JSON.parse(readFileSync(path.join(REPO_ROOT, "models", "demo", "manifest.json"), "utf8")) as { crop_boxes: number[][] };

describe("canonical geometry", () => {
  it("the idle poses are the demo's: same crop boxes as models/demo", () => {
    const poses = idlePoses();
    expect(poses.length).toBe(demo.crop_boxes.length);
    poses.forEach((p, k) => expect(cropOrigin(p)).toEqual(demo.crop_boxes[k]!.slice(0, 2)));
  });

  it("the idle motion turns without a jerk: velocity near zero at both ends of the loop", () => {
    const poses = idlePoses();
    const n = poses.length;
    const v = (a: number, b: number) => Math.hypot(poses[a]!.dx - poses[b]!.dx, poses[a]!.dy - poses[b]!.dy);
    expect(v(0, 1)).toBeLessThan(0.05);
    expect(v(n - 1, n - 2)).toBeLessThan(0.05);
    expect(v(60, 61)).toBeGreaterThan(v(0, 1) * 5);
  });

  it("a similarity transform and its inverse cancel", () => {
    const t = { scale: 1.7, angle: 0.3, tx: 12, ty: -40 };
    const [x, y] = apply(invert(t), ...apply(t, 33, 71));
    expect(x).toBeCloseTo(33, 9);
    expect(y).toBeCloseTo(71, 9);
  });

  it("the canonical transform puts the lips on the demo face's lips with the eyes level", () => {
    // A face drawn by hand: eyes 60 px apart tilted 10 degrees, mouth below.
    const p = new Float64Array(136);
    const put = (i: number, x: number, y: number) => { p[2 * i] = x; p[2 * i + 1] = y; };
    const a = (10 * Math.PI) / 180;
    const at = (u: number, v: number): [number, number] => [400 + Math.cos(a) * u - Math.sin(a) * v, 300 + Math.sin(a) * u + Math.cos(a) * v];
    for (let i = 36; i <= 41; i++) put(i, ...at(-30 + (i === 39 ? 5 : i === 36 ? -5 : 0), 0));
    for (let i = 42; i <= 47; i++) put(i, ...at(30 + (i === 45 ? 5 : i === 42 ? -5 : 0), 0));
    for (const i of [61, 62, 63, 65, 66, 67]) put(i, ...at(0, 70));
    put(48, ...at(-30, 70));
    put(54, ...at(30, 70));
    put(0, ...at(-70, 10));
    put(16, ...at(70, 10));
    put(30, ...at(0, 35));
    const shape = faceShape(p);
    expect(shape.roll).toBeCloseTo(a, 6);
    expect(shape.yaw).toBeCloseTo(0.5, 6);
    const t = canonicalTransform(shape);
    const [lx, ly] = apply(t, ...shape.lip);
    expect(lx).toBeCloseTo(CANON_LIP[0], 6);
    expect(ly).toBeCloseTo(CANON_LIP[1], 6);
    const [l, r] = shape.eyes.map(([x, y]) => apply(t, x, y));
    expect(Math.abs(l![1] - r![1])).toBeLessThan(1e-6);
  });

  it("poseForLip puts the model's mouth point at the same offset from the lips as on the demo face", () => {
    const pose = poseForLip([CANON_LIP[0] + 20, CANON_LIP[1] - 7], 0);
    const rest = poseForLip(CANON_LIP, 0);
    expect(rest.dx).toBeCloseTo(0, 9);
    expect(rest.dy).toBeCloseTo(0, 9);
    const [x, y] = poseApply(pose, 256, 297);
    expect(x).toBeCloseTo(276, 9);
    expect(y).toBeCloseTo(290, 9);
  });
});
