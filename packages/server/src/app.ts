/**
 * The server's parts, wired: the avatar catalogue, admission, sessions and one-shot rendering
 * over shared worker pools. Transports take what they need from here; nothing in this file knows
 * gRPC, HTTP or WebSocket, and nothing here holds policy of its own (see service/).
 */
import { FrontEndPool } from "./audio/frontends/frontend-pool.js";
import type { Avatar } from "./avatar/avatar.js";
import { AvatarRegistry } from "./avatar/registry.js";
import type { ServerConfig } from "./config.js";
import { ComposePool } from "./engine/compose-pool.js";
import { LocalComposer, type Composer } from "./engine/compose.js";
import { asLipSyncError, LipSyncError } from "./errors.js";
import type { Logger } from "./logger.js";
import { Stats } from "./metrics.js";
import { Admission, type Readiness } from "./service/admission.js";
import { Catalogue } from "./service/catalogue.js";
import { OneShot } from "./service/oneshot.js";
import { Sessions } from "./service/sessions.js";
import { warmUp } from "./session/warm-up.js";

export type { Readiness };

export class LipSyncApp {
  readonly config: ServerConfig;
  readonly logger: Logger;
  readonly stats = new Stats();
  readonly registry: AvatarRegistry;
  readonly admission: Admission;
  readonly catalogue: Catalogue;
  readonly sessions: Sessions;
  readonly oneShot: OneShot;
  /** Compositing and encoding: this thread, or a pool of workers (config.composeWorkers). */
  private readonly composer: Composer;
  /** Live sessions' audio front ends in workers (config.audioWorkers), or undefined: this thread. */
  private readonly frontEnds: FrontEndPool | undefined;

  constructor(config: ServerConfig, logger: Logger) {
    this.config = config;
    this.logger = logger;
    this.composer = config.composeWorkers > 0 ? new ComposePool(config.composeWorkers) : new LocalComposer();
    this.frontEnds = config.audioWorkers > 0 ? new FrontEndPool(config.audioWorkers) : undefined;
    this.admission = new Admission(config, this.stats, logger, () => this.registry.loadedAvatars());
    this.registry = new AvatarRegistry(config, logger, (avatar) => this.afterLoad(avatar), this.composer);
    this.catalogue = new Catalogue(this.registry, this.admission);
    this.sessions = new Sessions({ config, catalogue: this.catalogue, admission: this.admission, stats: this.stats, logger, frontEnds: this.frontEnds });
    this.oneShot = new OneShot(this.catalogue, config, this.stats);
  }

  /**
   * A fresh avatar's speech path runs once before any session (session/warm-up.ts), then its
   * capacity is measured, on a warm path.
   */
  private async afterLoad(avatar: Avatar): Promise<void> {
    try {
      const warm = await warmUp(avatar);
      this.logger.info({ avatar: avatar.name, frames: warm.frames, ms: Math.round(warm.ms) }, "avatar warmed up");
    } catch (err) {
      // A model that fails on speech still loads: each session reports the failure, as without the warm-up.
      this.logger.warn({ avatar: avatar.name, err: asLipSyncError(err).message }, "avatar warm-up failed");
    }
    await this.admission.measure(avatar);
  }

  /** Loads the configured avatars; a broken package is logged and keeps no other from serving. */
  async start(): Promise<void> {
    for (const name of this.config.preloadAvatars) {
      try {
        await this.registry.load(name);
      } catch {
        // Logged by the registry.
      }
    }
  }

  /** Whether a load balancer should send new sessions here. */
  readiness(): Readiness {
    return this.admission.readiness(this.registry.loadedAvatars());
  }

  /** UnloadAvatar: its sessions end with UNAVAILABLE, then the avatar is freed. */
  async unloadAvatar(name: string): Promise<boolean> {
    this.sessions.endAvatar(name, new LipSyncError("unavailable", `avatar "${name}" was unloaded`));
    const avatar = this.registry.peek(name);
    if (avatar) this.admission.forget(avatar);
    return this.registry.unload(name);
  }

  get sessionCount(): number {
    return this.sessions.count;
  }

  async close(): Promise<void> {
    this.admission.close();
    this.sessions.endAll(new LipSyncError("unavailable", "server is shutting down"));
    await this.registry.closeAll();
    await this.composer.close();
    await this.frontEnds?.close();
  }
}
