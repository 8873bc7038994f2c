/**
 * The avatar root the abuse server serves: a temporary folder with a copy of the demo package,
 * where the cases put their crafted packages while the server runs (it lists the root on every
 * call), and a folder outside it for the files those packages point at.
 */
import { cpSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import os from "node:os";
import path from "node:path";
import { REPO_ROOT } from "../child.js";

export type ManifestJson = Record<string, unknown> & { crop_boxes: number[][] };

export class CraftedRoot {
  readonly root: string;
  /** A folder beside the root: what a package links to here lies outside its root. */
  readonly outside: string;
  private readonly base: string;

  constructor() {
    this.base = mkdtempSync(path.join(os.tmpdir(), "lipsync-abuse-"));
    this.root = path.join(this.base, "avatars");
    this.outside = path.join(this.base, "outside");
    mkdirSync(this.outside);
    mkdirSync(this.root);
    cpSync(path.join(REPO_ROOT, "models", "demo"), path.join(this.root, "demo"), { recursive: true });
  }

  /** The demo's manifest, parsed. */
  demoManifest(): ManifestJson {
    return JSON.parse(readFileSync(path.join(this.root, "demo", "manifest.json"), "utf8")) as ManifestJson;
  }

  /** A copy of the demo package named `name` (in `under`, default the root), its manifest edited by `edit`. */
  copyDemo(name: string, edit?: (m: ManifestJson) => void, under = this.root): string {
    const dir = path.join(under, name);
    cpSync(path.join(this.root, "demo"), dir, { recursive: true });
    if (edit) {
      const m = this.demoManifest();
      edit(m);
      writeFileSync(path.join(dir, "manifest.json"), JSON.stringify(m));
    }
    return dir;
  }

  /** A package of nothing but a manifest (no frames, no model): what the manifest checks must refuse. */
  manifestOnly(name: string, m: object): string {
    const dir = path.join(this.root, name);
    mkdirSync(dir);
    writeFileSync(path.join(dir, "manifest.json"), JSON.stringify(m));
    return dir;
  }

  remove(): void {
    rmSync(this.base, { recursive: true, force: true });
  }
}
