/**
 * Admission: how many live sessions this server holds, and who gets one. Capacity is measured
 * when an avatar loads (engine/capacity.ts: the whole pipeline, timed) unless the operator set it,
 * kept true afterwards by the live frames' own stage times (LiveCapacity), and measured again when
 * the server has been idle a while: a figure taken on a busy machine does not stay. Each session
 * takes its share (1 / the sessions the avatar holds now, whole frames or patches); a session that
 * does not fit is refused with RESOURCE_EXHAUSTED and a retry hint rather than slowing every other
 * session down. Readiness (for load balancers) says whether one more fits. Exported as
 * lipsync_capacity_sessions and lipsync_capacity_used.
 */
import { create } from "@bufbuild/protobuf";
import { CapacitySchema, type Capacity } from "@lipsync/proto";
import { silenceInput } from "../audio/frontends/inputs.js";
import { silentAudioWindow } from "../audio/frontends/feature-window.js";
import type { Principal } from "../auth.js";
import type { Avatar } from "../avatar/avatar.js";
import type { ServerConfig } from "../config.js";
import { Gauge } from "prom-client";
import { LiveCapacity, measureThroughput, sessionsFor } from "../engine/capacity.js";
import type { StageTimings } from "../engine/frame.js";
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

interface Held {
  avatar: Avatar;
  patch: boolean;
}

export class Admission {
  /** Engine rate per loaded avatar: measured, and kept true by live frames. */
  private readonly rates = new Map<Avatar, LiveCapacity>();
  private readonly held = new Set<Held>();
  private readonly perClient = new Map<string, number>();
  private drain = false;
  /** When the server last had a session (or measured), for re-measuring when idle. */
  private busyAt = performance.now();
  /** Measurements running (at load, or again when idle): the server is not idle meanwhile. */
  private measuring = 0;
  private readonly idleTimer: NodeJS.Timeout | undefined;

  /** `loaded`: the avatars loaded now (re-measured when idle). */
  constructor(private readonly config: ServerConfig, private readonly stats: Stats, private readonly logger: Logger, private readonly loaded: () => Avatar[] = () => []) {
    const sessions: Gauge<"avatar" | "frames"> = new Gauge({
      name: "lipsync_capacity_sessions", help: "Real-time sessions the server holds per avatar, alone (measured at load, kept true by live frames)",
      labelNames: ["avatar", "frames"], registers: [stats.registry],
      collect: () => {
        sessions.reset();
        for (const avatar of this.loaded()) {
          const c = this.capacity(avatar);
          sessions.set({ avatar: avatar.name, frames: "whole" }, c.sessions);
          sessions.set({ avatar: avatar.name, frames: "patch" }, c.sessionsMouthPatch);
        }
      },
    });
    const used: Gauge = new Gauge({ name: "lipsync_capacity_used", help: "Share of the session capacity in use, 0..1 (1: new sessions are refused)", registers: [stats.registry], collect: () => used.set(this.used) });
    const idle = config.capacityRemeasureIdleSeconds;
    if (idle > 0 && config.sessionCapacity === 0) {
      this.idleTimer = setInterval(() => void this.remeasureIfIdle(), Math.max(250, (idle * 1000) / 4));
      this.idleTimer.unref();
    }
  }

  /** Times the whole frame pipeline of a loaded avatar (unless the operator set the capacity). */
  async measure(avatar: Avatar): Promise<void> {
    if (this.config.sessionCapacity > 0) return;
    this.measuring++;
    let t;
    try {
      t = await measureThroughput(avatar, {
        frameCount: avatar.frameCount, maxBatch: this.config.maxBatch, quality: this.config.jpegQuality, audio: silentAudioWindow(avatar.windowSource),
        encoderInput: silenceInput(avatar.manifest.model.audio.frontEnd),
      });
    } finally {
      this.measuring--;
      this.busyAt = performance.now();
    }
    this.rates.set(avatar, new LiveCapacity(t));
    const c = this.capacity(avatar);
    this.logger.info({ avatar: avatar.name, fps: Math.round(t.fullFps), patchFps: Math.round(t.patchFps), sessions: c.sessions, sessionsPatch: c.sessionsMouthPatch, ms: Math.round(t.ms) }, "avatar capacity measured");
  }

  /** A live frame's stage times: they keep the avatar's rate true. */
  observe(avatar: Avatar, timings: StageTimings, patch: boolean): void {
    this.rates.get(avatar)?.observe(timings, patch);
  }

  /** The avatar is gone: its rate with it. */
  forget(avatar: Avatar): void {
    this.rates.delete(avatar);
  }

  /** Real-time sessions of `avatar` this server holds, alone, now. */
  capacity(avatar: Avatar): Capacity {
    const fixed = this.config.sessionCapacity;
    const rate = this.rates.get(avatar);
    if (fixed > 0 || !rate) {
      const n = fixed > 0 ? fixed : this.config.maxSessions;
      return create(CapacitySchema, { sessions: n, sessionsMouthPatch: n, measured: false });
    }
    const { fps } = avatar.manifest;
    const u = this.config.capacityUtilisation;
    const full = rate.fps(false);
    const patch = Math.max(full, rate.fps(true));
    return create(CapacitySchema, { sessions: sessionsFor(full, fps, u), sessionsMouthPatch: sessionsFor(patch, fps, u), engineFps: full, engineFpsMouthPatch: patch, measured: true });
  }

  /** Share of the capacity in use, 0..1: each session's share at the capacity its avatar holds now. */
  get used(): number {
    return Math.min(1, this.load());
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
    if (this.held.size >= this.config.maxSessions || !loaded.some((a) => this.fits(this.cost(a, true)))) return { serving: false, reason: "at capacity" };
    return { serving: true, reason: "serving" };
  }

  /** The limits that need no avatar (shutdown, the server's and the client's session limits): checked before loading one. */
  precheck(client: Principal | undefined): void {
    if (this.drain) throw new LipSyncError("unavailable", "server is shutting down", { retryAfterMs: this.config.retryAfterMs });
    if (this.held.size >= this.config.maxSessions) {
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
    const h: Held = { avatar, patch };
    this.held.add(h);
    this.busyAt = performance.now();
    if (client) this.perClient.set(client.id, (this.perClient.get(client.id) ?? 0) + 1);
    return {
      release: () => {
        if (!this.held.delete(h)) return;
        this.busyAt = performance.now();
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

  private load(): number {
    let load = 0;
    for (const h of this.held) load += this.cost(h.avatar, h.patch);
    return load;
  }

  private fits(cost: number): boolean {
    // A little slack so that n sessions of cost 1/n always fit despite rounding.
    return this.load() + cost <= 1 + 1e-9;
  }

  /** Measures every loaded avatar again once the server has been idle long enough since its last session or measurement. */
  private async remeasureIfIdle(): Promise<void> {
    const idleMs = this.config.capacityRemeasureIdleSeconds * 1000;
    if (this.measuring > 0 || this.drain || this.held.size > 0 || performance.now() - this.busyAt < idleMs) return;
    for (const avatar of this.loaded()) {
      if (this.held.size > 0 || this.drain) break;
      await this.measure(avatar).catch((err: unknown) => this.logger.warn({ avatar: avatar.name, err: String(err) }, "capacity measurement failed"));
    }
  }

  close(): void {
    if (this.idleTimer) clearInterval(this.idleTimer);
  }

  private refuse(message: string): LipSyncError {
    this.stats.sessionRefused();
    return new LipSyncError("resource_exhausted", message, { retryAfterMs: this.config.retryAfterMs });
  }
}
