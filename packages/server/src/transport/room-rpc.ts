/**
 * StartRoomSession and StopRoomSession over Connect-RPC (gRPC, gRPC-Web and Connect JSON): decode,
 * call the room sessions (transport/livekit/), encode. Registered in connect.ts beside the other
 * LipSyncService handlers.
 */
import { create } from "@bufbuild/protobuf";
import type { HandlerContext } from "@connectrpc/connect";
import {
  StartRoomSessionResponseSchema, StopRoomSessionResponseSchema,
  type StartRoomSessionRequest, type StartRoomSessionResponse, type StopRoomSessionRequest, type StopRoomSessionResponse,
} from "@lipsync/proto";
import type { LipSyncApp } from "../app.js";
import { principalOf } from "./access.js";
import { roomSessionsOf } from "./livekit/room-sessions.js";
import { callSignal } from "./request-context.js";

type Unary = <I, O>(method: string, fn: (req: I, ctx: HandlerContext) => Promise<O>) => (req: I, ctx: HandlerContext) => Promise<O>;

export function roomRoutes(app: LipSyncApp, unary: Unary) {
  return {
    startRoomSession: unary("StartRoomSession", async (req: StartRoomSessionRequest, ctx): Promise<StartRoomSessionResponse> => {
      const r = await roomSessionsOf(app).start({
        avatar: req.avatar, livekitUrl: req.livekitUrl, token: req.token, agentIdentity: req.agentIdentity,
        audio: req.output?.audio ?? true, audioSampleRate: req.output?.audioSampleRate ?? 0,
      }, principalOf(ctx), callSignal(ctx));
      return create(StartRoomSessionResponseSchema, { sessionId: r.sessionId, room: r.room, participantIdentity: r.identity, avatar: app.catalogue.info(r.avatar) });
    }),
    stopRoomSession: unary("StopRoomSession", async (req: StopRoomSessionRequest, ctx): Promise<StopRoomSessionResponse> =>
      create(StopRoomSessionResponseSchema, { stopped: await roomSessionsOf(app).stop(req.sessionId, principalOf(ctx)) })),
  };
}
