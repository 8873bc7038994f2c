import { execFileSync } from "node:child_process";
import { mkdirSync, mkdtempSync, readFileSync, rmSync, symlinkSync, truncateSync, writeFileSync } from "node:fs";
import os from "node:os";
import path from "node:path";
import { afterAll, describe, expect, it } from "vitest";
import { MODELS_DIR } from "../../test/reference.js";
import { within } from "../../test/wait.js";
import { jpegSize } from "./jpeg-header.js";
import { FILE_LIMITS, forEachLimited, PackageDir } from "./package-files.js";

const tmp = mkdtempSync(path.join(os.tmpdir(), "lipsync-pkgfiles-"));
const root = path.join(tmp, "root");
const outside = path.join(tmp, "outside");
mkdirSync(path.join(root, "pkg", "frames"), { recursive: true });
mkdirSync(outside);
writeFileSync(path.join(root, "pkg", "manifest.json"), '{"ok": true}');
writeFileSync(path.join(root, "shared.jpg"), "shared bytes");
writeFileSync(path.join(outside, "secret.txt"), "secret");
symlinkSync(path.join(outside, "secret.txt"), path.join(root, "pkg", "frames", "out.jpg"));
symlinkSync("/etc/passwd", path.join(root, "pkg", "frames", "passwd.jpg"));
symlinkSync(path.join(root, "shared.jpg"), path.join(root, "pkg", "frames", "in.jpg"));
execFileSync("mkfifo", [path.join(root, "pkg", "fifo.json")]);
symlinkSync(outside, path.join(root, "escape"));
symlinkSync(path.join(root, "pkg"), path.join(root, "alias"));

afterAll(() => rmSync(tmp, { recursive: true, force: true }));

async function failure(p: Promise<unknown>): Promise<string> {
  try {
    await within(p, 2000, "the refusal");
  } catch (err) {
    return (err as Error).message;
  }
  throw new Error("it was read");
}

describe("package files", () => {
  it("reads a regular file inside the root, through a symlink that stays inside", async () => {
    const pkg = await PackageDir.open(path.join(root, "pkg"), "pkg", root);
    expect((await pkg.read("manifest.json", "manifest", "manifest.json")).toString()).toBe('{"ok": true}');
    expect((await pkg.read("frames/in.jpg", "frame", "frame 0")).toString()).toBe("shared bytes");
    const alias = await PackageDir.open(path.join(root, "alias"), "alias", root);
    expect((await alias.read("manifest.json", "manifest", "manifest.json")).length).toBe(12);
  });

  it("refuses symlinks out of the root, naming the role and never the path", async () => {
    const pkg = await PackageDir.open(path.join(root, "pkg"), "pkg", root);
    for (const rel of ["frames/out.jpg", "frames/passwd.jpg"]) {
      const message = await failure(pkg.read(rel, "frame", 'frame 1 (manifest field "frames")'));
      expect(message).toBe('avatar "pkg": frame 1 (manifest field "frames") leads outside the avatar root (a symlink); refused');
    }
    // Without a root the package folder itself is the boundary: the sibling file is outside.
    const alone = await PackageDir.open(path.join(root, "pkg"), "pkg");
    expect(await failure(alone.read("frames/in.jpg", "frame", "frame 0"))).toMatch(/leads outside/);
  });

  it("refuses a package folder that is a symlink out of its root", async () => {
    expect(await failure(PackageDir.open(path.join(root, "escape"), "escape", root))).toMatch(/package folder leads outside the avatar root/);
  });

  it("never opens a FIFO: the refusal comes at once", async () => {
    const pkg = await PackageDir.open(path.join(root, "pkg"), "pkg", root);
    // A blocking open would pin a libuv thread and miss the 2 s bound; six at once would pin them all.
    const messages = await Promise.all(Array.from({ length: 6 }, () => failure(pkg.read("fifo.json", "manifest", "manifest.json"))));
    for (const m of messages) expect(m).toMatch(/manifest.json is not a regular file/);
  });

  it("checks the size against the role's limit before reading", async () => {
    const big = path.join(root, "pkg", "big.json");
    writeFileSync(big, "");
    truncateSync(big, FILE_LIMITS.manifest + 1);
    const pkg = await PackageDir.open(path.join(root, "pkg"), "pkg", root);
    expect(await failure(pkg.read("big.json", "manifest", "manifest.json"))).toBe('avatar "pkg": manifest.json is 9 MB, over the 8 MB limit for a manifest file');
  });

  it("refuses a file replaced between its check and its read", async () => {
    const file = path.join(root, "pkg", "swap.json");
    writeFileSync(file, "first");
    const pkg = await PackageDir.open(path.join(root, "pkg"), "pkg", root);
    const checked = await pkg.check("swap.json", "manifest", "manifest.json");
    rmSync(file);
    writeFileSync(file, "second, longer");
    expect(await failure(pkg.readChecked(checked, "manifest.json"))).toMatch(/changed while it was being read/);
  });

  it("runs jobs with bounded concurrency and stops starting them after a failure", async () => {
    let running = 0;
    let most = 0;
    const started: number[] = [];
    const run = forEachLimited(100, 4, async (i) => {
      started.push(i);
      running++;
      most = Math.max(most, running);
      await new Promise((r) => setImmediate(r));
      running--;
      if (i === 10) throw new Error("job 10 failed");
    });
    await expect(run).rejects.toThrow("job 10 failed");
    expect(most).toBe(4);
    expect(started.length).toBeLessThan(20);
  });
});

describe("JPEG header", () => {
  it("reads a frame's size without decoding, and refuses what is not a JPEG", () => {
    const frame = readFileSync(path.join(MODELS_DIR, "demo", "frames", "0000.jpg"));
    expect(jpegSize(frame)).toEqual({ width: 512, height: 512 });
    expect(jpegSize(readFileSync("/etc/passwd"))).toBeUndefined();
    expect(jpegSize(frame.subarray(0, 40))).toBeUndefined();
    expect(jpegSize(new Uint8Array([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a]))).toBeUndefined();
  });
});
