/**
 * Test faces from Debian packages (none downloaded by the tests; scripts/setup.sh --system
 * installs them) and test media made from them with ffmpeg, espeak-ng and sharp.
 *  - grace_hopper.jpg: python-matplotlib-data; US Navy portrait of Grace Hopper, public domain.
 *  - mona.png: node-opencv's examples (taken from its .deb by setup.sh); the Mona Lisa, public domain.
 *  - coffee.png, camera.png: python3-skimage's data; CC0 (no face; a face far too small).
 */
import { execFileSync } from "node:child_process";
import { existsSync, readFileSync, writeFileSync } from "node:fs";
import path from "node:path";
import sharp from "sharp";
import { REPO_ROOT } from "../src/static-mounts.js";

export const HOPPER = "/usr/share/matplotlib/mpl-data/sample_data/grace_hopper.jpg";
export const MONA = path.join(REPO_ROOT, ".cache", "test-faces", "mona.png");
export const SKIMAGE = "/usr/lib/python3/dist-packages/skimage/data";

export function requireFaces(): void {
  for (const f of [HOPPER, MONA, path.join(SKIMAGE, "coffee.png")]) {
    if (!existsSync(f)) throw new Error(`test face ${f} is missing: run bash scripts/setup.sh --system`);
  }
}

function run(cmd: string, args: string[]): void {
  execFileSync(cmd, args, { stdio: ["ignore", "ignore", "pipe"], timeout: 60_000 });
}

/** Speech with quiet seconds before it: 16 kHz WAV. */
export function speechWav(dir: string, text: string, leadSeconds: number): string {
  const raw = path.join(dir, "espeak.wav");
  const out = path.join(dir, "speech.wav");
  run("espeak-ng", ["-v", "en-us", "-w", raw, text]);
  run("sox", [raw, "-r", "16000", out, "pad", String(leadSeconds), "0.5"]);
  return out;
}

/**
 * A talking-head-like clip from a still: slow zoom and drift (the head moves in the frame) over
 * `seconds`, with `audio` as its sound track.
 */
export function motionVideo(image: string, out: string, seconds: number, audio?: string): string {
  const filter = "scale=1024:-2,zoompan=z='1.1+0.03*sin(2*PI*on/90)':x='iw/2-(iw/zoom/2)+10*sin(2*PI*on/60)':y='ih/2-(ih/zoom/2)+6*sin(2*PI*on/80)':d=1:s=640x740:fps=25,setsar=1";
  run("ffmpeg", ["-v", "error", "-y", "-loop", "1", "-i", image, ...(audio ? ["-i", audio] : []), "-vf", filter, "-t", String(seconds),
    "-c:v", "libx264", "-preset", "veryfast", "-pix_fmt", "yuv420p", ...(audio ? ["-c:a", "aac", "-shortest"] : []), out]);
  return out;
}

/** Two shots joined: a cut at the join. */
export function cutVideo(dir: string, out: string): string {
  const a = motionVideo(HOPPER, path.join(dir, "shot-a.mp4"), 2);
  const b = motionVideo(MONA, path.join(dir, "shot-b.mp4"), 2);
  run("ffmpeg", ["-v", "error", "-y", "-i", a, "-i", b, "-filter_complex", "[0:v][1:v]concat=n=2:v=1[v]", "-map", "[v]", "-c:v", "libx264", "-preset", "veryfast", "-pix_fmt", "yuv420p", out]);
  return out;
}

/** Two portraits side by side. */
export async function twoFaces(out: string): Promise<string> {
  const a = await sharp(HOPPER).resize({ height: 600 }).toBuffer();
  const b = await sharp(MONA).resize({ height: 600 }).toBuffer();
  const bw = (await sharp(b).metadata()).width!;
  await sharp({ create: { width: 512 + bw, height: 600, channels: 3, background: "#808080" } })
    .composite([{ input: a, left: 0, top: 0 }, { input: b, left: 512, top: 0 }]).png().toFile(out);
  return out;
}

/**
 * The Hopper portrait as if turned: the picture's left half stretched, its right half squeezed,
 * so the nose sits far off the middle of the face.
 */
export async function turnedFace(out: string): Promise<string> {
  const { data, info } = await sharp(HOPPER).removeAlpha().raw().toBuffer({ resolveWithObject: true });
  const w = info.width;
  const h = info.height;
  const cx = 265;   // the nose tip's column in grace_hopper.jpg
  const dst = Buffer.alloc(w * h * 3);
  for (let x = 0; x < w; x++) {
    // Output column x shows source column u: 0..1.6 cx maps to 0..cx, the rest to the right.
    const split = 1.6 * cx;
    const u = x < split ? (x / split) * cx : cx + ((x - split) / (w - split)) * (w - cx);
    const u0 = Math.min(w - 1, Math.floor(u));
    for (let y = 0; y < h; y++) for (let c = 0; c < 3; c++) dst[(y * w + x) * 3 + c] = data[(y * w + u0) * 3 + c]!;
  }
  await sharp(dst, { raw: { width: w, height: h, channels: 3 } }).png().toFile(out);
  return out;
}

/** The first `fraction` of a file: a truncated download. */
export function truncated(file: string, out: string, fraction: number): string {
  const bytes = readFileSync(file);
  writeFileSync(out, bytes.subarray(0, Math.floor(bytes.length * fraction)));
  return out;
}
