import { generateKeyPairSync, sign } from "node:crypto";
import { describe, expect, it } from "vitest";
import { Authenticator, verifyJwt } from "./auth.js";
import { LipSyncError } from "./errors.js";

const ed = generateKeyPairSync("ed25519");
const enc = (o: object) => Buffer.from(JSON.stringify(o)).toString("base64url");
function token(header: object, claims: object): string {
  const data = `${enc(header)}.${enc(claims)}`;
  return `${data}.${sign(null, Buffer.from(data), ed.privateKey).toString("base64url")}`;
}

function reason(f: () => unknown): string {
  try {
    f();
  } catch (err) {
    expect(err).toBeInstanceOf(LipSyncError);
    expect((err as LipSyncError).code).toBe("unauthenticated");
    return (err as LipSyncError).message;
  }
  throw new Error("accepted");
}

describe("verifyJwt", () => {
  it("names what is wrong with a token", () => {
    expect(reason(() => verifyJwt("a.b", ed.publicKey))).toMatch(/three parts/);
    expect(reason(() => verifyJwt("a!.b.c", ed.publicKey))).toMatch(/header is not base64url/);
    // "none" is never accepted, whatever the payload says.
    expect(reason(() => verifyJwt(`${enc({ alg: "none" })}.${enc({ sub: "x" })}.`, ed.publicKey))).toMatch(/RS256, ES256 or EdDSA/);
    expect(reason(() => verifyJwt(token({ alg: "RS256" }, { sub: "x" }), ed.publicKey))).toMatch(/does not match the server's ed25519 key/);
    expect(reason(() => verifyJwt(token({ alg: "EdDSA" }, { exp: 1000 }), ed.publicKey, 2000))).toBe("token has expired");
    expect(reason(() => verifyJwt(token({ alg: "EdDSA" }, { nbf: 5000 }), ed.publicKey, 2000))).toBe("token is not valid yet");
    expect(verifyJwt(token({ alg: "EdDSA" }, { sub: "x", exp: 2010 }), ed.publicKey, 2000)).toMatchObject({ sub: "x" });
  });
});

describe("Authenticator", () => {
  it("is off without tokens or a key: callers are named by address, with every scope", () => {
    const a = new Authenticator({ authTokens: [], adminTokens: [], jwtPublicKey: undefined });
    expect(a.enabled).toBe(false);
    expect(a.authenticate(undefined, "10.0.0.1")).toEqual({ id: "addr:10.0.0.1", admin: true, avatars: undefined, maxSessions: undefined });
  });

  it("checks static tokens, names them by a hash, and reads JWT claims", () => {
    const a = new Authenticator({ authTokens: ["user-1"], adminTokens: ["root-1"], jwtPublicKey: ed.publicKey.export({ type: "spki", format: "pem" }).toString() });
    expect(reason(() => a.authenticate(undefined, ""))).toMatch(/required/);
    expect(reason(() => a.authenticate("user-2", ""))).toBe("the bearer token is not valid");
    const user = a.authenticate("user-1", "");
    expect(user.admin).toBe(false);
    expect(user.id).toMatch(/^token:[0-9a-f]{12}$/);
    expect(user.id).not.toContain("user-1");
    expect(a.authenticate("root-1", "").admin).toBe(true);
    const claims = a.authenticate(token({ alg: "EdDSA" }, { sub: "ann", avatars: ["demo"], max_sessions: 2, scope: "admin" }), "");
    expect(claims).toEqual({ id: "jwt:ann", admin: true, avatars: ["demo"], maxSessions: 2 });
    expect(reason(() => a.authenticate(token({ alg: "EdDSA" }, { avatars: "demo" }), ""))).toMatch(/"avatars" must be a list/);
  });
});
