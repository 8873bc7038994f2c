/**
 * Avatars by name, from the configured roots only. A name is one directory name: anything that
 * looks like a path is refused, so a client can never point the server at a directory of its
 * choosing (the seed's LoadPackage did), and a package's files must stay inside its root
 * (package-files.ts).
 *
 * Loads are shared and run one at a time: concurrent requests for one avatar wait on the same
 * load, and loads of different avatars queue, so callers cannot make the server load many
 * packages at once and each is checked against the memory budget that is really left. A failed
 * load is remembered with its reason: ListAvatars shows it, and using the avatar (GetAvatar, a
 * session) answers with it at once instead of loading again on every call, until
 * `avatarRetrySeconds` have passed or the manifest changed; an admin's LoadAvatar always tries.
 */
import { existsSync, readdirSync, statSync } from "node:fs";
import { stat } from "node:fs/promises";
import path from "node:path";
import type { ServerConfig } from "../config.js";
import { LipSyncError, asLipSyncError } from "../errors.js";
import type { Logger } from "../logger.js";
import type { Avatar } from "./avatar.js";
import type { Composer } from "../engine/compose.js";
import { loadAvatar } from "./loader.js";
import type { Manifest } from "./manifest.js";
import { ManifestCache } from "./manifest-cache.js";
import { PackageDir } from "./package-files.js";

const NAME = /^[A-Za-z0-9][A-Za-z0-9_.-]{0,63}$/;

export function checkAvatarName(name: string): void {
  if (typeof name !== "string" || !NAME.test(name) || name.includes("..")) {
    throw new LipSyncError("invalid_argument", "avatar name must be a plain name (letters, digits, '.', '_', '-'), not a path");
  }
}

export interface AvatarListing {
  name: string;
  loaded: Avatar | undefined;
  manifest: Manifest | undefined;
  error: string | undefined;
}

interface Failure {
  error: LipSyncError;
  /** Date.now() of the failure. */
  at: number;
  /** The manifest file's mtime, size and inode then ("" when it had none). */
  stamp: string;
}

/** mtime:size:inode of a package's manifest, "" when it has none: a new stamp means the operator changed the package. */
async function manifestStamp(dir: string): Promise<string> {
  const st = await stat(path.join(dir, "manifest.json")).catch(() => undefined);
  return st ? `${st.mtimeMs}:${st.size}:${st.ino}` : "";
}

export class AvatarRegistry {
  private readonly loaded = new Map<string, Avatar>();
  private readonly loading = new Map<string, Promise<Avatar>>();
  private readonly failures = new Map<string, Failure>();
  private readonly manifests = new ManifestCache();
  /** The load running or last run: the next one starts after it. */
  private queue: Promise<unknown> = Promise.resolve();

  /**
   * `afterLoad` runs on every freshly loaded avatar before it is handed out (the app measures
   * its capacity there); if it throws, the load fails and the avatar is closed.
   */
  constructor(
    private readonly config: ServerConfig,
    private readonly logger: Logger,
    private readonly afterLoad?: (avatar: Avatar) => Promise<void>,
    /** Where avatars composite and encode their frames (default: on the calling thread). */
    private readonly composer?: Composer,
  ) {}

  /** The package directory of `name`, or NOT_FOUND. */
  locate(name: string): string {
    return this.find(name).dir;
  }

  /** The first root that has package `name`, and its folder there; or NOT_FOUND. */
  private find(name: string): { root: string; dir: string } {
    checkAvatarName(name);
    for (const root of this.config.avatarRoots) {
      const dir = path.join(root, name);
      // A stat, never an open: a FIFO named manifest.json is found here and refused at load.
      if (existsSync(path.join(dir, "manifest.json"))) return { root, dir };
    }
    const known = this.names();
    throw new LipSyncError("not_found", `avatar "${name}" not found; known avatars: ${known.length ? known.join(", ") : "none (check the avatar folders)"}`);
  }

