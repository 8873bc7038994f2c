/**
 * Crop boxes of an imported dataset, computed the way SyncTalk_2D and Ultralight-Digital-Human
 * compute them at inference: from the 110 PFLD landmarks of each frame, x from point 1 to point
 * 31 (the cheeks), y from point 52 (below the nose) down by the same width, coordinates cut to
 * integers as NumPy's int32 cast does. Smoothing is off unless asked for, because the original
 * models were trained on the unsmoothed boxes.
 */
import type { Rect } from "../manifest.js";
import { importError } from "./errors.js";

/** The landmark indices the originals' crop reads. */
export const CROP_POINTS = { left: 1, right: 31, top: 52 } as const;

/** Points of one .lms file ("x y" per line). */
export function parseLandmarks(text: string, file: string): [number, number][] {
  const points: [number, number][] = [];
  const lines = text.split(/\r?\n/);
  lines.forEach((line, i) => {
    if (line.trim() === "") return;
    const parts = line.trim().split(/\s+/);
    const [x, y] = parts.map(Number);
    if (parts.length !== 2 || !Number.isFinite(x) || !Number.isFinite(y)) throw importError(file, `line ${i + 1}`, `must be "x y", got "${line.slice(0, 40)}"`);
    points.push([x!, y!]);
  });
  return points;
}

/** The crop box [x, y, w, h] of one frame's landmarks. */
export function cropFromLandmarks(points: [number, number][], file: string): Rect {
  const need = CROP_POINTS.top + 1;
  if (points.length < need) throw importError(file, "points", `has ${points.length} points; the crop reads points 1, 31 and 52 (PFLD's 110)`);
  const xmin = Math.trunc(points[CROP_POINTS.left]![0]);
  const xmax = Math.trunc(points[CROP_POINTS.right]![0]);
  const ymin = Math.trunc(points[CROP_POINTS.top]![1]);
  const w = xmax - xmin;
  return [xmin, ymin, w, w];
}

/** Checks a box against the frame; `where` names the file and field it came from. */
export function checkBox(box: Rect, width: number, height: number, file: string, field: string): void {
  const [x, y, w, h] = box;
  if (w < 8 || h < 8) throw importError(file, field, `gives a crop box [${box.join(", ")}] under 8 pixels wide (are points 1 and 31 swapped?)`);
  if (x < 0 || y < 0 || x + w > width || y + h > height) {
    throw importError(file, field, `gives a crop box [${box.join(", ")}] that is not inside the ${width}x${height} frame`);
  }
}

/** Centred moving average of the boxes over `window` frames (odd), edges averaged over what exists. */
export function smoothBoxes(boxes: Rect[], window: number): Rect[] {
  if (window <= 1) return boxes;
  const half = Math.floor(window / 2);
  return boxes.map((_, i) => {
    const from = Math.max(0, i - half);
    const to = Math.min(boxes.length - 1, i + half);
    const mean = [0, 0, 0];
    for (let k = from; k <= to; k++) for (let c = 0; c < 3; c++) mean[c]! += boxes[k]![c === 2 ? 2 : c]!;
    const n = to - from + 1;
    const w = Math.round(mean[2]! / n);
    return [Math.round(mean[0]! / n), Math.round(mean[1]! / n), w, w] as Rect;
  });
}
