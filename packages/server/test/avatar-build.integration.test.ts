/**
 * lipsync avatar build end to end: packages from two photos and a video made of one of them;
 * the landmarks land on the face, the package validates, a real server loads and renders it.
 * Bad input is refused with a message naming what and where, and nothing is left on disk.
 */
import { execFileSync } from "node:child_process";
import { mkdtempSync, readdirSync, readFileSync, rmSync } from "node:fs";
import os from "node:os";
import path from "node:path";
import { createLipSyncClient } from "@lipsync/client/node";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { buildAvatar, type BuildOptions } from "../src/avatar/build/index.js";
import { FaceFinder } from "../src/avatar/build/faces.js";
import { faceShape } from "../src/avatar/build/geometry.js";
import { readManifest } from "../src/avatar/loader.js";
import { decodeImage } from "../src/engine/jpeg.js";
import { REPO_ROOT } from "../src/static-mounts.js";
import { cutVideo, HOPPER, MONA, motionVideo, requireFaces, SKIMAGE, speechWav, truncated, turnedFace, twoFaces } from "./faces.js";
import { testServer } from "./harness.js";

const BASE = path.join(REPO_ROOT, "models", "demo");
let root: string;
let media: string;
let finder: FaceFinder;

function options(name: string, input: { photo: string } | { video: string }): BuildOptions {
  return { ...input, name, root, license: "public domain (test)", base: BASE };
}

/** The face measured again on a package frame: one face, lips in the model's mouth box, eyes above. */
async function checkFrame(dir: string, index: number) {
  const manifest = await readManifest(dir, path.basename(dir));
  const frame = await decodeImage(readFileSync(path.join(dir, "frames", `${String(index).padStart(4, "0")}.jpg`)));
  const faces = await finder.detect(frame);
  expect(faces.length).toBe(1);
  const [fx, fy, fw, fh] = faces[0]!.box;
  const shape = faceShape(faces[0]!.points);
  const [cx, cy] = manifest.cropBoxes[index]!;
  const [bx0, by0, bx1, by1] = manifest.model.image.paste;
  const mouth = [cx + bx0, cy + by0, cx + bx1, cy + by1];
  // The region the model repaints lies on the face (its top half at least inside the face box) ...
  expect(mouth[0]).toBeGreaterThanOrEqual(fx - 10);
  expect(mouth[2]).toBeLessThanOrEqual(fx + fw + 10);
  expect(mouth[1]).toBeGreaterThan(fy);
  expect(mouth[1]).toBeLessThan(fy + fh);
  // ... the lips inside it, near where the demo face's are, and both eyes above it.
  expect(shape.lip[0]).toBeGreaterThan(mouth[0]! + 30);
  expect(shape.lip[0]).toBeLessThan(mouth[2]! - 30);
  expect(shape.lip[1] - cy).toBeGreaterThan(20);
  expect(shape.lip[1] - cy).toBeLessThan(50);
  for (const [, ey] of shape.eyes) expect(ey).toBeLessThan(mouth[1]!);
  return manifest;
}

function leftovers(): string[] {
  return readdirSync(root).filter((e) => e.startsWith("."));
}

beforeAll(async () => {
  requireFaces();
  root = mkdtempSync(path.join(os.tmpdir(), "lipsync-build-"));
  media = mkdtempSync(path.join(os.tmpdir(), "lipsync-media-"));
  finder = await FaceFinder.create();
});

afterAll(() => {
  rmSync(root, { recursive: true, force: true });
  rmSync(media, { recursive: true, force: true });
});

describe("avatar build from photos", () => {
  for (const [name, photo] of [["hopper", HOPPER], ["mona", MONA]] as const) {
    it(`${name}: a valid package whose crops sit on the mouth in every idle frame`, async () => {
      const summary = await buildAvatar(options(name, { photo }));
      expect(summary.frames).toBe(125);
      const manifest = await checkFrame(summary.dir, 0);
      await checkFrame(summary.dir, 62);
      expect(manifest.frameCount).toBe(125);
      expect(manifest.license).toBe("public domain (test)");
      expect(readdirSync(path.join(summary.dir, "footage"))).toEqual(expect.arrayContaining(["footage.json", "canonical.png"]));
      expect(leftovers()).toEqual([]);
    });
  }
});

describe("avatar build from a video", () => {
  it("tracks the face, keeps the audio, picks the quiet seconds for the idle loop", async () => {
    const wav = speechWav(media, "Hello, my name is Grace, and I wrote the first compiler.", 2.5);
    const video = motionVideo(HOPPER, path.join(media, "hopper.mp4"), 6, wav);
    const summary = await buildAvatar(options("hopper-video", { video }));
    const manifest = await checkFrame(summary.dir, 0);
    await checkFrame(summary.dir, manifest.frameCount - 1);
    expect(manifest.audioTrack).toBe("audio.wav");
    const footage = JSON.parse(readFileSync(path.join(summary.dir, "footage", "footage.json"), "utf8"));
    // The speech starts after 2.5 s: the idle loop lies inside the quiet start.
    expect(footage.idle.silent).toBe(true);
    expect(footage.idle.end).toBeLessThanOrEqual(2.5 * 25 + 2);
    expect(manifest.frameCount).toBeGreaterThanOrEqual(40);
    expect(footage.speech.slice(70, 120)).toContain("1");
    // Head motion is followed: the crop boxes of the loop move.
    const xs = manifest.cropBoxes.map((b) => b[0]);
    expect(Math.max(...xs) - Math.min(...xs)).toBeGreaterThan(1);
  });
});

