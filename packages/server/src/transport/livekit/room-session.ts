/**
 * The avatar as a participant of a LiveKit room: joins with the agent side's token, publishes
 * its tracks, waits for the agent, takes the agent's `lk.audio_stream` byte streams (one an
 * utterance, in order) and its `lk.clear_buffer` calls, and leaves when the agent does, when
 * the session ends, or on stop(). Every way out goes through stop(): one log line, the room
 * left, the session's capacity released.
 */
import type { ByteStreamReader, RemoteParticipant, Room, RpcInvocationData } from "@livekit/rtc-node";
import type { LipSyncApp } from "../../app.js";
import { LipSyncError } from "../../errors.js";
import type { Logger } from "../../logger.js";
import type { LiveSession } from "../../session/live-session.js";
import { findAgent, type AgentRule } from "./agent.js";
import { AgentReports, RPC_CLEAR_BUFFER } from "./agent-rpc.js";
import type { RoomOptions } from "./options.js";
import { RoomMedia } from "./room-media.js";
import type { Rtc } from "./rtc.js";
import { AUDIO_STREAM_TOPIC, streamFormat, type StreamFormat } from "./stream-audio.js";
import { connectFailure } from "./token.js";
import { AvatarTracks } from "./tracks.js";

export interface JoinRequest {
  url: string;
  token: string;
  /** The room and identity the token names. */
  room: string;
  identity: string;
  agent: AgentRule;
  /** Audio track rate; undefined: no audio track. */
  audioRate: number | undefined;
  /** The rate the session was opened at (the agent's audio is resampled to it). */
  rate: number;
}


/** Resolves `p`, or rejects with `error` after `ms`; `late` gets the value if it comes after that. */
function within<T>(p: Promise<T>, ms: number, error: () => Error, late?: (v: T) => void): Promise<T> {
  let timer: NodeJS.Timeout;
  let timedOut = false;
  p.then((v) => timedOut && late?.(v), () => undefined);
  return Promise.race([p, new Promise<T>((_, reject) => (timer = setTimeout(() => ((timedOut = true), reject(error())), ms)))]).finally(() => clearTimeout(timer));
}

export class RoomSession {
  readonly done: Promise<void>;
  private resolveDone!: () => void;
  private agent: string | undefined;
  private media: RoomMedia | undefined;
  private tracks: AvatarTracks | undefined;
  private reports: AgentReports | undefined;
  private agentTimer: NodeJS.Timeout | undefined;
  /** Bumped by every barge-in: streams opened before it are dropped. */
  private clearGeneration = 0;
  /** The agent's streams, consumed one after the other once the media loop runs. */
  private streams: Promise<void>;
  private mediaStarted!: () => void;
  private stopping: Promise<void> | undefined;

  private constructor(
    private readonly rtc: Rtc,
    private readonly room: Room,
    readonly session: LiveSession,
    private readonly req: JoinRequest,
    private readonly options: RoomOptions,
    private readonly logger: Logger,
  ) {
    this.done = new Promise((r) => (this.resolveDone = r));
    this.streams = new Promise((r) => (this.mediaStarted = r));
  }

  /**
   * Joins and publishes, or throws a LipSyncError (and leaves nothing behind): INVALID_ARGUMENT
   * when LiveKit refuses the token, UNAVAILABLE when it cannot be reached in time.
   */
  static async join(app: LipSyncApp, rtc: Rtc, session: LiveSession, req: JoinRequest, options: RoomOptions): Promise<RoomSession> {
    const logger = app.logger.child({ session: session.id });
    const room = new rtc.Room();
    const self = new RoomSession(rtc, room, session, req, options, logger);
    const host = new URL(req.url).host;
    try {
      await within(room.connect(req.url, req.token, { autoSubscribe: false, dynacast: false }), options.joinTimeoutMs,
        () => new LipSyncError("unavailable", `could not reach LiveKit at ${host} within ${options.joinTimeoutMs} ms`),
        // Joined after all, too late for the caller: leave again.
        () => void room.disconnect().catch(() => undefined));
    } catch (err) {
      if (err instanceof LipSyncError) throw err;
      const f = connectFailure(err instanceof Error ? err.message : String(err));
      throw f.kind === "refused"
        ? new LipSyncError("invalid_argument", `LiveKit refused the token: ${f.reason}`)
        : new LipSyncError("unavailable", `could not reach LiveKit at ${host}: ${f.reason}`);
    }
    // Listening before the tracks are up: an agent may send as soon as it sees the video track.
    self.listen();
    try {
      self.tracks = await within(AvatarTracks.publish(rtc, room.localParticipant!, {
        width: session.avatar.manifest.width, height: session.avatar.manifest.height, audioRate: req.audioRate, audioQueueMs: options.audioQueueMs,
        maxBitrate: options.videoMaxBitrate, fps: session.avatar.manifest.fps,
      }), options.joinTimeoutMs, () => new LipSyncError("unavailable", "LiveKit did not accept the avatar's tracks in time"));
    } catch (err) {
      self.unlisten();
      self.mediaStarted();
      await room.disconnect().catch(() => undefined);
      throw err instanceof LipSyncError ? err : new LipSyncError("unavailable", "LiveKit did not accept the avatar's tracks");
    }
    self.begin();
    return self;
  }

