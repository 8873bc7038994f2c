/**
 * What StartRoomSession can check before joining: the LiveKit URL's form, and the claims of the
 * participant token (read, not verified: only the LiveKit server holds the secret). A token that
 * is not a JWT, has no room grant or has expired is refused here with INVALID_ARGUMENT; a bad
 * signature only LiveKit can see (room-join.ts maps its answer). The token itself is never
 * logged or echoed: LiveKit's own error messages quote it, so they are never passed on whole.
 */
import { invalidArgument } from "../../errors.js";

export interface TokenClaims {
  /** The avatar's participant identity (`sub`). */
  identity: string;
  room: string;
  /** Expiry, seconds since the epoch; undefined: none. */
  exp: number | undefined;
  /** `attributes["lk.publish_on_behalf"]`: the agent the avatar speaks for, if named. */
  publishOnBehalf: string | undefined;
  kind: string | undefined;
}

export const PUBLISH_ON_BEHALF = "lk.publish_on_behalf";

/** Reads the claims StartRoomSession needs; `nowS` is the time to check `exp` against, seconds. */
export function inspectToken(token: string, nowS = Date.now() / 1000): TokenClaims {
  if (token === "") throw invalidArgument("token is required: a LiveKit participant token for the avatar");
  const parts = token.split(".");
  let claims: Record<string, unknown>;
  try {
    if (parts.length !== 3) throw new Error("not three parts");
    claims = JSON.parse(Buffer.from(parts[1]!, "base64url").toString("utf8")) as Record<string, unknown>;
    if (typeof claims !== "object" || claims === null || Array.isArray(claims)) throw new Error("not an object");
  } catch {
    throw invalidArgument("token is not a LiveKit participant token (a JWT)");
  }
  const video = claims.video as Record<string, unknown> | undefined;
  const identity = typeof claims.sub === "string" ? claims.sub : "";
  if (identity === "") throw invalidArgument("token has no participant identity (sub)");
  if (!video || video.roomJoin !== true || typeof video.room !== "string" || video.room === "") {
    throw invalidArgument("token has no room_join grant for a named room");
  }
  const exp = typeof claims.exp === "number" ? claims.exp : undefined;
  if (exp !== undefined && exp <= nowS) throw invalidArgument(`token expired ${Math.round(nowS - exp)} s ago`);
  const attributes = claims.attributes as Record<string, unknown> | undefined;
  const behalf = attributes?.[PUBLISH_ON_BEHALF];
  return {
    identity,
    room: video.room,
    exp,
    publishOnBehalf: typeof behalf === "string" && behalf !== "" ? behalf : undefined,
    kind: typeof claims.kind === "string" ? claims.kind : undefined,
  };
}

/** A LiveKit server URL: ws://, wss://, http:// or https:// with a host. */
export function checkLiveKitUrl(url: string): URL {
  if (url === "") throw invalidArgument("livekit_url is required (ws:// or wss://)");
  let parsed: URL;
  try {
    parsed = new URL(url);
  } catch {
    throw invalidArgument("livekit_url is not a URL");
  }
  if (!["ws:", "wss:", "http:", "https:"].includes(parsed.protocol) || parsed.hostname === "") {
    throw invalidArgument("livekit_url must be ws://, wss://, http:// or https:// with a host");
  }
  if (parsed.username || parsed.password) throw invalidArgument("livekit_url must not carry credentials");
  return parsed;
}

/**
 * LiveKit's refusal of a connection as a client-safe reason: the kind of failure without the
 * token its messages quote ("401 Unauthorized - invalid token: eyJ..., error: token is expired").
 */
export function connectFailure(message: string): { kind: "refused" | "unreachable"; reason: string } {
  if (/\b401\b|unauthori[sz]ed/i.test(message)) {
    const why = /, error: ([^,]+?)\s*$/.exec(message)?.[1] ?? (/invalid authorization token/i.test(message) ? "invalid authorization token" : "invalid token");
    return { kind: "refused", reason: why.replace(/eyJ[\w-]*\.[\w-]*\.[\w-]*/g, "<token>") };
  }
  if (/\b403\b|forbidden/i.test(message)) return { kind: "refused", reason: "permission denied" };
  if (/connection refused/i.test(message)) return { kind: "unreachable", reason: "connection refused" };
  if (/dns|resolve|lookup|name or service/i.test(message)) return { kind: "unreachable", reason: "host not found" };
  if (/timed? ?out/i.test(message)) return { kind: "unreachable", reason: "timed out" };
  return { kind: "unreachable", reason: "could not connect" };
}
