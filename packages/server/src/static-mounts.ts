/**
 * Where the server finds the files it serves beside the API: the demo page (public/), the
 * <lip-sync-player> bundle (the web component's build), sample audio and the examples.
 */
import { createRequire } from "node:module";
import path from "node:path";
import { fileURLToPath } from "node:url";
import type { StaticMount } from "./transport/static-files.js";

const here = path.dirname(fileURLToPath(import.meta.url));
/** The repository root when running from packages/server/{src,dist}. */
export const REPO_ROOT = path.resolve(here, "../../..");

export function defaultStaticMounts(): StaticMount[] {
  const mounts: StaticMount[] = [{ prefix: "/", dir: path.resolve(here, "../public") }];
  try {
    const require = createRequire(import.meta.url);
    mounts.push({ prefix: "/", dir: path.join(path.dirname(require.resolve("@lipsync/web-component/package.json")), "dist") });
  } catch {
    // The player bundle is optional: the API works without it.
  }
  mounts.push({ prefix: "/samples/", dir: path.join(REPO_ROOT, "models", "heldout") });
  mounts.push({ prefix: "/examples/", dir: path.join(REPO_ROOT, "examples") });
  return mounts;
}