  /** Names of the avatar packages in the roots, sorted (names only: never the folders). */
  names(): string[] {
    const names = new Set<string>();
    for (const root of this.config.avatarRoots) {
      let entries: string[] = [];
      try {
        entries = readdirSync(root);
      } catch {
        continue;
      }
      for (const e of entries) {
        if (NAME.test(e) && statSync(path.join(root, e), { throwIfNoEntry: false })?.isDirectory() && existsSync(path.join(root, e, "manifest.json"))) names.add(e);
      }
    }
    return [...names].sort();
  }

  /**
   * A loaded avatar, loading it first if needed; a package that failed to load lately answers
   * with that failure at once (see the class comment).
   */
  async get(name: string): Promise<Avatar> {
    checkAvatarName(name);
    const have = this.loaded.get(name);
    if (have) return have;
    const failed = this.failures.get(name);
    if (failed && !this.loading.has(name) && Date.now() - failed.at < this.config.avatarRetrySeconds * 1000) {
      if ((await manifestStamp(this.find(name).dir)) === failed.stamp) throw failed.error;
    }
    return this.load(name);
  }

  /** Memory the avatar budget has left for another avatar, bytes. */
  private budgetLeft(): number {
    let used = 0;
    for (const a of this.loaded.values()) used += a.memoryBytes;
    return Math.max(0, this.config.avatarMemoryBudgetMb * 2 ** 20 - used);
  }

  /** The avatar if loaded now, without loading. */
  peek(name: string): Avatar | undefined {
    return this.loaded.get(name);
  }

  load(name: string): Promise<Avatar> {
    try {
      checkAvatarName(name);
    } catch (err) {
      return Promise.reject(err);
    }
    const have = this.loaded.get(name);
    if (have) return Promise.resolve(have);
    const pending = this.loading.get(name);
    if (pending) return pending;
    let found: { root: string; dir: string };
    try {
      found = this.find(name);
    } catch (err) {
      return Promise.reject(err);
    }
    const run = async () => {
      const stamp = await manifestStamp(found.dir);
      try {
        const pkg = await PackageDir.open(found.dir, name, found.root);
        const avatar = await loadAvatar(pkg, name, this.config, this.logger, this.composer, this.budgetLeft());
        if (this.afterLoad) {
          try {
            await this.afterLoad(avatar);
          } catch (err) {
            await avatar.close();
            throw err;
          }
        }
        this.loaded.set(name, avatar);
        this.failures.delete(name);
        return avatar;
      } catch (err) {
        const e = asLipSyncError(err);
        const shown = e.code === "internal" ? new LipSyncError("failed_precondition", `avatar "${name}" failed to load`) : e;
        this.failures.set(name, { error: shown, at: Date.now(), stamp });
        this.logger.warn({ avatar: name, code: e.code, reason: e.message, cause: e.code === "internal" ? String(err) : undefined }, "avatar failed to load");
        throw shown;
      }
    };
    const job = this.queue.then(run, run).finally(() => this.loading.delete(name));
    this.queue = job.catch(() => undefined);
    this.loading.set(name, job);
    return job;
  }

  async unload(name: string): Promise<boolean> {
    checkAvatarName(name);
    const avatar = this.loaded.get(name);
    if (!avatar) return false;
    this.loaded.delete(name);
    await avatar.close();
    this.logger.info({ avatar: name }, "avatar unloaded");
    return true;
  }

  /** Every avatar directory in the roots (first root wins on duplicates), sorted by name. */
  async list(): Promise<AvatarListing[]> {
    const out: AvatarListing[] = [];
    for (const name of this.names()) {
      const loaded = this.loaded.get(name);
      if (loaded) {
        out.push({ name, loaded, manifest: loaded.manifest, error: undefined });
        continue;
      }
      let read: { manifest: Manifest | undefined; error: string | undefined };
      try {
        const { root, dir } = this.find(name);
        read = await this.manifests.read(dir, name, root);
      } catch (err) {
        read = { manifest: undefined, error: asLipSyncError(err).message };
      }
      out.push({ name, loaded, manifest: read.manifest, error: this.failures.get(name)?.error.message ?? read.error });
    }
    return out;
  }

  loadedAvatars(): Avatar[] {
    return [...this.loaded.values()];
  }

  async closeAll(): Promise<void> {
    await Promise.allSettled([...this.loaded.values()].map((a) => a.close()));
    this.loaded.clear();
  }
}
