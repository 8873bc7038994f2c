/**
 * Who is calling: bearer tokens checked against the configured static tokens or verified as
 * JWTs with a public key, turned into a `Principal` that carries what the caller may do. No
 * transport here: transport/access.ts finds the token in a request and maps refusals.
 *
 * - Static tokens (`authTokens`): any avatar, no admin scope. `adminTokens`: admin scope too.
 * - JWTs (`jwtPublicKey`, RS256, ES256 or EdDSA, checked with node:crypto): `exp` and `nbf` are
 *   enforced; optional claims `avatars` (names the token may use), `max_sessions` (its session
 *   limit) and `scope` ("admin" among space-separated scopes: LoadAvatar and UnloadAvatar).
 * - With none of these configured, authentication is off: every caller is a principal named by
 *   its address, with the admin scope (the server binds 127.0.0.1 by default).
 *
 * Tokens are never logged or echoed: a principal is named by a hash of its token or the JWT's
 * `sub`.
 */
import { createHash, createPublicKey, timingSafeEqual, verify, type KeyObject } from "node:crypto";
import { LipSyncError } from "./errors.js";

export interface Principal {
  /** Stable name for per-client limits and logs: "token:<hash>", "jwt:<sub>" or "addr:<ip>". */
  id: string;
  admin: boolean;
  /** Avatars this caller may use; undefined: any. */
  avatars: readonly string[] | undefined;
  /** This caller's own limit on concurrent sessions; undefined: the server's. */
  maxSessions: number | undefined;
}

export interface AuthOptions {
  authTokens: readonly string[];
  adminTokens: readonly string[];
  /** PEM public key (RSA, EC P-256 or Ed25519) for JWT verification. */
  jwtPublicKey: string | undefined;
}

/** Clock skew tolerated on `exp` and `nbf`, seconds. */
const CLOCK_SKEW_S = 30;

const ALG_KEY_TYPE: Record<string, string> = { RS256: "rsa", ES256: "ec", EdDSA: "ed25519" };

function unauthenticated(message: string): LipSyncError {
  return new LipSyncError("unauthenticated", message);
}

function tokenId(token: string): string {
  return `token:${createHash("sha256").update(token).digest("hex").slice(0, 12)}`;
}

function sameSecret(a: string, b: string): boolean {
  const x = createHash("sha256").update(a).digest();
  const y = createHash("sha256").update(b).digest();
  return timingSafeEqual(x, y);
}

function base64url(part: string, what: string): Buffer {
  if (!/^[A-Za-z0-9_-]*$/.test(part)) throw unauthenticated(`malformed token: ${what} is not base64url`);
  return Buffer.from(part, "base64url");
}

function jsonPart(part: string, what: string): Record<string, unknown> {
  let v: unknown;
  try {
    v = JSON.parse(base64url(part, what).toString("utf8"));
  } catch (err) {
    if (err instanceof LipSyncError) throw err;
    throw unauthenticated(`malformed token: ${what} is not JSON`);
  }
  if (typeof v !== "object" || v === null || Array.isArray(v)) throw unauthenticated(`malformed token: ${what} is not a JSON object`);
  return v as Record<string, unknown>;
}

/** Verifies a compact JWS and returns its claims; throws UNAUTHENTICATED with the reason. */
export function verifyJwt(token: string, key: KeyObject, nowSeconds = Date.now() / 1000): Record<string, unknown> {
  const parts = token.split(".");
  if (parts.length !== 3) throw unauthenticated("malformed token: a JWT has three parts");
  const [h, p, s] = parts as [string, string, string];
  const header = jsonPart(h, "header");
  const alg = header.alg;
  if (typeof alg !== "string" || !(alg in ALG_KEY_TYPE)) throw unauthenticated(`token algorithm must be RS256, ES256 or EdDSA, got ${JSON.stringify(alg)}`);
  if (ALG_KEY_TYPE[alg] !== key.asymmetricKeyType) throw unauthenticated(`token algorithm ${alg} does not match the server's ${key.asymmetricKeyType} key`);
  const data = Buffer.from(`${h}.${p}`);
  const signature = base64url(s, "signature");
  const ok = alg === "RS256" ? verify("sha256", data, key, signature)
    : alg === "ES256" ? verify("sha256", data, { key, dsaEncoding: "ieee-p1363" }, signature)
      : verify(null, data, key, signature);
  if (!ok) throw unauthenticated("token signature is not valid");
  const claims = jsonPart(p, "payload");
  if (claims.exp !== undefined && (typeof claims.exp !== "number" || nowSeconds > claims.exp + CLOCK_SKEW_S)) throw unauthenticated("token has expired");
  if (claims.nbf !== undefined && (typeof claims.nbf !== "number" || nowSeconds + CLOCK_SKEW_S < claims.nbf)) throw unauthenticated("token is not valid yet");
  return claims;
}