  get roomName(): string {
    return this.room.name ?? this.req.room;
  }

  /** Leaves the room and ends the session (idempotent); `reason` goes to the one log line. */
  stop(reason: string): Promise<void> {
    this.stopping ??= (async () => {
      if (this.agentTimer) clearTimeout(this.agentTimer);
      this.media?.stop();
      this.unlisten();
      this.mediaStarted();
      this.session.close();
      await within(this.reports?.close() ?? Promise.resolve(), 1000, () => new Error("reports")).catch(() => undefined);
      await within(this.room.disconnect(), this.options.leaveTimeoutMs, () => new Error("leave timed out")).catch((err: unknown) => {
        this.logger.warn({ err: (err as Error).message }, "room leave failed");
      });
      await this.tracks?.close();
      this.logger.info({ reason, slots: this.media?.shown, late: this.media?.lateness }, "room session ended");
      this.resolveDone();
    })();
    return this.stopping;
  }

  private listen(): void {
    const room = this.room;
    const participant = room.localParticipant!;
    this.reports = new AgentReports((p) => participant.performRpc(p), () => this.agent, this.logger);
    room.registerByteStreamHandler(AUDIO_STREAM_TOPIC, (reader, from) => this.onStream(reader, from.identity));
    participant.registerRpcMethod(RPC_CLEAR_BUFFER, (data) => this.onClearBuffer(data));
    room.on(this.rtc.RoomEvent.ParticipantConnected, this.onJoined);
    room.on(this.rtc.RoomEvent.ParticipantDisconnected, this.onLeft);
    room.on(this.rtc.RoomEvent.Disconnected, this.onDisconnected);
    this.findAgent();
  }

  private unlisten(): void {
    this.room.off(this.rtc.RoomEvent.ParticipantConnected, this.onJoined);
    this.room.off(this.rtc.RoomEvent.ParticipantDisconnected, this.onLeft);
    this.room.off(this.rtc.RoomEvent.Disconnected, this.onDisconnected);
    if (this.room.isConnected) {
      this.room.unregisterByteStreamHandler(AUDIO_STREAM_TOPIC);
      this.room.localParticipant?.unregisterRpcMethod(RPC_CLEAR_BUFFER);
    }
  }

  private begin(): void {
    this.media = new RoomMedia(this.session, this.session.avatar, this.tracks!, this.reports!, this.req.rate, this.options, this.logger,
      (error) => void this.stop(error ? `session ended: ${error.message}` : "session closed"));
    this.media.start();
    this.mediaStarted();
    if (this.agent === undefined) {
      this.agentTimer = setTimeout(() => void this.stop("no agent joined"), this.options.agentTimeoutMs);
    }
    this.logger.info({ avatar: this.session.avatar.name, agentPresent: this.agent !== undefined }, "room session started");
  }

  private findAgent(): void {
    if (this.agent !== undefined) return;
    const participants = [...this.room.remoteParticipants.values()].map((p) => ({ identity: p.identity, isAgent: p.kind === this.rtc.ParticipantKind.AGENT }));
    this.agent = findAgent(this.req.agent, participants, this.req.identity);
    if (this.agent !== undefined && this.agentTimer) {
      clearTimeout(this.agentTimer);
      this.agentTimer = undefined;
    }
  }

  private readonly onJoined = (): void => this.findAgent();

  private readonly onLeft = (p: RemoteParticipant): void => {
    if (p.identity === this.agent) void this.stop("agent left");
  };

  private readonly onDisconnected = (): void => void this.stop("disconnected from the room");

  private onStream(reader: ByteStreamReader, from: string): void {
    if (from !== this.agent) {
      this.logger.warn("room audio stream refused: not from the agent");
      void reader.close();
      return;
    }
    let format: StreamFormat;
    try {
      format = streamFormat(reader.info.attributes);
    } catch (err) {
      this.logger.warn({ reason: (err as Error).message }, "room audio stream refused");
      void reader.close();
      return;
    }
    // Streams play in the order they opened: one utterance each.
    const generation = this.clearGeneration;
    this.streams = this.streams.then(() => this.consume(reader, format, generation));
  }

  private async consume(reader: ByteStreamReader, format: StreamFormat, generation: number): Promise<void> {
    if (generation !== this.clearGeneration || !this.media || this.stopping) {
      await reader.close();
      return;
    }
    const sink = this.media.openStream(format);
    try {
      for await (const chunk of reader) {
        if (generation !== this.clearGeneration) break; // cut by a barge-in: the rest is dropped
        sink.push(chunk);
      }
    } catch {
      // The stream broke off (its sender left): what arrived plays; leaving is the room's business.
    }
    if (generation === this.clearGeneration) sink.end();
    else await reader.close();
  }

  private async onClearBuffer(data: RpcInvocationData): Promise<string> {
    if (data.callerIdentity !== this.agent) {
      this.logger.warn("room clear_buffer refused: not from the agent");
      return "reject";
    }
    this.clearGeneration++;
    this.media?.clear();
    return "ok";
  }
}
