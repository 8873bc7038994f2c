/**
 * Avatars by name, from the configured roots only. A name is one directory name: anything that
 * looks like a path is refused, so a client can never point the server at a directory of its
 * choosing (the seed's LoadPackage did). Loads are shared: concurrent requests for one avatar
 * wait on the same load, and a failed load is remembered with its reason for ListAvatars.
 */
import { existsSync, readdirSync, statSync } from "node:fs";
import path from "node:path";
import type { ServerConfig } from "../config.js";
import { LipSyncError, asLipSyncError } from "../errors.js";
import type { Logger } from "../logger.js";
import type { Avatar } from "./avatar.js";
import { loadAvatar, readManifest } from "./loader.js";
import type { Manifest } from "./manifest.js";

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

export class AvatarRegistry {
  private readonly loaded = new Map<string, Avatar>();
  private readonly loading = new Map<string, Promise<Avatar>>();
  private readonly failures = new Map<string, string>();

  /**
   * `afterLoad` runs on every freshly loaded avatar before it is handed out (the app measures
   * its capacity there); if it throws, the load fails and the avatar is closed.
   */
  constructor(private readonly config: ServerConfig, private readonly logger: Logger, private readonly afterLoad?: (avatar: Avatar) => Promise<void>) {}

  /** The package directory of `name`, or NOT_FOUND. */
  locate(name: string): string {
    checkAvatarName(name);
    for (const root of this.config.avatarRoots) {
      const dir = path.join(root, name);
      if (existsSync(path.join(dir, "manifest.json"))) return dir;
    }
    throw new LipSyncError("not_found", `avatar "${name}" not found`);
  }

  /** A loaded avatar, loading it first if needed. */
  async get(name: string): Promise<Avatar> {
    checkAvatarName(name);
    return this.loaded.get(name) ?? this.load(name);
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
    let dir: string;
    try {
      dir = this.locate(name);
    } catch (err) {
      return Promise.reject(err);
    }
    const job = loadAvatar(dir, name, this.config, this.logger)
      .then(async (avatar) => {
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
      })
      .catch((err: unknown) => {
        const e = asLipSyncError(err);
        this.failures.set(name, e.code === "internal" ? "internal error while loading" : e.message);
        this.logger.warn({ avatar: name, code: e.code, reason: e.message, cause: e.code === "internal" ? String(err) : undefined }, "avatar failed to load");
        throw e.code === "internal" ? new LipSyncError("failed_precondition", `avatar "${name}" failed to load`) : e;
      })
      .finally(() => this.loading.delete(name));
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
    const out: AvatarListing[] = [];
    for (const name of [...names].sort()) {
      const loaded = this.loaded.get(name);
      let manifest = loaded?.manifest;
      let error = this.failures.get(name);
      if (!manifest) {
        try {
          manifest = await readManifest(this.locate(name), name);
        } catch (err) {
          error = asLipSyncError(err).message;
        }
      }
      out.push({ name, loaded, manifest, error });
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
