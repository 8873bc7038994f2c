/**
 * The server's room sessions: StartRoomSession checks what it can before joining (URL, token,
 * avatar and permission, capacity: a room session is opened through the app like any other
 * session), joins, and keeps the session until it ends; StopRoomSession ends one. One registry
 * per app.
 */
import { MAX_INPUT_RATE, MIN_INPUT_RATE } from "../../audio/constants.js";
import type { LipSyncApp } from "../../app.js";
import type { Principal } from "../../auth.js";
import type { Avatar } from "../../avatar/avatar.js";
import { LipSyncError, invalidArgument } from "../../errors.js";
import { agentRule } from "./agent.js";
import { ROOM_DEFAULTS, type RoomOptions } from "./options.js";
import { RoomSession } from "./room-session.js";
import { loadRtc } from "./rtc.js";
import { checkLiveKitUrl, inspectToken } from "./token.js";

export interface StartRoom {
  avatar: string;
  livekitUrl: string;
  token: string;
  agentIdentity: string;
  /** Publish an audio track (default true). */
  audio: boolean;
  /** Its rate; 0: the default (48 kHz). */
  audioSampleRate: number;
}

export interface StartedRoom {
  sessionId: string;
  room: string;
  identity: string;
  avatar: Avatar;
}

interface Entry {
  session: RoomSession;
  /** Who started it: only they (or an admin) may stop it. */
  owner: string | undefined;
}

export class RoomSessions {
  private readonly sessions = new Map<string, Entry>();

  constructor(private readonly app: LipSyncApp, private readonly options: RoomOptions = ROOM_DEFAULTS) {}

  async start(req: StartRoom, principal: Principal | undefined, signal?: AbortSignal): Promise<StartedRoom> {
    const url = checkLiveKitUrl(req.livekitUrl);
    const claims = inspectToken(req.token);
    const rate = req.audioSampleRate === 0 ? this.options.defaultAudioRate : req.audioSampleRate;
    if (!Number.isInteger(rate) || rate < MIN_INPUT_RATE || rate > MAX_INPUT_RATE) {
      throw invalidArgument(`output.audio_sample_rate must be 0 or an integer ${MIN_INPUT_RATE}..${MAX_INPUT_RATE}`);
    }
    if (claims.identity === req.agentIdentity) throw invalidArgument("agent_identity is the avatar's own identity");
    const rtc = await loadRtc();
    // Admission (and the avatar's authorisation) first: a session past capacity is refused
    // before anyone joins a room. Raw RGB frames: the track's encoder takes them as they are.
    const opened = await this.app.sessions.open(principal, {
      avatar: req.avatar, audio: { sampleRate: rate, encoding: "f32le", channels: 1 }, continuous: false, encoding: "rgb", realtime: true,
    });
    let session: RoomSession;
    try {
      session = await RoomSession.join(this.app, rtc, opened, {
        url: url.toString(), token: req.token, room: claims.room, identity: claims.identity,
        agent: agentRule(req.agentIdentity, claims.publishOnBehalf), audioRate: req.audio ? rate : undefined, rate,
      }, this.options);
    } catch (err) {
      opened.close();
      throw err;
    }
    if (signal?.aborted) {
      // The caller went away while we joined: nobody would know this session's id.
      await session.stop("caller cancelled");
      throw new LipSyncError("cancelled", "cancelled while joining the room");
    }
    this.sessions.set(opened.id, { session, owner: principal?.id });
    void session.done.then(() => this.sessions.delete(opened.id));
    return { sessionId: opened.id, room: session.roomName, identity: claims.identity, avatar: opened.avatar };
  }

  /** Ends the room session `id`; false when there is none the caller may stop. */
  async stop(id: string, principal: Principal | undefined): Promise<boolean> {
    const entry = this.sessions.get(id);
    if (!entry) return false;
    if (principal && !principal.admin && entry.owner !== principal.id) return false;
    this.sessions.delete(id);
    await entry.session.stop("stopped by request");
    return true;
  }

  get size(): number {
    return this.sessions.size;
  }

  /** Leaves every room (shutdown). */
  async closeAll(): Promise<void> {
    const all = [...this.sessions.values()];
    this.sessions.clear();
    await Promise.all(all.map((e) => e.session.stop("server shutting down")));
  }
}

const registries = new WeakMap<LipSyncApp, RoomSessions>();

/** The app's room sessions (made on first use). */
export function roomSessionsOf(app: LipSyncApp): RoomSessions {
  let r = registries.get(app);
  if (!r) registries.set(app, (r = new RoomSessions(app)));
  return r;
}
