/**
 * Live sessions: opened here for every transport (WebSocket, gRPC, `lipsync render`, a LiveKit
 * room) through one door: the request checked, the avatar authorised and loaded, the session
 * admitted, the runner built from the server's configuration. What the sessions do is observed
 * here too, the same for every transport: first-frame latency, idle frames, utterances in
 * progress (which a graceful shutdown lets finish).
 */
import { create } from "@bufbuild/protobuf";
import { SessionStartedSchema } from "@lipsync/proto";
import { SAMPLE_RATE } from "../audio/constants.js";
import type { FrontEndPool } from "../audio/frontends/frontend-pool.js";
import type { Principal } from "../auth.js";
import type { ServerConfig } from "../config.js";
import { checkQuality } from "../engine/frame.js";
import { FrameKind } from "@lipsync/proto";
import { LipSyncError } from "../errors.js";
import type { Logger } from "../logger.js";
import type { Stats } from "../metrics.js";
import { LiveSession, type SessionObserver } from "../session/live-session.js";
import { checkAudioInput, type SessionOutput, type SessionRequest } from "../session/protocol.js";
import { SessionRunner } from "../session/session-runner.js";
import type { Admission, Lease } from "./admission.js";
import type { Catalogue } from "./catalogue.js";

interface Held {
  lease: Lease;
  /** When the current utterance's speech-started left, until its first speech frame (first-frame latency). */
  speechAt: number | undefined;
  talking: boolean;
}

export interface SessionDeps {
  config: ServerConfig;
  catalogue: Catalogue;
  admission: Admission;
  stats: Stats;
  logger: Logger;
  /** Live sessions' audio front ends in workers, or undefined: the main thread. */
  frontEnds: FrontEndPool | undefined;
}

export class Sessions implements SessionObserver {
  private readonly live = new Map<LiveSession, Held>();
  private nextId = 1;
  private talking = 0;

  constructor(private readonly deps: SessionDeps) {}

  /** A new session; the transport must `close` it when it ends. */
  async open(principal: Principal | undefined, req: SessionRequest): Promise<LiveSession> {
    const { config, catalogue, admission, stats, logger, frontEnds } = this.deps;
    const audio = checkAudioInput(req.audio);
    const quality = checkQuality(req.quality ?? config.jpegQuality);
    admission.precheck(principal);
    const avatar = await catalogue.get(principal, req.avatar);
    if (avatar.manifest.model.audio.frontEnd.kind === "none") {
      throw new LipSyncError("failed_precondition", `avatar "${avatar.name}" has no live audio front end (only precomputed features of its own track): it renders with RenderFrame, not Speak`);
    }
    const lease = admission.admit(avatar, req.patch ?? false, principal);
    const runner = new SessionRunner(avatar, {
      continuous: req.continuous, inputRate: audio.sampleRate, chunkFormat: { encoding: audio.encoding, channels: audio.channels },
      encoding: req.encoding, quality, patch: req.patch ?? false,
      maxQueuedFrames: config.maxQueuedFrames, maxQueuedSeconds: config.maxQueuedAudioSeconds, maxInFlight: config.maxInFlightPerSession,
      maxChunkBytes: config.maxChunkBytes, offlineSlackMs: config.offlineSlackMs,
      ...(req.realtime === false ? {} : { maxLatencyMs: config.maxFrameLatencyMs }),
      onRendered: (t) => {
        stats.rendered(t);
        admission.observe(avatar, t, req.patch ?? false);
      },
      onDropped: (n) => stats.dropped(n),
      ...(frontEnds ? { frontEnd: (listener) => frontEnds.client(listener) } : {}),
    });
    const id = `s${this.nextId++}`;
    const started = create(SessionStartedSchema, { sessionId: id, avatar: catalogue.info(avatar), samplesPerFrame: avatar.samplesPerFrame, clockRate: SAMPLE_RATE });
    const session = new LiveSession(id, avatar, started, runner, this);
    this.live.set(session, { lease, speechAt: undefined, talking: false });
    stats.sessionOpened();
    logger.info({ session: id, avatar: avatar.name, rate: audio.sampleRate, continuous: req.continuous }, "session started");
    return session;
  }

  output(session: LiveSession, out: SessionOutput): void {
    const held = this.live.get(session);
    if (!held) return;
    if (out.type === "speech-started") {
      held.speechAt = performance.now();
      this.setTalking(held, true);
    } else if (out.type === "speech-ended") {
      this.setTalking(held, false);
    } else if (out.type === "frame") {
      if (out.frame.kind === FrameKind.IDLE) {
        this.deps.stats.idleFrame();
      } else if (held.speechAt !== undefined) {
        this.deps.stats.firstFrame((performance.now() - held.speechAt) / 1000);
        held.speechAt = undefined;
      }
    }
  }

  closed(session: LiveSession): void {
    const held = this.live.get(session);
    if (!held) return;
    this.live.delete(session);
    this.setTalking(held, false);
    held.lease.release();
    this.deps.stats.sessionClosed();
    this.deps.logger.info({ session: session.id }, "session ended");
  }

  /** Live sessions. */
  get count(): number {
    return this.live.size;
  }

  /** Sessions in the middle of an utterance (a graceful shutdown lets them finish). */
  get speaking(): number {
    return this.talking;
  }

  /** Ends every session of avatar `name` with `reason` (the avatar is being unloaded). */
  endAvatar(name: string, reason: LipSyncError): void {
    for (const s of [...this.live.keys()]) if (s.avatar.name === name) s.fail(reason);
  }

  /** Ends every session (shutdown); their transports see `reason` as the last event. */
  endAll(reason: LipSyncError): void {
    for (const s of [...this.live.keys()]) {
      s.fail(reason);
      s.close();
    }
  }

  private setTalking(held: Held, talking: boolean): void {
    if (held.talking === talking) return;
    held.talking = talking;
    this.talking += talking ? 1 : -1;
  }
}
