/**
 * An avatar from a video. Two passes over the frames (25 fps, decoded by ffmpeg, one frame in
 * memory at a time):
 *  1. analysis at a small size: cuts (a jump of the whole picture), the face (detected every
 *     second and after a jump, its 68 landmarks tracked in between), refusals by frame range;
 *  2. at the canonical scale (the face as large as the demo face): the model crop of every frame
 *     for training, and the idle loop's frames, a stretch without speech found from the energy
 *     of the video's own audio, which is kept as the package's audio track.
 */
import path from "node:path";
import { FPS, SAMPLES_PER_FRAME } from "../../audio/constants.js";
import type { RgbImage } from "../../engine/image-ops.js";
import { encodeJpeg } from "../../engine/jpeg.js";
import { checkShape, refuse, subjectFace } from "./face-check.js";
import type { FaceFinder } from "./faces.js";
import { canonicalScale, CANON_LIP, CROP_SIZE, cropOrigin, faceShape, FRAME_SIZE, poseForLip, type FaceShape, type Pose } from "./geometry.js";
import { audio as readAudio, frames as readFrames, probe, wavBytes } from "./media.js";
import type { FrameSink, SourceResult } from "./photo.js";
import type { Progress } from "./progress.js";

const ANALYSIS_SIZE = 640;          // long side of the analysis pass, pixels
const REDETECT_EVERY = FPS;         // frames between detector passes while tracking
const CUT_THRESHOLD = 28;           // mean absolute change of a 32 x 32 grey thumbnail, of 255
const MIN_FRAMES = 2 * FPS;
const MAX_TRAINING_FRAMES = 5 * 60 * FPS;   // crops kept for training: 5 minutes
const SMOOTH = 2;                   // landmark smoothing: a centred mean over 2 SMOOTH + 1 frames

const even = (x: number) => Math.max(2, 2 * Math.round(x / 2));
const time = (f: number) => `${(f / FPS).toFixed(1)} s`;

function ranges(frames: number[]): string {
  const out: string[] = [];
  for (let i = 0; i < frames.length; ) {
    let j = i;
    while (j + 1 < frames.length && frames[j + 1] === frames[j]! + 1) j++;
    out.push(i === j ? `${frames[i]} (${time(frames[i]!)})` : `${frames[i]}-${frames[j]} (${time(frames[i]!)}-${time(frames[j]!)})`);
    i = j + 1;
  }
  return out.length > 6 ? `${out.slice(0, 6).join(", ")} and ${out.length - 6} more` : out.join(", ");
}

function thumbnail(img: RgbImage): Float32Array {
  const n = 32;
  const out = new Float32Array(n * n);
  for (let ty = 0; ty < n; ty++) {
    const y = Math.floor(((ty + 0.5) * img.height) / n);
    for (let tx = 0; tx < n; tx++) {
      const i = (y * img.width + Math.floor(((tx + 0.5) * img.width) / n)) * 3;
      out[ty * n + tx] = 0.299 * img.data[i]! + 0.587 * img.data[i + 1]! + 0.114 * img.data[i + 2]!;
    }
  }
  return out;
}

function pointsBox(p: Float64Array): [number, number, number, number] {
  let x0 = Infinity, y0 = Infinity, x1 = -Infinity, y1 = -Infinity;
  for (let i = 0; i < 68; i++) {
    x0 = Math.min(x0, p[2 * i]!); x1 = Math.max(x1, p[2 * i]!);
    y0 = Math.min(y0, p[2 * i + 1]!); y1 = Math.max(y1, p[2 * i + 1]!);
  }
  // The landmarks span brows to chin; the detector's box is a little larger.
  const w = x1 - x0;
  const h = y1 - y0;
  return [x0 - 0.1 * w, y0 - 0.15 * h, 1.2 * w, 1.25 * h];
}

interface Analysis {
  shapes: FaceShape[];
  count: number;
}

async function analyse(file: string, finder: FaceFinder, width: number, height: number, expected: number, progress: Progress): Promise<Analysis> {
  progress.stage("tracking the face", expected);
  const shapes: FaceShape[] = [];
  const noFace: number[] = [];
  const cuts: number[] = [];
  let prevThumb: Float32Array | undefined;
  let tracked: Float64Array | undefined;
  let i = 0;
  for await (const frame of readFrames(file, width, height)) {
    const thumb = thumbnail(frame);
    let jump = false;
    if (prevThumb) {
      let d = 0;
      for (let k = 0; k < thumb.length; k++) d += Math.abs(thumb[k]! - prevThumb[k]!);
      jump = d / thumb.length > CUT_THRESHOLD;
      if (jump) cuts.push(i);
    }
    prevThumb = thumb;
    let points: Float64Array | undefined;
    if (!tracked || jump || i % REDETECT_EVERY === 0) {
      const faces = await finder.detect(frame);
      if (faces.length) {
        const face = subjectFace(faces, `frame ${i} (${time(i)})`);
        checkShape(face, `frame ${i} (${time(i)})`);
        points = face.points;
      }
    } else {
      points = await finder.landmarksIn(frame, pointsBox(tracked));
    }
    if (points) {
      const shape = faceShape(points);
      if (Math.abs(shape.yaw - 0.5) > 0.25) {
        throw refuse(`the face turns away from the camera in frame ${i} (${time(i)}): use a stretch of video where the person faces the camera throughout`);
      }
      shapes.push(shape);
      tracked = points;
    } else {
      noFace.push(i);
      tracked = undefined;
      shapes.push(shapes[shapes.length - 1] ?? faceShape(new Float64Array(136)));
    }
    i++;
    progress.update(i, `frame ${i}`);
  }
  if (cuts.length) {
    throw refuse(`the video has cuts at frames ${ranges(cuts)}: use one continuous shot (cut it first, e.g. ffmpeg -ss START -t SECONDS -i ${path.basename(file)} shot.mp4)`);
  }
  if (noFace.length) {
    throw refuse(`no face found in frames ${ranges(noFace)}: trim the video to where the face is visible throughout`);
  }
  if (i < MIN_FRAMES) throw refuse(`the video is too short (${i} frames): at least ${MIN_FRAMES / FPS} s are needed`);
  return { shapes, count: i };
}

