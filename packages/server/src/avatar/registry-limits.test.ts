// What a package in an avatar root can make the server do: a failed load is remembered (not
// retried on every use), unloaded manifests are read once per change, and a package that would
// not fit the avatar memory budget is refused before its frames are read.
import { cpSync, readFileSync, rmSync, statSync, utimesSync, writeFileSync } from "node:fs";
import path from "node:path";
import { Writable } from "node:stream";
import { pino } from "pino";
import { afterAll, describe, expect, it } from "vitest";
import { scratchRoot } from "../../test/harness.js";
import { resolveConfig, type ServerOptions } from "../config.js";
import { AvatarRegistry } from "./registry.js";

const root = scratchRoot();
const registries: AvatarRegistry[] = [];
afterAll(async () => {
  await Promise.all(registries.map((r) => r.closeAll()));
  rmSync(root, { recursive: true, force: true });
});

/** A registry over the scratch root, and the reasons of the failed loads it logged. */
function registry(options: ServerOptions = {}): { registry: AvatarRegistry; failedLoads: string[] } {
  const failedLoads: string[] = [];
  const sink = new Writable({
    write(chunk, _enc, done) {
      for (const line of String(chunk).split("\n").filter(Boolean)) {
        const entry = JSON.parse(line) as { msg: string; reason?: string };
        if (entry.msg === "avatar failed to load") failedLoads.push(entry.reason ?? "");
      }
      done();
    },
  });
  const r = new AvatarRegistry(resolveConfig({ avatarRoots: [root], memory: "lazy", lazyCacheFrames: 4, inferenceThreads: 1, ...options }), pino({ level: "warn" }, sink));
  registries.push(r);
  return { registry: r, failedLoads };
}

function copyDemo(name: string, edit: (manifest: Record<string, unknown>) => void = () => undefined): string {
  const dir = path.join(root, name);
  cpSync(path.join(root, "demo"), dir, { recursive: true });
  const file = path.join(dir, "manifest.json");
  const m = JSON.parse(readFileSync(file, "utf8"));
  edit(m);
  writeFileSync(file, JSON.stringify(m));
  return dir;
}

describe("failed loads", () => {
  it("are answered from memory on use until the delay passes or the manifest changes; an admin load always tries", async () => {
    const dir = copyDemo("broken", (m) => (m.fps = 7));
    const { registry: r, failedLoads } = registry({ avatarRetrySeconds: 3600 });
    for (let i = 0; i < 5; i++) await expect(r.get("broken")).rejects.toThrow(/manifest field "fps"/);
    expect(failedLoads).toHaveLength(1);
    // The operator fixes the package: the next use sees the new manifest at once.
    const file = path.join(dir, "manifest.json");
    const m = JSON.parse(readFileSync(file, "utf8"));
    m.fps = 25;
    m.frame_count = 2_000_000;
    writeFileSync(file, JSON.stringify(m));
    await expect(r.get("broken")).rejects.toThrow(/"frame_count" must be at most 100000/);
    expect(failedLoads).toHaveLength(2);
    await expect(r.load("broken")).rejects.toThrow(/frame_count/);
    expect(failedLoads).toHaveLength(3);
    expect((await r.list()).find((l) => l.name === "broken")?.error).toMatch(/frame_count/);
  });

  it("are tried again on use once the retry delay has passed", async () => {
    copyDemo("broken2", (m) => (m.fps = 7));
    const { registry: r, failedLoads } = registry({ avatarRetrySeconds: 0 });
    for (let i = 0; i < 3; i++) await expect(r.get("broken2")).rejects.toThrow(/fps/);
    expect(failedLoads).toHaveLength(3);
  });
});

describe("unloaded manifests", () => {
  it("are read once per change of the file, not on every listing", async () => {
    const dir = copyDemo("listed");
    const file = path.join(dir, "manifest.json");
    // Whole seconds, so the test can set the very same mtime again.
    const mtime = new Date(Math.floor(Date.now() / 1000) * 1000 - 60_000);
    utimesSync(file, mtime, mtime);
    const { registry: r } = registry();
    expect((await r.list()).find((l) => l.name === "listed")?.manifest?.frameCount).toBe(125);
    // Same size, same inode, same mtime: a listing that re-read the file would see the garbage.
    const { size } = statSync(file);
    writeFileSync(file, "x".repeat(size), { flag: "r+" });
    utimesSync(file, mtime, mtime);
    expect((await r.list()).find((l) => l.name === "listed")?.manifest?.frameCount).toBe(125);
    utimesSync(file, new Date(mtime.getTime() + 5000), new Date(mtime.getTime() + 5000));
    const listed = (await r.list()).find((l) => l.name === "listed")!;
    expect(listed.manifest).toBeUndefined();
    expect(listed.error).toMatch(/not valid JSON/);
  });
});

describe("the avatar memory budget", () => {
  it("refuses a package that would not fit before reading its frames, and counts loaded avatars", async () => {
    // The demo decoded (and its features): 125 x (512 x 512 x 3 + 6 x 128 x 128) bytes = 106 MB (MiB).
    const preload = registry({ memory: "preload", avatarMemoryBudgetMb: 64 }).registry;
    await expect(preload.load("demo")).rejects.toThrow('avatar "demo": its decoded frames would take 106 MB, over the 64 MB left of the avatar memory budget (--avatar-memory-mb); --memory lazy decodes frames on demand instead');
    copyDemo("huge", (m) => {
      m.frame_count = 100_000;
      m.width = 8192;
      m.height = 8192;
      m.crop_boxes = Array.from({ length: 100_000 }, () => [0, 0, 128, 128]);
    });
    const started = performance.now();
    await expect(preload.load("huge")).rejects.toThrow(/its decoded frames would take 19209400 MB/);
    expect(performance.now() - started).toBeLessThan(5000);
    // Lazy: 4 decoded frames and the 125 JPEGs fit; a second copy does not fit what is left.
    const lazy = registry({ memory: "lazy", avatarMemoryBudgetMb: 12 }).registry;
    const a = await lazy.load("demo");
    expect(a.memoryBytes).toBeGreaterThan(6 * 2 ** 20);
    copyDemo("demo2");
    await expect(lazy.load("demo2")).rejects.toThrow(/over the \d MB left of the avatar memory budget/);
  });
});
