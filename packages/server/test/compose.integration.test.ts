/**
 * Compositing and encoding in worker threads (engine/compose-pool.ts) give exactly the frames the
 * main thread gives, read the shared frame store in place, and survive many frames in flight.
 */
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { AvatarRegistry } from "../src/avatar/registry.js";
import { resolveConfig } from "../src/config.js";
import { ComposePool } from "../src/engine/compose-pool.js";
import { renderFrame } from "../src/engine/renderer.js";
import { silentLogger } from "../src/logger.js";
import { MODELS_DIR } from "./reference.js";

const pool = new ComposePool(2);
const local = new AvatarRegistry(resolveConfig({ avatarRoots: [MODELS_DIR], inferenceThreads: 2 }), silentLogger());
const pooled = new AvatarRegistry(resolveConfig({ avatarRoots: [MODELS_DIR], inferenceThreads: 2 }), silentLogger(), undefined, pool);
const lazyPooled = new AvatarRegistry(resolveConfig({ avatarRoots: [MODELS_DIR], inferenceThreads: 2, memory: "lazy" }), silentLogger(), undefined, pool);

beforeAll(async () => {
  await Promise.all([local.get("demo"), pooled.get("demo"), lazyPooled.get("demo")]);
});

afterAll(async () => {
  await Promise.all([local.closeAll(), pooled.closeAll(), lazyPooled.closeAll()]);
  await pool.close();
});

describe("compose workers", () => {
  for (const [what, registry] of [["preloaded (shared frame store)", pooled], ["lazy (frame copied)", lazyPooled]] as const) {
    it(`render the same bytes as the main thread, ${what}`, async () => {
      const a = await local.get("demo");
      const b = await registry.get("demo");
      expect(b.composer).toBe(pool);
      for (const [index, patch, encoding] of [[3, false, "rgb"], [70, true, "rgb"], [12, false, "jpeg"], [99, true, "jpeg"]] as const) {
        const audio = a.ownWindow(index)!;
        const req = { index, audio, encoding, quality: 80, patch };
        const [x, y] = await Promise.all([renderFrame(a, req), renderFrame(b, req)]);
        expect([y.width, y.height, y.patch]).toEqual([x.width, x.height, x.patch]);
        expect(Buffer.from(y.image).equals(Buffer.from(x.image))).toBe(true);
      }
    });
  }

  it("keep every frame apart with many in flight at once", async () => {
    const b = await pooled.get("demo");
    const a = await local.get("demo");
    const indices = Array.from({ length: 48 }, (_, i) => (i * 7) % 125);
    const mk = (index: number) => ({ index, audio: a.ownWindow(index)!, encoding: "rgb" as const, quality: 80, patch: true });
    const [viaPool, viaMain] = await Promise.all([Promise.all(indices.map((i) => renderFrame(b, mk(i)))), Promise.all(indices.map((i) => renderFrame(a, mk(i))))]);
    viaPool.forEach((f, i) => expect(Buffer.from(f.image).equals(Buffer.from(viaMain[i]!.image))).toBe(true));
  });
});

describe("a server with every per-frame stage in workers", () => {
  it("streams a live session with the frames and pts of the main-thread path", async () => {
    const { testServer, speechLikePcm } = await import("./harness.js");
    const { createLipSyncClient } = await import("@lipsync/client/node");
    const run = async (workers: number) => {
      const server = await testServer({ composeWorkers: workers, audioWorkers: workers });
      try {
        const client = createLipSyncClient({ baseUrl: server.url, protocol: "grpc" });
        const s = client.speak({ avatar: "demo", audio: { encoding: "pcm_s16le", sampleRate: 24000 }, mouthPatch: true });
        const pcm = speechLikePcm(1.2, 24000);
        for (let i = 0; i < pcm.length; i += 1920) s.pushAudio(pcm.subarray(i, i + 1920));
        s.end();
        const frames: { pts: number; image: Uint8Array }[] = [];
        let startPts = 0;
        for await (const e of s.events) {
          if (e.type === "speech-started") startPts = e.pts;
          if (e.type === "frame" && e.frame.kind === "speech") frames.push({ pts: e.frame.pts - startPts, image: e.frame.image });
          if (e.type === "playback-finished") break;
        }
        s.close();
        return frames;
      } finally {
        await server.close();
      }
    };
    const [main, workers] = [await run(0), await run(2)];
    expect(workers.length).toBe(Math.ceil((1.2 * 16000) / 640));
    expect(workers.map((f) => f.pts)).toEqual(main.map((f) => f.pts));
    workers.forEach((f, i) => expect(Buffer.from(f.image).equals(Buffer.from(main[i]!.image))).toBe(true));
  });
});