function smooth(values: number[]): number[] {
  return values.map((_, i) => {
    let s = 0;
    let n = 0;
    for (let j = Math.max(0, i - SMOOTH); j <= Math.min(values.length - 1, i + SMOOTH); j++, n++) s += values[j]!;
    return s / n;
  });
}

/** Per-frame speech flags from the energy of the audio: above the floor by 15 dB, with hangover. */
export function speechFrames(samples: Float32Array, count: number): boolean[] {
  const db = Array.from({ length: count }, (_, f) => {
    let e = 0;
    const a = f * SAMPLES_PER_FRAME;
    const b = Math.min(samples.length, a + SAMPLES_PER_FRAME);
    for (let k = a; k < b; k++) e += samples[k]! * samples[k]!;
    return b > a ? 10 * Math.log10(e / (b - a) + 1e-10) : -100;
  });
  const sorted = [...db].sort((x, y) => x - y);
  const floor = sorted[Math.floor(0.1 * sorted.length)] ?? -100;
  const loud = db.map((d) => d > Math.max(floor + 15, -55));
  // Speech starts a little before it is loud and the mouth closes a little after: 3 frames each way.
  return loud.map((_, f) => loud.slice(Math.max(0, f - 3), f + 4).some(Boolean));
}

/** The idle stretch: the longest run without speech (its middle, up to maxFrames), or the calmest mouth. */
function idleStretch(speech: boolean[], shapes: FaceShape[], maxFrames: number): { start: number; end: number; silent: boolean } {
  let best = { start: 0, end: 0 };
  for (let i = 0; i < speech.length; ) {
    if (speech[i]) { i++; continue; }
    let j = i;
    while (j < speech.length && !speech[j]) j++;
    if (j - i > best.end - best.start) best = { start: i, end: j };
    i = j;
  }
  if (best.end - best.start >= FPS) {
    const n = Math.min(maxFrames, best.end - best.start);
    const start = best.start + Math.floor((best.end - best.start - n) / 2);
    return { start, end: start + n, silent: true };
  }
  // No second of silence: the two seconds where the lips are most closed.
  const n = Math.min(2 * FPS, shapes.length);
  let bestStart = 0;
  let bestOpen = Infinity;
  for (let s = 0; s + n <= shapes.length; s++) {
    let o = 0;
    for (let k = s; k < s + n; k++) o += shapes[k]!.opening;
    if (o < bestOpen) { bestOpen = o; bestStart = s; }
  }
  return { start: bestStart, end: bestStart + n, silent: false };
}

