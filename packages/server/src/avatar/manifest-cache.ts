/**
 * Manifests of packages that are not loaded, for ListAvatars: each is parsed once and kept
 * until its file changes (mtime, size or inode), so listing costs a realpath and a stat per
 * package, whatever the manifests hold; concurrent listings share one parse. Refusals of the file itself (too large, not a regular
 * file, outside the root) come from those checks, before anything is read.
 */
import { asLipSyncError } from "../errors.js";
import { manifestOfText } from "./loader.js";
import type { Manifest } from "./manifest.js";
import { PackageDir } from "./package-files.js";

export type ManifestRead = { manifest: Manifest; error: undefined } | { manifest: undefined; error: string };

export class ManifestCache {
  private readonly entries = new Map<string, { stamp: string; read: Promise<ManifestRead> }>();

  /** The manifest of package `name` in `dir` (inside avatar root `root`), or why there is none. */
  async read(dir: string, name: string, root: string): Promise<ManifestRead> {
    try {
      const pkg = await PackageDir.open(dir, name, root);
      const file = await pkg.check("manifest.json", "manifest", "manifest.json");
      const key = `${root}\0${name}`;
      const stamp = `${file.real}\0${file.stamp}`;
      const hit = this.entries.get(key);
      if (hit?.stamp === stamp) return hit.read;
      const read = pkg.readChecked(file, "manifest.json").then(
        (bytes): ManifestRead => ({ manifest: manifestOfText(bytes.toString("utf8"), name), error: undefined }),
      ).catch((err: unknown): ManifestRead => ({ manifest: undefined, error: asLipSyncError(err).message }));
      this.entries.set(key, { stamp, read });
      return await read;
    } catch (err) {
      return { manifest: undefined, error: asLipSyncError(err).message };
    }
  }
}
