/**
 * Admission: how many live sessions this server holds, and who gets one. Capacity is measured
 * when an avatar loads (engine/capacity.ts: the whole pipeline, timed) unless the operator set it;
 * each session takes its share (1 / the sessions the avatar holds, whole frames or patches), and
 * a session that does not fit is refused with RESOURCE_EXHAUSTED and a retry hint rather than
 * slowing every other session down. Readiness (for load balancers) says whether one more fits.
 */
import { create } from "@bufbuild/protobuf";
import { CapacitySchema, type Capacity } from "@lipsync/proto";
import { silenceInput } from "../audio/frontends/inputs.js";
import { silentAudioWindow } from "../audio/frontends/feature-window.js";
import type { Principal } from "../auth.js";
import type { Avatar } from "../avatar/avatar.js";
import type { ServerConfig } from "../config.js";
import { measureThroughput, sessionsFor, type Throughput } from "../engine/capacity.js";
import { LipSyncError } from "../errors.js";
import type { Logger } from "../logger.js";
import type { Stats } from "../metrics.js";

export interface Readiness {
  serving: boolean;
  /** Why not, for logs and /readyz: "no avatar loaded", "at capacity", "shutting down". */
  reason: string;
}

/** One admitted session's hold on the capacity; `release` is idempotent. */
export interface Lease {
  release(): void;
}

export class Admission {
  /** Engine rate measured per loaded avatar. */
  private readonly throughput = new WeakMap<Avatar, Throughput>();
  /** Sum of the live sessions' costs: 1 is the machine's real-time capacity. */
  private load = 0;
  private sessions = 0;
  private readonly perClient = new Map<string, number>();
  private drain = false;

  constructor(private readonly config: ServerConfig, private readonly stats: Stats, private readonly logger: Logger) {}

  /** Times the whole frame pipeline of a freshly loaded avatar (unless the operator set the capacity). */
  async measure(avatar: Avatar): Promise<void> {
    if (this.config.sessionCapacity > 0) return;
    const t = await measureThroughput(avatar, {
      frameCount: avatar.frameCount, maxBatch: this.config.maxBatch, quality: this.config.jpegQuality, audio: silentAudioWindow(avatar.windowSource),
      encoderInput: silenceInput(avatar.manifest.model.audio.frontEnd),
    });
    this.throughput.set(avatar, t);
    const c = this.capacity(avatar);
    this.logger.info({ avatar: avatar.name, fps: Math.round(t.fullFps), patchFps: Math.round(t.patchFps), sessions: c.sessions, sessionsPatch: c.sessionsMouthPatch, ms: Math.round(t.ms) }, "avatar capacity measured");
  }

  /** Real-time sessions of `avatar` this server holds, alone. */
  capacity(avatar: Avatar): Capacity {
    const fixed = this.config.sessionCapacity;
    const t = this.throughput.get(avatar);
    if (fixed > 0 || !t) {
      const n = fixed > 0 ? fixed : this.config.maxSessions;
      return create(CapacitySchema, { sessions: n, sessionsMouthPatch: n, measured: false });
    }
    const { fps } = avatar.manifest;
    const u = this.config.capacityUtilisation;
    return create(CapacitySchema, {
      sessions: sessionsFor(t.fullFps, fps, u), sessionsMouthPatch: sessionsFor(t.patchFps, fps, u), engineFps: t.fullFps, engineFpsMouthPatch: t.patchFps, measured: true,
    });
  }

  /** Share of the capacity in use, 0..1. */
  get used(): number {
    return Math.min(1, this.load);
  }

  get draining(): boolean {
    return this.drain;
  }

  /** Readiness goes NOT_SERVING at once and new sessions are refused (graceful shutdown). */
  startDraining(): void {
    this.drain = true;
  }

  /** Whether a load balancer should send new sessions here, given the avatars loaded. */
  readiness(loaded: Avatar[]): Readiness {
    if (this.drain) return { serving: false, reason: "shutting down" };
    if (loaded.length === 0) return { serving: false, reason: "no avatar loaded" };
    if (this.sessions >= this.config.maxSessions || !loaded.some((a) => this.fits(this.cost(a, true)))) return { serving: false, reason: "at capacity" };
    return { serving: true, reason: "serving" };
  }

  /** The limits that need no avatar (shutdown, the server's and the client's session limits): checked before loading one. */
  precheck(client: Principal | undefined): void {
    if (this.drain) throw new LipSyncError("unavailable", "server is shutting down", { retryAfterMs: this.config.retryAfterMs });
    if (this.sessions >= this.config.maxSessions) {
      throw this.refuse(`server is at its limit of ${this.config.maxSessions} sessions; retry later`);
    }
    const limit = this.clientLimit(client);
    if (client && limit !== undefined && (this.perClient.get(client.id) ?? 0) >= limit) {
      throw this.refuse(`this client is at its limit of ${limit} sessions; end one first`);
    }
  }

  /** Admits one session of `avatar`, or throws RESOURCE_EXHAUSTED / UNAVAILABLE. */
  admit(avatar: Avatar, patch: boolean, client: Principal | undefined): Lease {
    this.precheck(client);
    const cost = this.cost(avatar, patch);
    if (!this.fits(cost)) {
      const c = this.capacity(avatar);
      throw this.refuse(`server is at capacity: it holds ${patch ? c.sessionsMouthPatch : c.sessions} real-time sessions of avatar "${avatar.name}"; retry later`);
    }
    this.load += cost;
    this.sessions++;
    if (client) this.perClient.set(client.id, (this.perClient.get(client.id) ?? 0) + 1);
    let held = true;
    return {
      release: () => {
        if (!held) return;
        held = false;
        this.sessions--;
        this.load = this.sessions === 0 ? 0 : Math.max(0, this.load - cost);
        if (client) {
          const n = (this.perClient.get(client.id) ?? 1) - 1;
          if (n > 0) this.perClient.set(client.id, n);
          else this.perClient.delete(client.id);
        }
      },
    };
  }

  private clientLimit(client: Principal | undefined): number | undefined {
    return client?.maxSessions ?? (this.config.maxSessionsPerClient || undefined);
  }

  private cost(avatar: Avatar, patch: boolean): number {
    const c = this.capacity(avatar);
    return 1 / (patch ? c.sessionsMouthPatch : c.sessions);
  }

  private fits(cost: number): boolean {
    // A little slack so that n sessions of cost 1/n always fit despite rounding.
    return this.load + cost <= 1 + 1e-9;
  }

  private refuse(message: string): LipSyncError {
    this.stats.sessionRefused();
    return new LipSyncError("resource_exhausted", message, { retryAfterMs: this.config.retryAfterMs });
  }
}
