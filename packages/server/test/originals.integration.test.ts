/**
 * Bring your own model: datasets in the SyncTalk_2D and Ultralight-Digital-Human layouts, with
 * the public architectures re-created at random weights and exported as the originals export
 * them (training/original_fixtures.py), go through `lipsync avatar import` and serve as they
 * are: shapes, BGR, the original audio indexing, the paste region, a fixed-batch-1 export under
 * concurrent load, live Speak at 25 and 20 fps, and every kind of bad input.
 */
import { cpSync, existsSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import os from "node:os";
import path from "node:path";
import { createLipSyncClient, type SpeechEvent } from "@lipsync/client/node";
import { afterAll, beforeAll, describe, expect, it, vi } from "vitest";
import { trackInputs } from "../src/audio/frontends/inputs.js";
import { parseNpy, npyRows } from "../src/audio/frontends/npy.js";
import { parseWav } from "../src/audio/wav.js";
import { importAvatar, type ImportOptions } from "../src/avatar/import/import-avatar.js";
import { main } from "../src/cli/main.js";
import { decodeImage } from "../src/engine/jpeg.js";
import { silentLogger } from "../src/logger.js";
import { startServer, type RunningServer } from "../src/server.js";
import { SessionRunner } from "../src/session/session-runner.js";
import { speechLikePcm } from "./harness.js";
import { originalDatasets } from "./originals.js";
import { plain, rectOf } from "./frames.js";
import { SourceView } from "@lipsync/proto";

let data: string;
let root: string;
let server: RunningServer;
const logger = silentLogger();

function importInto(out: string, dataset: string, name: string, extra: Partial<ImportOptions> = {}) {
  return importAvatar({ dir: path.join(data, dataset), name, out, threads: 2, ...extra }, logger);
}

/** A copy of a dataset to break on purpose. */
function copyOf(dataset: string): string {
  const dir = mkdtempSync(path.join(os.tmpdir(), "lipsync-dataset-"));
  cpSync(path.join(data, dataset), dir, { recursive: true });
  return dir;
}

beforeAll(async () => {
  data = originalDatasets();
  root = mkdtempSync(path.join(os.tmpdir(), "lipsync-imported-"));
  // The first through the command itself, as a user runs it.
  const out = vi.spyOn(process.stdout, "write").mockImplementation(() => true);
  const code = await main(["avatar", "import", path.join(data, "synctalk"), "--name", "st", "--out", root, "--threads", "2"]);
  const printed = out.mock.calls.map((c) => String(c[0])).join("");
  out.mockRestore();
  expect(code, printed).toBe(0);
  expect(printed).toMatch(/imported "st".*SyncTalk_2D, ave audio; 320 px input cut from a 328 px crop; BGR; batch 1/s);
  await importInto(root, "synctalk", "st-rgb", { unet: "unet_rgb.onnx", channelOrder: "RGB" });
  await importInto(root, "ultralight", "ul");
  // Random-weight models on a shared 2-core machine are slow: a fixed capacity (no measuring at
  // load) and a generous latency bound, so counts and pts are checked rather than drops.
  server = await startServer({ port: 0, host: "127.0.0.1", avatarRoots: [root], logger, inferenceThreads: 2, sessionCapacity: 8, maxFrameLatencyMs: 120_000 });
}, 600_000);

afterAll(async () => {
  await server?.close();
  if (root) rmSync(root, { recursive: true, force: true });
});

const manifestOf = (name: string) => JSON.parse(readFileSync(path.join(root, name, "manifest.json"), "utf8"));

describe("avatar import", () => {
  it("writes a version 2 package with the originals' crop from landmarks 1, 31 and 52", () => {
    const m = manifestOf("st");
    expect(m).toMatchObject({ format_version: 2, fps: 25, frame_count: 40, width: 512, height: 512, frames: "frames/{index:06d}.jpg" });
    for (const i of [0, 17, 39]) {
      const points = readFileSync(path.join(data, "synctalk", "landmarks", `${i}.lms`), "utf8").trim().split("\n").map((l) => l.split(" ").map(Number));
      const [x, w] = [Math.trunc(points[1]![0]!), Math.trunc(points[31]![0]!) - Math.trunc(points[1]![0]!)];
      expect(m.crop_boxes[i]).toEqual([x, Math.trunc(points[52]![1]!), w, w]);
    }
    // Frames are the dataset's JPEG bytes: no second encode.
    expect(readFileSync(path.join(root, "st", "frames", "000017.jpg")).equals(readFileSync(path.join(data, "synctalk", "full_body_img", "17.jpg")))).toBe(true);
    expect(m.model.unet).toEqual({ file: "unet.onnx", inputs: { image: "input", audio: "audio" }, output: "output", audio_dims: [32, 16, 16] });
    expect(manifestOf("ul")).toMatchObject({ fps: 20, model: { unet: { audio_dims: [128, 16, 32] }, audio: { frontend: { kind: "waveform", window_samples: 10960 } } } });
    // Nothing but the packages in the root: the temporary folders are gone.
    expect(readdirSync(root).sort()).toEqual(["st", "st-rgb", "ul"]);
  });

  it("serves the imported avatars with the originals' shapes, fixed batch read from the file", async () => {
    const c = createLipSyncClient({ baseUrl: server.url, protocol: "connect" });
    const list = await c.listAvatars();
    expect(list.map((a) => a.name).sort()).toEqual(["st", "st-rgb", "ul"]);
    const st = await c.getAvatar("st");
    expect(st.avatar).toMatchObject({ fps: 25, frameCount: 40, model: { inputSize: 320, lookaheadFrames: 11 } });
    expect((await c.getAvatar("ul")).avatar).toMatchObject({ fps: 20, model: { inputSize: 160 } });
    const avatar = await server.app.registry.get("st");
    expect(avatar.model.shape.unetBatch).toBe(1);
    expect((await server.app.registry.get("ul")).model.shape.unetBatch).toBeUndefined();
  });
});

describe("the contract at work", () => {
  async function rgbFrame(name: string, index: number) {
    return plain((await server.app.oneShot.renderOwn(undefined, name, [index], "rgb"))[0]!);
  }

  it("a channel-swapped model, declared RGB, gives the same pixels as the BGR original", async () => {
    for (const i of [0, 20]) {
      const bgr = await rgbFrame("st", i);
      const rgb = await rgbFrame("st-rgb", i);
      let max = 0;
      let changed = 0;
      const source = (await server.app.oneShot.sourceFrame(undefined, "st", i, SourceView.FULL, "rgb")).image;
      for (let k = 0; k < bgr.image.length; k++) {
        max = Math.max(max, Math.abs(bgr.image[k]! - rgb.image[k]!));
        if (bgr.image[k] !== source[k]) changed++;
      }
      // Float summation order differs between the two first layers: at most one level.
      expect(max).toBeLessThanOrEqual(1);
      expect(changed).toBeGreaterThan(1000);
    }
  });

  it("pastes the 320 px output inside the 4 px border only, leaving every other pixel the source's", async () => {
    const m = manifestOf("st");
    const frame = await rgbFrame("st", 5);
    const source = (await server.app.oneShot.sourceFrame(undefined, "st", 5, SourceView.FULL, "rgb")).image;
    const [bx, by, bw] = m.crop_boxes[5];
    const scale = bw / 328;
    expect(frame.mouthRect).toEqual([bx + Math.round(4 * scale), by + Math.round(4 * scale), Math.round(324 * scale) - Math.round(4 * scale), Math.round(324 * scale) - Math.round(4 * scale)]);
    const [x0, y0, w, h] = frame.mouthRect!;
    let inside = 0;
    for (let y = 0; y < 512; y++) {
      for (let x = 0; x < 512; x++) {
        const k = (y * 512 + x) * 3;
        const inRect = x >= x0 && x < x0 + w && y >= y0 && y < y0 + h;
        if (!inRect) expect(frame.image[k]).toBe(source[k]);
        else if (frame.image[k] !== source[k]) inside++;
      }
    }
    expect(inside).toBeGreaterThan(w * h * 0.5);
  });

  it("drives the own track with aud_ave.npy exactly as the original's get_audio_features indexes it", async () => {
    const avatar = await server.app.registry.get("st");
    const rows = npyRows(parseNpy(readFileSync(path.join(data, "synctalk", "aud_ave.npy"))));
    for (const i of [0, 3, 20, 38, 39]) {
      const window = avatar.ownWindow(i)!;
      for (let k = 0; k < 16; k++) {
        const j = i - 8 + k;
        const expected = j >= 0 && j < rows.length ? rows[j]! : new Float32Array(512);
        expect(Array.from(window.subarray(k * 512, (k + 1) * 512))).toEqual(Array.from(expected));
      }
    }
  });

  it("computes the live features of the own track as the original preprocessing did (mel offset, repeat, clamp)", async () => {
    const avatar = await server.app.registry.get("st");
    const rows = npyRows(parseNpy(readFileSync(path.join(data, "synctalk", "aud_ave.npy"))));
    const wav = parseWav(readFileSync(path.join(root, "st", "aud.wav")));
    // Every frame's encoder input as a session builds it, through the same encoder ONNX.
    const inputs = trackInputs(avatar.manifest.model.audio.frontEnd, 640, wav.samples, rows.length);
    const features = await Promise.all(inputs.map(async (x) => (await avatar.model.encode(x)).value));
    const diff = (a: Float32Array, b: Float32Array) => a.reduce((m, v, d) => Math.max(m, Math.abs(v - b[d]!)), 0);
    rows.forEach((row, j) => {
      // Our mel equals training/mel.py to 1e-4; ONNX Runtime and PyTorch differ in float order.
      expect(diff(row, features[j]!), `frame ${j}`).toBeLessThanOrEqual(1e-2);
    });
    // A window one frame off would be far from it: the comparison can tell.
    expect(diff(rows[20]!, features[21]!)).toBeGreaterThan(0.5);
  });

  it("keeps a fixed-batch-1 model correct under concurrent load: RenderFrames and two Speak sessions at once", async () => {
    const c = createLipSyncClient({ baseUrl: server.url, protocol: "grpc" });
    const speak = async () => {
      const s = c.speak({ avatar: "st", audio: { encoding: "pcm_s16le", sampleRate: 16000 } });
      s.pushAudio(speechLikePcm(0.5));
      s.end();
      const frames: number[] = [];
      for await (const e of s.events) {
        if (e.type === "frame") frames.push(e.frame.timings?.batchSize ?? 0);
        if (e.type === "playback-finished") break;
      }
      s.close();
      return frames;
    };
    const [a, b, rendered] = await Promise.all([speak(), speak(), c.renderFrames("st", Array.from({ length: 12 }, (_, i) => i))]);
    expect(a).toHaveLength(Math.ceil(8000 / 640));
    expect(b).toHaveLength(Math.ceil(8000 / 640));
    expect(rendered).toHaveLength(12);
    expect([...a, ...b, ...rendered.map((f) => f.timings?.batchSize ?? 0)].every((n) => n === 1)).toBe(true);
  });
});

describe("live Speak on imported avatars", () => {
  async function speakAll(avatar: string, seconds: number, rate: number): Promise<SpeechEvent[]> {
    const c = createLipSyncClient({ baseUrl: server.url, protocol: "grpc" });
    const s = c.speak({ avatar, audio: { encoding: "pcm_s16le", sampleRate: rate } });
    const pcm = speechLikePcm(seconds, rate);
    for (let i = 0; i < pcm.length; i += 1920) s.pushAudio(pcm.subarray(i, i + 1920));
    s.end();
    const events: SpeechEvent[] = [];
    for await (const e of s.events) {
      events.push(e);
      if (e.type === "playback-finished") break;
    }
    s.close();
    return events;
  }

  for (const [avatar, fps, rate] of [["st", 25, 24000], ["ul", 20, 16000]] as const) {
    it(`${avatar}: ceil(N / spf) frames at ${fps} fps, pts stepping by spf, the avatar's spf announced`, async () => {
      const spf = 16000 / fps;
      const events = await speakAll(avatar, 1.1, rate);
      expect(events[0]).toMatchObject({ type: "started", samplesPerFrame: spf, clockRate: 16000 });
      const frames = events.flatMap((e) => (e.type === "frame" ? [e.frame] : []));
      expect(frames).toHaveLength(Math.ceil(Math.ceil(1.1 * rate * (16000 / rate)) / spf));
      frames.forEach((f, i) => expect(f.pts - frames[0]!.pts).toBe(i * spf));
      expect(frames[0]!.pts % spf).toBe(0);
      expect(events.find((e) => e.type === "speech-ended")).toMatchObject({ endPts: frames[0]!.pts + frames.length * spf });
    });
  }

  it("changes only the paste region of live frames", async () => {
    const avatar = await server.app.registry.get("ul");
    const runner = new SessionRunner(avatar, { continuous: false, inputRate: 16000, encoding: "rgb", quality: 85, maxQueuedFrames: 100, maxQueuedSeconds: 60 });
    const pcm = speechLikePcm(0.6);
    runner.pushAudio(Float32Array.from({ length: pcm.length / 2 }, (_, i) => new DataView(pcm.buffer).getInt16(i * 2, true) / 32768));
    runner.finish();
    let checked = 0;
    for await (const out of runner) {
      if (out.type !== "frame") continue;
      const f = out.frame;
      const source = await avatar.frame(f.sourceIndex);
      const [x0, y0, w, h] = rectOf(f.mouthBox)!;
      let inside = 0;
      for (let y = 0; y < f.height; y++) {
        for (let x = 0; x < f.width; x++) {
          const k = (y * f.width + x) * 3;
          if (x >= x0 && x < x0 + w && y >= y0 && y < y0 + h) inside += f.image[k] === source.data[k] ? 0 : 1;
          else if (f.image[k] !== source.data[k]) throw new Error(`pixel (${x}, ${y}) of frame ${f.pts} changed outside the paste region`);
        }
      }
      expect(inside).toBeGreaterThan(0);
      checked++;
    }
    expect(checked).toBe(Math.ceil(9600 / 800));
  });
});

describe("bad input", () => {
  const out = () => mkdtempSync(path.join(os.tmpdir(), "lipsync-bad-import-"));

  async function importError(dataset: string, extra: Partial<ImportOptions> = {}): Promise<{ message: string; out: string }> {
    const dest = out();
    try {
      await importAvatar({ dir: dataset, name: "bad", out: dest, threads: 1, ...extra }, logger);
    } catch (err) {
      // Nothing written half-way: not the package, not its temporary folder.
      expect(readdirSync(dest)).toEqual([]);
      return { message: (err as Error).message, out: dest };
    }
    throw new Error("imported");
  }

  it("names the file and what is wrong, and writes nothing", async () => {
    const noLandmarks = copyOf("synctalk");
    rmSync(path.join(noLandmarks, "landmarks"), { recursive: true });
    expect((await importError(noLandmarks)).message).toMatch(/^landmarks\/: is missing/);

    const noFrames = copyOf("synctalk");
    rmSync(path.join(noFrames, "full_body_img"), { recursive: true });
    expect((await importError(noFrames)).message).toMatch(/^full_body_img\/: is missing, and there is no video/);

    const fewLandmarks = copyOf("synctalk");
    rmSync(path.join(fewLandmarks, "landmarks", "39.lms"));
    expect((await importError(fewLandmarks)).message).toMatch(/^landmarks\/39.lms: is missing: 39 landmark files for 40 frames/);

    const outside = copyOf("synctalk");
    const lms = readFileSync(path.join(outside, "landmarks", "5.lms"), "utf8").split("\n");
    lms[31] = "600.5 300";
    writeFileSync(path.join(outside, "landmarks", "5.lms"), lms.join("\n"));
    expect((await importError(outside)).message).toMatch(/^landmarks\/5.lms \(points 1, 31, 52\): gives a crop box \[\d+, \d+, \d+, \d+\] that is not inside the 512x512 frame/);

    const corrupt = copyOf("synctalk");
    writeFileSync(path.join(corrupt, "unet.onnx"), "this is not a model");
    expect((await importError(corrupt)).message).toMatch(/^unet.onnx: model file is not a valid ONNX model \(onnxruntime: .*\)/);

    const names = await importError(path.join(data, "synctalk"), { names: { audio: "mel" } });
    expect(names.message).toMatch(/^unet.onnx \(input\): has no input "mel"; it has "audio"/);

    const mixed = copyOf("synctalk");
    cpSync(path.join(data, "ultralight", "audio_encoder.onnx"), path.join(mixed, "audio_encoder.onnx"));
    cpSync(path.join(data, "ultralight", "audio_encoder.json"), path.join(mixed, "audio_encoder.json"));
    expect((await importError(mixed)).message).toMatch(/^audio_encoder.onnx \(output "feature"\): is \[batch, 16, 512\]: the UNet's ave features need 512 values per frame/);

    const badNpy = copyOf("synctalk");
    writeFileSync(path.join(badNpy, "aud_ave.npy"), "junk");
    expect((await importError(badNpy)).message).toMatch(/manifest field "model.audio.own_features": not a .npy file/);

    for (const dir of [noLandmarks, noFrames, fewLandmarks, outside, corrupt, mixed, badNpy]) rmSync(dir, { recursive: true, force: true });
  });

  it("refuses to overwrite a package unless forced", async () => {
    await expect(importInto(root, "synctalk", "st")).rejects.toThrow(/already exists \(--force replaces it\)/);
  });

  it("keeps serving the other avatars when a package's manifest disagrees with its model", async () => {
    const dir = path.join(root, "st-broken");
    cpSync(path.join(root, "st"), dir, { recursive: true });
    const m = manifestOf("st");
    m.model.unet.audio_dims = [16, 32, 32];
    m.model.audio.feature_dim = 1024;
    m.model.audio.own_features = undefined;
    m.audio_track = undefined;
    m.model.audio.frontend.encoder.output_dims = [1024];
    writeFileSync(path.join(dir, "manifest.json"), JSON.stringify(m));
    const c = createLipSyncClient({ baseUrl: server.url, protocol: "connect" });
    await expect(c.getAvatar("st-broken")).rejects.toThrow(/manifest field "model.unet.audio_dims" says \[batch, 16, 32, 32\]/);
    const listed = (await c.listAvatars()).find((a) => a.name === "st-broken");
    expect(listed?.error).toMatch(/UNet model input "audio" is \[1, 32, 16, 16\]/);
    expect(listed?.error).not.toContain(root);
    expect((await c.renderFrame("st", 3)).image.length).toBeGreaterThan(0);
    rmSync(dir, { recursive: true, force: true });
    expect(existsSync(dir)).toBe(false);
  });

  it("passes onnxruntime's own message through when the graph does not run with the stated shapes", async () => {
    const dir = path.join(root, "ul-shape");
    cpSync(path.join(root, "ul"), dir, { recursive: true });
    // Open image sides pass the declaration check; at 320 px the image and audio branches no
    // longer meet (20 x 20 against 10 x 10) and onnxruntime says so.
    cpSync(path.join(data, "ultralight", "unet_any_size.onnx"), path.join(dir, "unet.onnx"));
    const m = manifestOf("ul");
    m.model.image.size = 320;
    writeFileSync(path.join(dir, "manifest.json"), JSON.stringify(m));
    const c = createLipSyncClient({ baseUrl: server.url, protocol: "connect" });
    const err = await c.getAvatar("ul-shape").then(() => undefined, (e: Error) => e);
    expect(err?.message).toMatch(/UNet model does not run with the shapes of manifest fields "model.image.size", "model.unet.audio_dims": .+/);
    expect(err?.message).toMatch(/Concat|concat|dimension/);
    expect(err?.message).not.toContain(root);
    rmSync(dir, { recursive: true, force: true });
  });
});

describe("decoding check", () => {
  it("reads the imported frames at the stated size", async () => {
    const img = await decodeImage(readFileSync(path.join(root, "ul", "frames", "000000.jpg")));
    expect([img.width, img.height]).toEqual([512, 512]);
  });
});
