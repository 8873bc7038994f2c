/**
 * An avatar from one photo: the face found and brought into the canonical frame (eyes level,
 * lips where the demo face's are, its scale), then an idle loop synthesised from it as the
 * demo's is (training/face.py): head sway about the neck and two blinks, every motion made of
 * cos(n pi t) terms so ping-pong playback turns without a jerk.
 */
import path from "node:path";
import sharp from "sharp";
import type { RgbImage } from "../../engine/image-ops.js";
import { encodeJpeg } from "../../engine/jpeg.js";
import { checkShape, refuse, subjectFace } from "./face-check.js";
import type { FaceFinder } from "./faces.js";
import { canonicalTransform, CANON_LIP, CROP_SIZE, cropOrigin, faceShape, FRAME_SIZE, idlePoses } from "./geometry.js";
import type { Progress } from "./progress.js";
import { outsideFraction, renderIdle, warpSimilarity } from "./warp.js";

export interface FrameSink {
  frame(index: number, jpeg: Uint8Array): void;
  file(rel: string, bytes: Uint8Array | string): void;
}

export interface SourceResult {
  width: number;
  height: number;
  cropBoxes: [number, number, number, number][];
  audio: boolean;
  warnings: string[];
  facts: Record<string, string | number>;
}

export async function readImage(file: string): Promise<RgbImage> {
  try {
    // rotate(): honour the EXIF orientation of phone photos.
    const { data, info } = await sharp(file).rotate().removeAlpha().toColourspace("srgb").raw().toBuffer({ resolveWithObject: true });
    return { data: new Uint8Array(data.buffer, data.byteOffset, data.byteLength), width: info.width, height: info.height };
  } catch {
    throw refuse(`${path.basename(file)} is not a readable image (JPEG, PNG, WebP, TIFF, GIF): is the file complete?`);
  }
}

export async function buildFromPhoto(file: string, finder: FaceFinder, sink: FrameSink, progress: Progress, quality: number): Promise<SourceResult> {
  progress.stage("finding the face", 0);
  const photo = await readImage(file);
  const what = `the photo ${path.basename(file)}`;
  const face = subjectFace(await finder.detect(photo), what);
  const shape = checkShape(face, what);
  const t = canonicalTransform(shape);
  const canonical = warpSimilarity(photo, t, FRAME_SIZE, FRAME_SIZE);
  const warnings: string[] = [];
  const outside = outsideFraction(photo, t, FRAME_SIZE, FRAME_SIZE);
  if (outside > 0.15) {
    warnings.push(`the photo ends close to the face: ${Math.round(outside * 100)}% of the frame continues the photo past its edge (mirrored and blurred); a photo with more room around the head looks better`);
  }
  if (t.scale > 2.2) {
    warnings.push(`the face is small (scaled up ${t.scale.toFixed(1)}x): expect a soft picture; a larger photo of the face looks sharper`);
  }
  // Landmarks again on the canonical frame: the eyes for the blinks, and a check that the face
  // landed where the model expects it.
  const again = subjectFace(await finder.detect(canonical), `${what} (after alignment)`);
  const canonShape = faceShape(again.points);
  if (Math.hypot(canonShape.lip[0] - CANON_LIP[0], canonShape.lip[1] - CANON_LIP[1]) > 12) {
    throw refuse(`${what}: the face could not be aligned reliably (landmarks disagree after alignment): use a sharper, frontal photo`);
  }
  sink.file("footage/canonical.png", await sharp(canonical.data, { raw: { width: FRAME_SIZE, height: FRAME_SIZE, channels: 3 } }).png().toBuffer());

  const poses = idlePoses();
  progress.stage("rendering the idle loop", poses.length);
  const cropBoxes: [number, number, number, number][] = [];
  const idleFace = { eyes: canonShape.eyes, eyeWidth: canonShape.eyeWidth };
  for (let k = 0; k < poses.length; k++) {
    const frame = renderIdle(canonical, idleFace, poses[k]!);
    sink.frame(k, await encodeJpeg(frame.data, frame.width, frame.height, quality));
    const [x, y] = cropOrigin(poses[k]!);
    cropBoxes.push([x, y, CROP_SIZE, CROP_SIZE]);
    progress.update(k + 1);
  }
  sink.file("footage/footage.json", JSON.stringify({
    kind: "photo",
    source: path.basename(file),
    source_size: [photo.width, photo.height],
    to_canonical: t,
    landmarks: Array.from(again.points, (v) => Math.round(v * 10) / 10),
    frame_poses: poses.map((p) => [p.angle, p.dx, p.dy, p.blink]),
  }, null, 1));
  return {
    width: FRAME_SIZE,
    height: FRAME_SIZE,
    cropBoxes,
    audio: false,
    warnings,
    facts: { source: `photo ${photo.width}x${photo.height}`, "face in the photo": `${Math.round(face.box[2])} px wide, score ${face.score.toFixed(2)}`, scale: `${t.scale.toFixed(2)}x, rotated ${((Math.abs(t.angle) * 180) / Math.PI).toFixed(1)} deg to level the eyes` },
  };
}
