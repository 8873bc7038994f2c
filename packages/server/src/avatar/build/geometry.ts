/**
 * Where a face must sit for the demo model family, and what the 68 landmarks say about a face.
 *
 * The demo model was trained on crops of one face at one scale (training/face.py): a 128 x 128
 * crop at (mouth_x - 64, line_y - 36) of a 512 x 512 frame, no resize. A user's face serves
 * with the same model when it is brought to the same place and scale, so the builder maps every
 * face onto the demo face's landmarks ("canonical" coordinates). The CANON_* values are what
 * face-api measures on the demo's own source frame (face.load_source()); the crop follows from
 * face.py's constants, so a photo of the demo face builds the demo's crops.
 */

/** face.py: the canonical frame, the rest mouth (centre of the lip line) and the crop offset. */
export const FRAME_SIZE = 512;
export const MOUTH_X = 256;
export const LINE_Y = 297;
export const CROP_SIZE = 128;
export const CROP_DX = -64;
export const CROP_DY = -36;
export const MOUTH_BOX: [number, number, number, number] = [4, 6, 124, 126];
export const FEATHER = 4;
export const PIVOT: [number, number] = [256, 430];
export const N_IDLE_FRAMES = 125;

/** face-api on the demo's canonical frame: inner-lip centre, mouth corners, eye centres. */
export const CANON_LIP: [number, number] = [253.09, 289.56];
export const CANON_MOUTH_WIDTH = 85.9;
export const CANON_EYES: [[number, number], [number, number]] = [[214.07, 201.06], [300.0, 205.79]];
export const CANON_EYE_MOUTH = Math.hypot((CANON_EYES[0][0] + CANON_EYES[1][0]) / 2 - CANON_LIP[0], (CANON_EYES[0][1] + CANON_EYES[1][1]) / 2 - CANON_LIP[1]);
/** Canonical eye width (corner to corner, landmarks 36-39), for the blink's size. */
export const CANON_EYE_WIDTH = 27;

/** Smallest face the builder accepts: mouth corners this far apart (pixels of the source). */
export const MIN_MOUTH_WIDTH = 28;
/** Nose tip between the jaw ends: 0.5 frontal; outside this range the face is turned away. */
export const MAX_YAW_OFFSET = 0.17;

const mean = (p: Float64Array, idx: number[]): [number, number] => {
  let x = 0;
  let y = 0;
  for (const i of idx) {
    x += p[2 * i]!;
    y += p[2 * i + 1]!;
  }
  return [x / idx.length, y / idx.length];
};

/** What the builder needs from one face's landmarks, in the landmarks' pixels. */
export interface FaceShape {
  eyes: [[number, number], [number, number]];
  lip: [number, number];
  mouthWidth: number;
  eyeMouth: number;
  /** Eye width in pixels (mean of both). */
  eyeWidth: number;
  /** Head roll (radians, positive clockwise in image coordinates) from the eye line. */
  roll: number;
  /** Nose tip position between the jaw ends along the eye line, 0.5 when frontal. */
  yaw: number;
  /** Inner-lip gap over mouth width: 0 closed. */
  opening: number;
}

export function faceShape(p: Float64Array): FaceShape {
  const left = mean(p, [36, 37, 38, 39, 40, 41]);
  const right = mean(p, [42, 43, 44, 45, 46, 47]);
  const lip = mean(p, [61, 62, 63, 65, 66, 67]);
  const mouthWidth = Math.hypot(p[108]! - p[96]!, p[109]! - p[97]!);
  const eyeMid: [number, number] = [(left[0] + right[0]) / 2, (left[1] + right[1]) / 2];
  const roll = Math.atan2(right[1] - left[1], right[0] - left[0]);
  // Project the jaw ends and the nose tip onto the eye line.
  const ux = Math.cos(roll);
  const uy = Math.sin(roll);
  const along = (i: number) => p[2 * i]! * ux + p[2 * i + 1]! * uy;
  const yaw = (along(30) - along(0)) / Math.max(1e-6, along(16) - along(0));
  const gap = Math.hypot(p[132]! - p[124]!, p[133]! - p[125]!);
  const eyeWidth = (Math.hypot(p[78]! - p[72]!, p[79]! - p[73]!) + Math.hypot(p[90]! - p[84]!, p[91]! - p[85]!)) / 2;
  return { eyes: [left, right], lip, mouthWidth, eyeMouth: Math.hypot(eyeMid[0] - lip[0], eyeMid[1] - lip[1]), eyeWidth, roll, yaw, opening: gap / Math.max(1e-6, mouthWidth) };
}