function principalOfClaims(token: string, claims: Record<string, unknown>): Principal {
  const avatars = claims.avatars;
  if (avatars !== undefined && !(Array.isArray(avatars) && avatars.every((a) => typeof a === "string"))) throw unauthenticated('token claim "avatars" must be a list of names');
  const max = claims.max_sessions;
  if (max !== undefined && !(typeof max === "number" && Number.isInteger(max) && max >= 0)) throw unauthenticated('token claim "max_sessions" must be an integer >= 0');
  const scope = claims.scope;
  const scopes = typeof scope === "string" ? scope.split(" ") : Array.isArray(scope) ? scope.filter((x) => typeof x === "string") : [];
  const sub = typeof claims.sub === "string" && claims.sub !== "" ? `jwt:${claims.sub.slice(0, 64)}` : tokenId(token);
  return { id: sub, admin: scopes.includes("admin"), avatars: avatars as string[] | undefined, maxSessions: max as number | undefined };
}

export class Authenticator {
  private readonly key: KeyObject | undefined;

  constructor(private readonly options: AuthOptions) {
    this.key = options.jwtPublicKey ? createPublicKey(options.jwtPublicKey) : undefined;
    if (this.key && !Object.values(ALG_KEY_TYPE).includes(this.key.asymmetricKeyType ?? "")) {
      throw new Error(`JWT public key must be RSA, EC (P-256) or Ed25519, got ${this.key.asymmetricKeyType}`);
    }
  }

  /** Whether callers must present a token. */
  get enabled(): boolean {
    return this.options.authTokens.length > 0 || this.options.adminTokens.length > 0 || this.key !== undefined;
  }

  /** The caller behind `token` (undefined: none given), or UNAUTHENTICATED. */
  authenticate(token: string | undefined, remoteAddress: string): Principal {
    if (!this.enabled) return { id: `addr:${remoteAddress}`, admin: true, avatars: undefined, maxSessions: undefined };
    if (token === undefined || token === "") throw unauthenticated("a bearer token is required (authorization: Bearer TOKEN)");
    if (this.options.adminTokens.some((t) => sameSecret(t, token))) return { id: tokenId(token), admin: true, avatars: undefined, maxSessions: undefined };
    if (this.options.authTokens.some((t) => sameSecret(t, token))) return { id: tokenId(token), admin: false, avatars: undefined, maxSessions: undefined };
    if (this.key && token.split(".").length === 3) return principalOfClaims(token, verifyJwt(token, this.key));
    throw unauthenticated("the bearer token is not valid");
  }
}

/** PERMISSION_DENIED unless `principal` may use avatar `name`. */
export function checkAvatarAllowed(principal: Principal | undefined, name: string): void {
  if (principal?.avatars && !principal.avatars.includes(name)) {
    throw new LipSyncError("permission_denied", `this token does not allow avatar "${name.slice(0, 64)}"`);
  }
}

/** PERMISSION_DENIED unless `principal` has the admin scope. */
export function checkAdmin(principal: Principal | undefined, what: string): void {
  if (principal && !principal.admin) throw new LipSyncError("permission_denied", `${what} needs the admin scope (an --admin-token, or a JWT with scope "admin")`);
}
