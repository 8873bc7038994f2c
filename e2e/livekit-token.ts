/** Participant tokens for the test LiveKit server (e2e/livekit-server.ts), minted with livekit-server-sdk. */
import { AccessToken } from "livekit-server-sdk";

export interface TokenOptions {
  room: string;
  identity: string;
  /** "agent" for the agent and the avatar (LiveKit's participant kind); default a standard participant. */
  kind?: "agent" | "standard";
  /** Participant attributes, e.g. { "lk.publish_on_behalf": "agent" } for an avatar. */
  attributes?: Record<string, string>;
  /** Lifetime, seconds or a string such as "10m" (default 10 minutes); negative: already expired. */
  ttl?: number | string;
}

export async function mintToken(server: { apiKey: string; apiSecret: string }, o: TokenOptions): Promise<string> {
  const at = new AccessToken(server.apiKey, server.apiSecret, { identity: o.identity, ttl: o.ttl ?? "10m", ...(o.attributes ? { attributes: o.attributes } : {}) });
  if (o.kind) at.kind = o.kind;
  at.addGrant({ room: o.room, roomJoin: true, canPublish: true, canSubscribe: true, canPublishData: true });
  return at.toJwt();
}