/** A similarity transform: x' = s (cos a x - sin a y) + tx, y' = s (sin a x + cos a y) + ty. */
export interface Similarity {
  scale: number;
  angle: number;
  tx: number;
  ty: number;
}

export function apply(t: Similarity, x: number, y: number): [number, number] {
  const c = Math.cos(t.angle) * t.scale;
  const s = Math.sin(t.angle) * t.scale;
  return [c * x - s * y + t.tx, s * x + c * y + t.ty];
}

export function invert(t: Similarity): Similarity {
  const scale = 1 / t.scale;
  const angle = -t.angle;
  const c = Math.cos(angle) * scale;
  const s = Math.sin(angle) * scale;
  return { scale, angle, tx: -(c * t.tx - s * t.ty), ty: -(s * t.tx + c * t.ty) };
}

/**
 * Scale that brings a face to the demo face's size: the mean of the mouth-width and eye-to-mouth
 * ratios (the mouth renderer cares about the first, the look of the face about the second).
 */
export function canonicalScale(shape: Pick<FaceShape, "mouthWidth" | "eyeMouth">): number {
  return 0.5 * (CANON_MOUTH_WIDTH / shape.mouthWidth + CANON_EYE_MOUTH / shape.eyeMouth);
}

/** The transform of a photo into the canonical frame: eyes level, lips on the demo's lips. */
export function canonicalTransform(shape: FaceShape): Similarity {
  const scale = canonicalScale(shape);
  const angle = -shape.roll;
  const c = Math.cos(angle) * scale;
  const s = Math.sin(angle) * scale;
  const [lx, ly] = shape.lip;
  return { scale, angle, tx: CANON_LIP[0] - (c * lx - s * ly), ty: CANON_LIP[1] - (s * lx + c * ly) };
}

/**
 * Head pose of an idle frame, as training/face.py's Pose: rotation `angle` about PIVOT, then a
 * shift; blink in [0, 1].
 */
export interface Pose {
  angle: number;
  dx: number;
  dy: number;
  blink: number;
}

export function poseApply(pose: Pose, x: number, y: number): [number, number] {
  const c = Math.cos(pose.angle);
  const s = Math.sin(pose.angle);
  const px = x - PIVOT[0];
  const py = y - PIVOT[1];
  return [PIVOT[0] + c * px - s * py + pose.dx, PIVOT[1] + s * px + c * py + pose.dy];
}

/** Integer top-left corner of the model crop (face.crop_origin). */
export function cropOrigin(pose: Pose): [number, number] {
  const [mx, my] = poseApply(pose, MOUTH_X, LINE_Y);
  return [Math.round(mx + CROP_DX), Math.round(my + CROP_DY)];
}

/**
 * face.idle_poses: 5 s of sway and two blinks, every motion a sum of cos(n pi t) terms whose
 * velocity is zero at both ends, so ping-pong playback turns without a jerk.
 */
export function idlePoses(n = N_IDLE_FRAMES): Pose[] {
  const poses: Pose[] = [];
  const deg = Math.PI / 180;
  for (let k = 0; k < n; k++) {
    const t = k / (n - 1);
    const angle = deg * (1.1 * Math.cos(Math.PI * t) + 0.35 * Math.cos(3 * Math.PI * t));
    const dx = 1.6 * Math.cos(2 * Math.PI * t) - 0.8 * Math.cos(Math.PI * t);
    const dy = 0.9 * Math.cos(2 * Math.PI * t) + 0.4 * Math.cos(5 * Math.PI * t);
    const blink = [33, 97].reduce((s, c) => s + Math.exp(-(((k - c) / 1.6) ** 2)), 0);
    poses.push({ angle, dx, dy, blink: Math.min(1, blink) });
  }
  return poses;
}

/**
 * The pose whose mouth lands on a face measured at `lip` with roll `roll`, in a frame already at
 * canonical scale: the point the demo model calls (MOUTH_X, LINE_Y) sits where the demo face's
 * lip landmark sits relative to it.
 */
export function poseForLip(lip: [number, number], roll: number): Pose {
  const c = Math.cos(roll);
  const s = Math.sin(roll);
  const ox = MOUTH_X - CANON_LIP[0];
  const oy = LINE_Y - CANON_LIP[1];
  const tx = lip[0] + c * ox - s * oy;
  const ty = lip[1] + s * ox + c * oy;
  const [rx, ry] = poseApply({ angle: roll, dx: 0, dy: 0, blink: 0 }, MOUTH_X, LINE_Y);
  return { angle: roll, dx: tx - rx, dy: ty - ry, blink: 0 };
}
