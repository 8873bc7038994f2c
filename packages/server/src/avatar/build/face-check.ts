/**
 * Which face to build from, and the clear refusals: no face, several faces, a face too small or
 * turned away. Every message says where (the file, the frames) and what to do about it.
 */
import { LipSyncError } from "../../errors.js";
import type { Face } from "./faces.js";
import { faceShape, MAX_YAW_OFFSET, MIN_MOUTH_WIDTH, type FaceShape } from "./geometry.js";

/** Faces smaller than this share of the largest are background faces, not a second subject. */
const SECOND_FACE_SHARE = 0.45;

export function refuse(message: string): LipSyncError {
  return new LipSyncError("invalid_argument", message);
}

const where = (b: Face["box"]) => `at x=${Math.round(b[0])}, y=${Math.round(b[1])}, ${Math.round(b[2])} px wide`;

/** The one subject face of `faces` (largest first), or a refusal naming `what` ("the photo", "frame 12"). */
export function subjectFace(faces: Face[], what: string): Face {
  if (faces.length === 0) {
    throw refuse(`no face found in ${what}: use a photo or video where one face looks at the camera, well lit, filling at least a fifth of the picture`);
  }
  const main = faces[0]!;
  const others = faces.slice(1).filter((f) => f.box[2] >= SECOND_FACE_SHARE * main.box[2]);
  if (others.length) {
    throw refuse(`${others.length + 1} faces found in ${what} (${[main, ...others].map((f) => where(f.box)).join("; ")}): crop it to the one person the avatar should show`);
  }
  return main;
}

/** Checks one face's landmarks: big enough, looking at the camera. */
export function checkShape(face: Face, what: string): FaceShape {
  const shape = faceShape(face.points);
  if (shape.mouthWidth < MIN_MOUTH_WIDTH) {
    throw refuse(`the face in ${what} is too small (${where(face.box)}, mouth ${Math.round(shape.mouthWidth)} px wide; at least ${MIN_MOUTH_WIDTH} px needed): use a closer or higher-resolution picture, the face at least 100 px wide`);
  }
  if (Math.abs(shape.yaw - 0.5) > MAX_YAW_OFFSET) {
    throw refuse(`the face in ${what} is turned away from the camera (turned ${shape.yaw < 0.5 ? "to its right" : "to its left"}): use a picture where the person looks straight into the camera`);
  }
  if (Math.abs(shape.roll) > (35 * Math.PI) / 180) {
    throw refuse(`the face in ${what} is tilted by ${Math.round((shape.roll * 180) / Math.PI)} degrees: use an upright picture`);
  }
  return shape;
}
