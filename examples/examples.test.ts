// The examples run in CI so they cannot rot.
import { mkdtempSync, readdirSync, readFileSync } from "node:fs";
import os from "node:os";
import path from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { REPO_ROOT, defaultStaticMounts } from "../packages/server/src/static-mounts.js";
import type { RunningServer } from "../packages/server/src/server.js";
import { testServer } from "../packages/server/test/harness.js";
import { speakFile } from "./node/speak.js";

let server: RunningServer;
beforeAll(async () => {
  server = await testServer({ staticMounts: defaultStaticMounts() });
});
afterAll(() => server?.close());

describe("examples", () => {
  it("node/speak.ts streams a WAV over gRPC and saves every frame", async () => {
    const out = mkdtempSync(path.join(os.tmpdir(), "lipsync-example-"));
    const wav = path.join(REPO_ROOT, "models", "heldout", "gate-1.wav");
    const { frames } = await speakFile(server.url, wav, out);
    const samples = (readFileSync(wav).length - 44) / 2;
    expect(frames).toBe(Math.ceil(samples / 640));
    expect(readdirSync(out)).toHaveLength(frames);
  });

  it("plain-html is served beside the player bundle it loads", async () => {
    const page = await fetch(`${server.url}/examples/plain-html/index.html`);
    expect(page.status).toBe(200);
    expect(await page.text()).toContain("/lip-sync-player.bundle.js");
    expect((await fetch(`${server.url}/lip-sync-player.bundle.js`)).status).toBe(200);
  });
});
