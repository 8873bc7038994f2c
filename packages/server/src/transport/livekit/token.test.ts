import { describe, expect, it } from "vitest";
import { LipSyncError } from "../../errors.js";
import { checkLiveKitUrl, connectFailure, inspectToken } from "./token.js";

const jwt = (claims: object) => `eyJhbGciOiJIUzI1NiJ9.${Buffer.from(JSON.stringify(claims)).toString("base64url")}.c2ln`;
const NOW = 1_800_000_000;

function refusal(f: () => unknown): string {
  try {
    f();
  } catch (e) {
    expect(e).toBeInstanceOf(LipSyncError);
    expect((e as LipSyncError).code).toBe("invalid_argument");
    return (e as LipSyncError).message;
  }
  throw new Error("not refused");
}

describe("inspectToken", () => {
  it("reads the identity, room, expiry, kind and the agent the avatar publishes for", () => {
    expect(inspectToken(jwt({ sub: "avatar", exp: NOW + 60, kind: "agent", video: { room: "r", roomJoin: true }, attributes: { "lk.publish_on_behalf": "agent-1" } }), NOW))
      .toEqual({ identity: "avatar", room: "r", exp: NOW + 60, kind: "agent", publishOnBehalf: "agent-1" });
  });

  it("refuses what no LiveKit server would take, saying why", () => {
    expect(refusal(() => inspectToken("", NOW))).toMatch(/token is required/);
    expect(refusal(() => inspectToken("a.b", NOW))).toMatch(/not a LiveKit participant token/);
    expect(refusal(() => inspectToken("a.%%%.c", NOW))).toMatch(/not a LiveKit participant token/);
    expect(refusal(() => inspectToken(jwt({ video: { room: "r", roomJoin: true } }), NOW))).toMatch(/no participant identity/);
    expect(refusal(() => inspectToken(jwt({ sub: "a", video: { room: "r" } }), NOW))).toMatch(/no room_join grant/);
    expect(refusal(() => inspectToken(jwt({ sub: "a", video: { roomJoin: true } }), NOW))).toMatch(/no room_join grant/);
    expect(refusal(() => inspectToken(jwt({ sub: "a", exp: NOW - 30, video: { room: "r", roomJoin: true } }), NOW))).toBe("token expired 30 s ago");
  });
});

describe("checkLiveKitUrl", () => {
  it("takes ws, wss, http and https URLs with a host", () => {
    for (const u of ["ws://127.0.0.1:7880", "wss://lk.example.com", "http://localhost:7880", "https://lk.example.com/"]) expect(checkLiveKitUrl(u).host).not.toBe("");
  });

  it("refuses anything else, and credentials in the URL", () => {
    expect(refusal(() => checkLiveKitUrl(""))).toMatch(/required/);
    expect(refusal(() => checkLiveKitUrl("not a url"))).toMatch(/not a URL/);
    expect(refusal(() => checkLiveKitUrl("ftp://host/"))).toMatch(/must be ws/);
    expect(refusal(() => checkLiveKitUrl("wss://user:pw@host/"))).toMatch(/credentials/);
  });
});

describe("connectFailure", () => {
  it("keeps LiveKit's reason and never the token its messages quote", () => {
    const token = jwt({ sub: "a" });
    const f = connectFailure(`engine: signal failure: client error: 401 Unauthorized - invalid token: ${token}, error: token is expired`);
    expect(f).toEqual({ kind: "refused", reason: "token is expired" });
    expect(connectFailure("client error: 401 Unauthorized - invalid authorization token")).toEqual({ kind: "refused", reason: "invalid authorization token" });
    expect(connectFailure("transport connection error: IO error: Connection refused (os error 111)")).toEqual({ kind: "unreachable", reason: "connection refused" });
    expect(connectFailure("failed to lookup address information: Name or service not known").reason).toBe("host not found");
    expect(connectFailure(`something new ${token}`).reason).not.toContain(token);
  });
});