describe("serving built avatars", () => {
  it("a real server loads them next to each other and lip-syncs speech on each", async () => {
    const server = await testServer({ avatarRoots: [root], preloadAvatars: ["hopper", "mona", "hopper-video"] });
    try {
      const res = await fetch(`${server.url}/lipsync.v1.LipSyncService/ListAvatars`, { method: "POST", headers: { "content-type": "application/json" }, body: "{}" });
      const list = (await res.json()) as { avatars: { name: string; loaded?: boolean; error?: string }[] };
      const client = createLipSyncClient({ baseUrl: server.url, protocol: "connect" });
      const wav = new Uint8Array(readFileSync(path.join(REPO_ROOT, "models", "heldout", "gate-1.wav")));
      for (const name of ["hopper", "mona", "hopper-video"]) {
        const a = list.avatars.find((x) => x.name === name);
        expect(a?.error ?? "").toBe("");
        expect(a?.loaded).toBe(true);
        let frames = 0;
        for await (const e of client.speakAudio(name, wav)) {
          if (e.type === "frame") {
            frames++;
            expect([...e.frame.image.subarray(0, 2)]).toEqual([0xff, 0xd8]);
          }
        }
        expect(frames).toBeGreaterThan(50);
      }
    } finally {
      await server.close();
    }
  });
});

describe("avatar train: a short run of training/finetune.py", () => {
  const train = (steps: number) => {
    const out = execFileSync("/usr/bin/python3", ["-m", "training.finetune", path.resolve(root, "hopper-video"),
      "--steps", String(steps), "--utterances", "4", "--gate-limit", "1", "--no-install"], { cwd: REPO_ROOT, encoding: "utf8", timeout: 500_000, stdio: ["ignore", "pipe", "pipe"] });
    const line = out.split("\n").find((l) => l.startsWith("@result "));
    return { out, result: JSON.parse(line!.slice(8)) as { loss_first: number; loss_last: number; resumed_from: number; installed: boolean; held_out: { gate: { frames: number } } } };
  };

  it("lowers the loss on the video's own frames and synthetic speech, and resumes from its checkpoint", () => {
    const first = train(24);
    expect(first.result.loss_last).toBeLessThan(first.result.loss_first * 0.9);
    expect(first.result.held_out.gate.frames).toBeGreaterThan(50);
    expect(first.result.installed).toBe(false);
    expect(readdirSync(path.join(root, ".hopper-video.train"))).toContain("checkpoint.pt");
    const second = train(30);
    expect(second.result.resumed_from).toBe(24);
    expect(second.out).toContain('"stage": "training", "done": 30');
  }, 1_000_000);

  afterAll(() => rmSync(path.join(root, ".hopper-video.train"), { recursive: true, force: true }));
});

describe("bad input is refused clearly, nothing half-written", () => {
  const refused = async (input: { photo: string } | { video: string }, pattern: RegExp) => {
    await expect(buildAvatar(options("bad", input))).rejects.toThrow(pattern);
    expect(readdirSync(root)).not.toContain("bad");
    expect(leftovers()).toEqual([]);
  };

  it("no face", () => refused({ photo: path.join(SKIMAGE, "coffee.png") }, /no face found in the photo coffee\.png: use a photo .* one face/));
  it("two faces", async () => refused({ photo: await twoFaces(path.join(media, "two.png")) }, /2 faces found in the photo two\.png \(at x=.*\): crop it to the one person/));
  it("a face too small", () => refused({ photo: path.join(SKIMAGE, "camera.png") }, /the face in the photo camera\.png is too small .*use a closer or higher-resolution picture/));
  it("a face turned away", async () => refused({ photo: await turnedFace(path.join(media, "turned.png")) }, /turned away from the camera.*looks straight into the camera/));
  it("a corrupt photo", () => refused({ photo: truncated(HOPPER, path.join(media, "cut.jpg"), 0.02) }, /cut\.jpg is not a readable image/));
  it("a video with cuts names the frame of the cut", async () => refused({ video: cutVideo(media, path.join(media, "cuts.mp4")) }, /the video has cuts at frames 50 \(2\.0 s\): use one continuous shot/));
  it("a corrupt video", async () => {
    const good = motionVideo(HOPPER, path.join(media, "short.mp4"), 3);
    await refused({ video: truncated(good, path.join(media, "broken.mp4"), 0.3) }, /broken\.mp4: .*(cannot read it|corrupt|truncated|duration)/);
  });
  it("an existing avatar is not replaced without --force", async () => {
    await expect(buildAvatar(options("hopper", { photo: HOPPER }))).rejects.toThrow(/already exists .* --force/);
    expect(leftovers()).toEqual([]);
  });
});
