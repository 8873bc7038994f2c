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
