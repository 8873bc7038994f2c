/**
 * One voice-agent room for tests and benchmarks: a lipsync server's avatar started with
 * StartRoomSession, an agent (e2e/livekit-agent.ts) and a subscriber watching the avatar
 * (e2e/livekit-subscriber.ts), all in one room of a test LiveKit server.
 */
import { Resampler } from "../packages/server/src/audio/resampler.js";
import { ProtocolAgent } from "./livekit-agent.js";
import type { LiveKitServer } from "./livekit-server.js";
import { rgbPatch, Subscriber, type Box } from "./livekit-subscriber.js";
import { mintToken } from "./livekit-token.js";

export interface RoomSetup {
  room: string;
  agent: ProtocolAgent;
  viewer: Subscriber;
  avatarIdentity: string;
  sessionId: string;
  /** Mouth patches of every idle source frame (the reference for idleDistance). */
  idle: Float32Array[];
  close(): Promise<void>;
}

export interface AvatarReference {
  width: number;
  height: number;
  frameCount: number;
  /** Where the model's output is pasted (frame pixels, first frame's crop): where speech shows. */
  box: Box;
  /** That box of every idle source frame, as the subscriber sees frames (idleDistance). */
  idle: Float32Array[];
}

/** What a subscriber needs to tell the avatar's idle footage from speech, asked of the server. */
export async function avatarReference(rpc: RoomRpc, name: string): Promise<AvatarReference> {
  const a = await rpc.getAvatar({ name });
  const size = a.avatar!.model!.inputSize;
  const crop = a.cropBoxes[0]!;
  const m = a.mouthBox!;
  const scale = crop.width / size;
  const box = { x: Math.round(crop.x + m.x * scale), y: Math.round(crop.y + m.y * scale), width: Math.round(m.width * scale), height: Math.round(m.height * scale) };
  const idle: Float32Array[] = [];
  for (let i = 0; i < a.avatar!.frameCount; i++) {
    const f = await rpc.getSourceFrame({ avatar: name, index: i, format: 2 /* RGB */ });
    idle.push(rgbPatch(f.image, f.width, box));
  }
  return { width: a.avatar!.width, height: a.avatar!.height, frameCount: a.avatar!.frameCount, box, idle };
}

/** The two room RPCs of a lipsync client (`createLipSyncClient(...).rpc`). */
export interface RoomRpc {
  startRoomSession(req: { avatar: string; livekitUrl: string; token: string; agentIdentity?: string; output?: { audio?: boolean; audioSampleRate?: number } }): Promise<{ sessionId: string }>;
  stopRoomSession(req: { sessionId: string }): Promise<{ stopped: boolean }>;
  getAvatar(req: { name: string }): Promise<{
    avatar?: { width: number; height: number; frameCount: number; model?: { inputSize: number } };
    cropBoxes: Box[]; mouthBox?: Box;
  }>;
  getSourceFrame(req: { avatar: string; index: number; format: number }): Promise<{ image: Uint8Array; width: number }>;
}

let rooms = 0;

/** Waits for `cond`, polling; throws naming `what` after `ms`. */
export async function until(cond: () => boolean, what: string, ms = 15_000): Promise<void> {
  const end = Date.now() + ms;
  while (!cond()) {
    if (Date.now() > end) throw new Error(`${what}: not within ${ms} ms`);
    await new Promise((r) => setTimeout(r, 10));
  }
}

export async function setupRoom(lk: LiveKitServer, rpc: RoomRpc, ref: AvatarReference & { name: string }, o: { audioRate?: number } = {}): Promise<RoomSetup> {
  const room = `room-${process.pid}-${++rooms}`;
  const agentIdentity = "agent";
  const avatarIdentity = "lipsync-avatar";
  const agent = new ProtocolAgent();
  await agent.join(lk.url, await mintToken(lk, { room, identity: agentIdentity, kind: "agent" }));
  const viewer = new Subscriber(avatarIdentity, ref.box, o.audioRate ?? 48_000);
  await viewer.join(lk.url, await mintToken(lk, { room, identity: "viewer" }));
  const token = await mintToken(lk, { room, identity: avatarIdentity, kind: "agent", attributes: { "lk.publish_on_behalf": agentIdentity } });
  const started = await rpc.startRoomSession({ avatar: ref.name, livekitUrl: lk.url, token, output: { audioSampleRate: o.audioRate ?? 0 } });
  return {
    room, agent, viewer, avatarIdentity, sessionId: started.sessionId, idle: ref.idle,
    close: async () => {
      await rpc.stopRoomSession({ sessionId: started.sessionId }).catch(() => undefined);
      await agent.close().catch(() => undefined);
      await viewer.close().catch(() => undefined);
    },
  };
}

/** 16-bit mono PCM resampled from `from` to `to` Hz (a recording at a TTS's rate). */
export function resamplePcm(pcm: Int16Array, from: number, to: number): Int16Array {
  const r = new Resampler(from, to);
  const f = Float32Array.from(pcm, (v) => v / 32768);
  const a = r.push(f);
  const b = r.flush();
  const out = new Int16Array(a.length + b.length);
  let i = 0;
  for (const x of [...a, ...b]) out[i++] = Math.max(-32768, Math.min(32767, Math.round(x * 32768)));
  return out;
}

/** Index of the first sample louder than `level` (of full scale), or -1. */
export function onset(pcm: ArrayLike<number>, level = 0.05): number {
  const t = level * 32768;
  for (let i = 0; i < pcm.length; i++) if (Math.abs(pcm[i]!) > t) return i;
  return -1;
}
