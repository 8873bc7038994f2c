import { rmSync, writeFileSync, mkdirSync, cpSync, readFileSync } from "node:fs";
import path from "node:path";
import { afterAll, describe, expect, it } from "vitest";
import { scratchRoot } from "../../test/harness.js";
import { resolveConfig } from "../config.js";
import { LipSyncError } from "../errors.js";
import { silentLogger } from "../logger.js";
import { AvatarRegistry } from "./registry.js";

const root = scratchRoot();
const registry = new AvatarRegistry(resolveConfig({ avatarRoots: [root], memory: "lazy", lazyCacheFrames: 4, inferenceThreads: 1 }), silentLogger());

function brokenCopy(name: string, breakIt: (dir: string) => void): void {
  const dir = path.join(root, name);
  cpSync(path.join(root, "demo"), dir, { recursive: true });
  breakIt(dir);
}

async function loadError(name: string): Promise<LipSyncError> {
  try {
    await registry.load(name);
  } catch (err) {
    return err as LipSyncError;
  }
  throw new Error("loaded");
}

afterAll(async () => {
  await registry.closeAll();
  rmSync(root, { recursive: true, force: true });
});

describe("avatar registry", () => {
  it("loads by name in lazy mode and bounds the decoded frames", async () => {
    const a = await registry.load("demo");
    for (let i = 0; i < 10; i++) await a.frame(i);
    expect(a.memory).toBe("lazy");
    await expect(a.frame(125)).rejects.toThrow(/out of range/);
  });

  it("refuses paths as names", async () => {
    for (const bad of ["../demo", "/etc", "a/b", "..", ".hidden", ""]) {
      await expect(registry.load(bad)).rejects.toMatchObject({ code: "invalid_argument" });
    }
    await expect(registry.load("missing")).rejects.toMatchObject({ code: "not_found" });
  });

  it("reports a corrupt package by field and keeps the others", async () => {
    brokenCopy("nojson", (d) => writeFileSync(path.join(d, "manifest.json"), "{ not json"));
    brokenCopy("noframe", (d) => rmSync(path.join(d, "frames", "0042.jpg")));
    brokenCopy("badmodel", (d) => writeFileSync(path.join(d, "unet.onnx"), "garbage"));
    brokenCopy("badsize", (d) => {
      const m = JSON.parse(readFileSync(path.join(d, "manifest.json"), "utf8"));
      m.width = 640;
      writeFileSync(path.join(d, "manifest.json"), JSON.stringify(m));
    });
    brokenCopy("badaudio", (d) => writeFileSync(path.join(d, "audio.wav"), "RIFF....WAVEjunk"));
    mkdirSync(path.join(root, "empty"));

    expect((await loadError("nojson")).message).toMatch(/manifest.json is not valid JSON/);
    expect((await loadError("noframe")).message).toMatch(/frame 42 \(manifest field "frames"\)/);
    expect((await loadError("badmodel")).message).toMatch(/"model.unet"/);
    expect((await loadError("badsize")).message).toMatch(/"width"\/"height"/);
    expect((await loadError("badaudio")).message).toMatch(/"audio_track"/);
    for (const name of ["nojson", "noframe", "badmodel", "badsize", "badaudio"]) {
      expect((await loadError(name)).message).not.toContain(root);
    }
    const list = await registry.list();
    expect(list.map((l) => l.name)).toEqual(["badaudio", "badmodel", "badsize", "demo", "noframe", "nojson"]);
    expect(list.find((l) => l.name === "noframe")!.error).toMatch(/frame 42/);
    // The good avatar still renders.
    const demo = await registry.get("demo");
    expect((await demo.inputBytes(3)).length).toBe(6 * 128 * 128);
  });
});
