/**
 * A lipsync avatar in a LiveKit Agents (Node) session, the way the hosted avatar plugins plug
 * in: `start` mints the avatar's participant token, asks your lipsync server to join the room
 * (StartRoomSession), and sends the agent's speech to it over LiveKit's avatar protocol
 * (`DataStreamAudioOutput`); the avatar publishes the lip-synced video and the speech.
 *
 *   const avatar = new AvatarSession({ serverUrl: "http://lipsync:8080", avatar: "demo" });
 *   await avatar.start(session, ctx.room);
 *   await session.start({ agent, room: ctx.room });
 */
import { Code, ConnectError } from "@connectrpc/connect";
import { voice } from "@livekit/agents";
import { TrackKind, type Room } from "@livekit/rtc-node";
import { createLipSyncClient } from "@lipsync/client/node";
import { AccessToken } from "livekit-server-sdk";

const PUBLISH_ON_BEHALF = "lk.publish_on_behalf";

export interface AvatarSessionOptions {
  /** The lipsync server: http(s)://host:port (env LIPSYNC_URL). */
  serverUrl?: string;
  /** The avatar to show, by name. */
  avatar: string;
  /** Bearer token of the lipsync server, when it wants one (env LIPSYNC_API_TOKEN). */
  apiToken?: string;
  /** The avatar's participant identity and name in the room (default "lipsync-avatar"). */
  avatarParticipantIdentity?: string;
  avatarParticipantName?: string;
  /**
   * Rate of the agent's audio as sent to the avatar and of the avatar's audio track, Hz
   * (default 24000, what most TTS produce; other rates are resampled by the agent).
   */
  sampleRate?: number;
  /** StartRoomSession tries on UNAVAILABLE (the server restarting, say), 1 s apart (default 3). */
  maxRetry?: number;
}

export interface StartOptions {
  /** The LiveKit server as the lipsync server reaches it (env LIVEKIT_URL). */
  livekitUrl?: string;
  livekitApiKey?: string;
  livekitApiSecret?: string;
}

export class LipSyncAvatarError extends Error {
  constructor(message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.name = "LipSyncAvatarError";
  }
}

export class AvatarSession extends voice.AvatarSession {
  readonly serverUrl: string;
  readonly avatar: string;
  private readonly identity: string;
  private readonly name: string;
  private readonly sampleRate: number;
  private readonly maxRetry: number;
  private readonly client: ReturnType<typeof createLipSyncClient>;
  /** The lipsync server's id of the room session, once started. */
  sessionId: string | undefined;

  constructor(options: AvatarSessionOptions) {
    super();
    const serverUrl = options.serverUrl ?? process.env.LIPSYNC_URL;
    if (!serverUrl) throw new LipSyncAvatarError("serverUrl must be given, or LIPSYNC_URL set: the lipsync server, http(s)://host:port");
    if (!options.avatar) throw new LipSyncAvatarError("avatar must name one of the lipsync server's avatars");
    this.serverUrl = serverUrl;
    this.avatar = options.avatar;
    this.identity = options.avatarParticipantIdentity ?? "lipsync-avatar";
    this.name = options.avatarParticipantName ?? "lipsync-avatar";
    this.sampleRate = options.sampleRate ?? 24_000;
    this.maxRetry = options.maxRetry ?? 3;
    const token = options.apiToken ?? process.env.LIPSYNC_API_TOKEN;
    this.client = createLipSyncClient({ baseUrl: serverUrl, protocol: "connect", httpVersion: "1.1", ...(token ? { token } : {}) });
  }

  override get avatarIdentity(): string {
    return this.identity;
  }

  override get provider(): string {
    return "lipsync";
  }

  /** Starts the avatar in `room` and routes `agentSession`'s audio to it. Call before `agentSession.start`. */
  override async start(agentSession: voice.AgentSession, room: Room, options: StartOptions = {}): Promise<void> {
    await super.start(agentSession, room);
    const livekitUrl = options.livekitUrl ?? process.env.LIVEKIT_URL;
    const apiKey = options.livekitApiKey ?? process.env.LIVEKIT_API_KEY;
    const apiSecret = options.livekitApiSecret ?? process.env.LIVEKIT_API_SECRET;
    if (!livekitUrl || !apiKey || !apiSecret) {
      throw new LipSyncAvatarError("livekitUrl, livekitApiKey and livekitApiSecret must be given, or LIVEKIT_URL, LIVEKIT_API_KEY and LIVEKIT_API_SECRET set");
    }
    const agentIdentity = agentIdentityOf(room);
    const at = new AccessToken(apiKey, apiSecret, { identity: this.identity, name: this.name, attributes: { [PUBLISH_ON_BEHALF]: agentIdentity } });
    at.kind = "agent";
    at.addGrant({ roomJoin: true, room: room.name!, canPublish: true, canSubscribe: true, canPublishData: true });
    const token = await at.toJwt();
    const started = await this.startRoomSession({ avatar: this.avatar, livekitUrl, token, agentIdentity, output: { audio: true, audioSampleRate: this.sampleRate } });
    this.sessionId = started.sessionId;
    agentSession.output.audio = new voice.DataStreamAudioOutput({
      room, destinationIdentity: this.identity, sampleRate: this.sampleRate, waitRemoteTrack: TrackKind.KIND_VIDEO,
    });
  }

  /** Stops the avatar (StopRoomSession), then what LiveKit Agents' own AvatarSession does. */
  override async aclose(): Promise<void> {
    const id = this.sessionId;
    this.sessionId = undefined;
    if (id !== undefined) await this.client.rpc.stopRoomSession({ sessionId: id }).catch(() => undefined);
    await super.aclose();
  }

  private async startRoomSession(req: Parameters<ReturnType<typeof createLipSyncClient>["rpc"]["startRoomSession"]>[0]) {
    for (let attempt = 1; ; attempt++) {
      try {
        return await this.client.rpc.startRoomSession(req);
      } catch (err) {
        const e = ConnectError.from(err);
        if (e.code !== Code.Unavailable || attempt >= this.maxRetry) {
          throw new LipSyncAvatarError(`lipsync server at ${this.serverUrl} did not start the avatar: ${e.rawMessage} (${Code[e.code]})`, { cause: err });
        }
        await new Promise((r) => setTimeout(r, 1000));
      }
    }
  }
}

/** The agent's own identity: the room's local participant (the room must be connected: `await ctx.connect()`). */
function agentIdentityOf(room: Room): string {
  const local = room.isConnected ? room.localParticipant?.identity : undefined;
  if (!local) throw new LipSyncAvatarError("the room is not connected: connect it (await ctx.connect()) before starting the avatar");
  return local;
}