export async function buildFromVideo(file: string, finder: FaceFinder, sink: FrameSink, progress: Progress, quality: number, maxIdle: number): Promise<SourceResult> {
  const info = await probe(file);
  const a = Math.min(1, ANALYSIS_SIZE / Math.max(info.width, info.height));
  const aw = even(info.width * a);
  const ah = even(info.height * a);
  const expected = Math.max(1, Math.round(info.duration * FPS));
  const { shapes, count } = await analyse(file, finder, aw, ah, expected, progress);

  progress.stage("reading the audio", 0);
  const samples = info.hasAudio ? await readAudio(file) : new Float32Array(0);
  const speech = info.hasAudio ? speechFrames(samples, count) : new Array<boolean>(count).fill(false);
  const warnings: string[] = [];
  if (!info.hasAudio) warnings.push("the video has no sound: training will use synthetic speech only");

  // One scale for the whole video: the face at the demo face's size.
  const mid = (xs: number[]) => [...xs].sort((p, q) => p - q)[Math.floor(xs.length / 2)]!;
  const s = canonicalScale({ mouthWidth: mid(shapes.map((x) => x.mouthWidth)), eyeMouth: mid(shapes.map((x) => x.eyeMouth)) });
  const ow = even(aw * s);
  const oh = even(ah * s);
  const sx = ow / aw;
  const sy = oh / ah;
  const lipX = smooth(shapes.map((x) => x.lip[0] * sx));
  const lipY = smooth(shapes.map((x) => x.lip[1] * sy));
  const roll = smooth(shapes.map((x) => x.roll));
  const poses: Pose[] = shapes.map((_, f) => poseForLip([lipX[f]!, lipY[f]!], roll[f]!));
  const boxes = poses.map(cropOrigin);

  const idle = idleStretch(speech, shapes, maxIdle);
  if (!idle.silent) warnings.push("no second without speech: the idle loop uses the 2 s where the lips are most closed; record a few quiet seconds for a calmer idle");
  // The package frame: a window around the idle stretch's face, as the canonical frame is
  // around the demo face, widened by the head's motion and clipped to the video.
  let x0 = Infinity, y0 = Infinity, x1 = -Infinity, y1 = -Infinity;
  for (let f = idle.start; f < idle.end; f++) {
    x0 = Math.min(x0, lipX[f]! - CANON_LIP[0]); x1 = Math.max(x1, lipX[f]! - CANON_LIP[0] + FRAME_SIZE);
    y0 = Math.min(y0, lipY[f]! - CANON_LIP[1]); y1 = Math.max(y1, lipY[f]! - CANON_LIP[1] + FRAME_SIZE);
  }
  const wx = Math.max(0, Math.floor(x0));
  const wy = Math.max(0, Math.floor(y0));
  const ww = even(Math.min(ow, Math.ceil(x1)) - wx - 1);
  const wh = even(Math.min(oh, Math.ceil(y1)) - wy - 1);
  for (let f = 0; f < count; f++) {
    const [cx, cy] = boxes[f]!;
    const inWindow = f < idle.start || f >= idle.end || (cx >= wx && cy >= wy && cx + CROP_SIZE <= wx + ww && cy + CROP_SIZE <= wy + wh);
    if (cx < 0 || cy < 0 || cx + CROP_SIZE > ow || cy + CROP_SIZE > oh || !inWindow) {
      throw refuse(`the mouth comes too close to the edge of the picture in frame ${f} (${time(f)}): frame the video with room around the face`);
    }
  }

  const keep = Math.min(count, MAX_TRAINING_FRAMES);
  if (keep < count) warnings.push(`only the first ${keep / FPS / 60} minutes are kept for training`);
  const crops = new Uint8Array(keep * CROP_SIZE * CROP_SIZE * 3);
  progress.stage("cutting frames and crops", count);
  let f = 0;
  for await (const frame of readFrames(file, ow, oh)) {
    if (f >= count) break;
    const [cx, cy] = boxes[f]!;
    if (f < keep) {
      for (let y = 0; y < CROP_SIZE; y++) {
        const src = ((cy + y) * ow + cx) * 3;
        crops.set(frame.data.subarray(src, src + CROP_SIZE * 3), (f * CROP_SIZE + y) * CROP_SIZE * 3);
      }
    }
    if (f >= idle.start && f < idle.end) {
      const win = new Uint8Array(ww * wh * 3);
      for (let y = 0; y < wh; y++) win.set(frame.data.subarray(((wy + y) * ow + wx) * 3, ((wy + y) * ow + wx + ww) * 3), y * ww * 3);
      sink.frame(f - idle.start, await encodeJpeg(win, ww, wh, quality));
    }
    f++;
    progress.update(f);
  }
  if (f < count) throw refuse(`${path.basename(file)}: the second decoding pass ended at frame ${f} of ${count}: the file may be damaged`);

  if (info.hasAudio) sink.file("audio.wav", wavBytes(samples));
  sink.file("footage/crops.u8", crops);
  const idlePoses = poses.slice(idle.start, idle.end).map((p) => ({ ...p, dx: p.dx - wx, dy: p.dy - wy }));
  sink.file("footage/footage.json", JSON.stringify({
    kind: "video",
    source: path.basename(file),
    source_size: [info.width, info.height],
    scale: (s * aw) / info.width,
    frames: count,
    crops: { file: "crops.u8", shape: [keep, CROP_SIZE, CROP_SIZE, 3], crop_boxes: boxes.slice(0, keep) },
    audio: info.hasAudio ? "../audio.wav" : null,
    speech: speech.map((v) => (v ? 1 : 0)).join(""),
    idle: { start: idle.start, end: idle.end, silent: idle.silent },
    frame_poses: idlePoses.map((p) => [p.angle, p.dx, p.dy, 0]),
  }, null, 1));
  const speechFramesCount = speech.filter(Boolean).length;
  const cropBoxes = boxes.slice(idle.start, idle.end).map(([x, y]) => [x - wx, y - wy, CROP_SIZE, CROP_SIZE] as [number, number, number, number]);
  return {
    width: ww,
    height: wh,
    cropBoxes,
    audio: info.hasAudio,
    warnings,
    facts: {
      source: `video ${info.width}x${info.height}, ${(count / FPS).toFixed(1)} s at ${FPS} fps`,
      speech: `${(speechFramesCount / FPS).toFixed(1)} s`,
      "idle loop": `frames ${idle.start}-${idle.end - 1} (${time(idle.start)}-${time(idle.end)})${idle.silent ? ", without speech" : ""}`,
      scale: `${((s * aw) / info.width).toFixed(2)}x`,
    },
  };
}
