import { mkdirSync, mkdtempSync, symlinkSync, writeFileSync } from "node:fs";
import os from "node:os";
import path from "node:path";
import { describe, expect, it } from "vitest";
import { resolveFile } from "./static-files.js";

function tree() {
  const base = mkdtempSync(path.join(os.tmpdir(), "lipsync-static-"));
  const site = path.join(base, "site");
  mkdirSync(path.join(site, "sub"), { recursive: true });
  writeFileSync(path.join(site, "index.html"), "<p>home</p>");
  writeFileSync(path.join(site, "sub", "a.txt"), "a");
  writeFileSync(path.join(base, "secret.txt"), "outside the mount");
  mkdirSync(path.join(base, "elsewhere"));
  writeFileSync(path.join(base, "elsewhere", "b.txt"), "b");
  symlinkSync(path.join(base, "secret.txt"), path.join(site, "link-out.txt"));
  symlinkSync(path.join(base, "elsewhere"), path.join(site, "dir-out"));
  symlinkSync(path.join(site, "sub", "a.txt"), path.join(site, "link-in.txt"));
  return { mounts: [{ prefix: "/", dir: site }], site };
}

describe("static file resolution", () => {
  it("serves files and folder indexes inside the mount", () => {
    const { mounts, site } = tree();
    expect(resolveFile(mounts, "/")).toBe(path.join(site, "index.html"));
    expect(resolveFile(mounts, "/sub/a.txt")).toBe(path.join(site, "sub", "a.txt"));
    expect(resolveFile(mounts, "/link-in.txt")).toBe(path.join(site, "sub", "a.txt"));
  });

  it("refuses files reached through symlinks that leave the mount", () => {
    const { mounts } = tree();
    expect(resolveFile(mounts, "/link-out.txt")).toBeUndefined();
    expect(resolveFile(mounts, "/dir-out/b.txt")).toBeUndefined();
    expect(resolveFile(mounts, "/../secret.txt")).toBeUndefined();
    expect(resolveFile(mounts, "/%2e%2e/secret.txt")).toBeUndefined();
  });

  it("answers undefined instead of throwing on names too long, files used as folders and bad escapes", () => {
    const { mounts } = tree();
    expect(resolveFile(mounts, `/${"a".repeat(256)}`)).toBeUndefined();
    expect(resolveFile(mounts, `/${"a".repeat(5000)}/b`)).toBeUndefined();
    expect(resolveFile(mounts, "/index.html/x")).toBeUndefined();
    expect(resolveFile(mounts, "/%E0%A4%A")).toBeUndefined();
    expect(resolveFile(mounts, "/a%00b")).toBeUndefined();
    expect(resolveFile([{ prefix: "/", dir: "/nonexistent-lipsync-mount" }], "/x")).toBeUndefined();
  });
});
