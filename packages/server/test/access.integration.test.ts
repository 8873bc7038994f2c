/**
 * Access control on a real server: bearer tokens on every protocol (gRPC, gRPC-Web, Connect,
 * WebSocket by header, ?token= and subprotocol), /metrics behind a token while health and
 * readiness stay public, the admin scope, JWTs (RS256, ES256, EdDSA; exp, nbf, avatars,
 * max_sessions, scope), per-client session limits and the rate limit on unary calls.
 */
import { generateKeyPairSync, sign, type KeyObject } from "node:crypto";
import { Code, ConnectError } from "@connectrpc/connect";
import { createLipSyncClient, LipSyncSocket } from "@lipsync/client/node";
import { WebSocket } from "ws";
import { afterAll, afterEach, beforeAll, describe, expect, it } from "vitest";
import type { RunningServer } from "../src/server.js";
import { testServer } from "./harness.js";

const TOKEN = "s3cret-token";
const ADMIN = "admin-token-1";

async function codeOf(p: Promise<unknown>): Promise<Code | undefined> {
  try {
    await p;
    return undefined;
  } catch (err) {
    return ConnectError.from(err).code;
  }
}

/** Opens /ws and starts a session: "started", or the close code and reason. */
function wsSession(url: string, options: { headers?: Record<string, string>; protocols?: string[]; avatar?: string } = {}): Promise<{ ws: WebSocket; started: boolean; code?: number; reason?: string; protocol: string }> {
  return new Promise((resolve, reject) => {
    const ws = new WebSocket(url, options.protocols ?? [], { headers: options.headers ?? {} });
    const timer = setTimeout(() => reject(new Error("no answer in 10 s")), 10_000);
    ws.on("open", () => ws.send(JSON.stringify({ type: "start", avatar: options.avatar ?? "demo", sample_rate: 16000 })));
    ws.on("message", (m, binary) => {
      if (!binary && JSON.parse(m.toString()).type === "started") {
        clearTimeout(timer);
        resolve({ ws, started: true, protocol: ws.protocol });
      }
    });
    ws.on("error", () => undefined);
    ws.on("close", (code, reason) => {
      clearTimeout(timer);
      resolve({ ws, started: false, code, reason: reason.toString(), protocol: ws.protocol });
    });
  });
}

const socketUrl = (base: string) => `${base.replace(/^http/, "ws")}/ws`;

function jwt(alg: "RS256" | "ES256" | "EdDSA", key: KeyObject, claims: Record<string, unknown>): string {
  const enc = (o: object) => Buffer.from(JSON.stringify(o)).toString("base64url");
  const data = `${enc({ alg, typ: "JWT" })}.${enc(claims)}`;
  const sig = alg === "RS256" ? sign("sha256", Buffer.from(data), key)
    : alg === "ES256" ? sign("sha256", Buffer.from(data), { key, dsaEncoding: "ieee-p1363" })
      : sign(null, Buffer.from(data), key);
  return `${data}.${sig.toString("base64url")}`;
}

describe("static bearer tokens", () => {
  let server: RunningServer;
  beforeAll(async () => {
    server = await testServer({ authTokens: [TOKEN], adminTokens: [ADMIN] });
  });
  afterAll(async () => {
    await server?.close();
  });

  for (const protocol of ["grpc", "grpc-web", "connect"] as const) {
    it(`refuses ${protocol} calls without a valid token (UNAUTHENTICATED) and serves them with one`, async () => {
      expect(await codeOf(createLipSyncClient({ baseUrl: server.url, protocol }).listAvatars())).toBe(Code.Unauthenticated);
      expect(await codeOf(createLipSyncClient({ baseUrl: server.url, protocol, token: "wrong" }).listAvatars())).toBe(Code.Unauthenticated);
      const avatars = await createLipSyncClient({ baseUrl: server.url, protocol, token: TOKEN }).listAvatars();
      expect(avatars.map((a) => a.name)).toContain("demo");
    });
  }

  it("answers 401 over Connect's HTTP, and keeps health checks public", async () => {
    const res = await fetch(`${server.url}/lipsync.v1.LipSyncService/ListAvatars`, { method: "POST", headers: { "content-type": "application/json" }, body: "{}" });
    expect(res.status).toBe(401);
    expect(((await res.json()) as { code: string }).code).toBe("unauthenticated");
    expect((await fetch(`${server.url}/healthz`)).status).toBe(200);
    expect((await fetch(`${server.url}/readyz`)).status).toBe(200);
    const check = await fetch(`${server.url}/grpc.health.v1.Health/Check`, { method: "POST", headers: { "content-type": "application/json" }, body: "{}" });
    expect(await check.json()).toEqual({ status: "SERVING" });
  });

  it("puts /metrics behind a token", async () => {
    const none = await fetch(`${server.url}/metrics`);
    expect(none.status).toBe(401);
    expect(none.headers.get("www-authenticate")).toBe("Bearer");
    expect((await fetch(`${server.url}/metrics`, { headers: { authorization: "Bearer nope" } })).status).toBe(401);
    const ok = await fetch(`${server.url}/metrics`, { headers: { authorization: `Bearer ${TOKEN}` } });
    expect(ok.status).toBe(200);
    expect(await ok.text()).toContain("lipsync_");
  });

  it("refuses GetStats without a token and serves it with one", async () => {
    expect(await codeOf(createLipSyncClient({ baseUrl: server.url }).rpc.getStats({}))).toBe(Code.Unauthenticated);
    expect((await createLipSyncClient({ baseUrl: server.url, token: TOKEN }).rpc.getStats({})).uptimeSeconds).toBeGreaterThan(0);
  });

  it("closes a WebSocket without a valid token with 4401, and accepts the token by header, query or subprotocol", async () => {
    const url = socketUrl(server.url);
    const none = await wsSession(url);
    expect(none).toMatchObject({ started: false, code: 4401 });
    expect(none.reason).toMatch(/bearer token is required/);
    expect(await wsSession(`${url}?token=wrong`)).toMatchObject({ started: false, code: 4401, reason: "the bearer token is not valid" });

    for (const options of [{ headers: { authorization: `Bearer ${TOKEN}` } }, { protocols: ["lipsync", `bearer.${TOKEN}`] }]) {
      const s = await wsSession(url, options);
      expect(s.started).toBe(true);
      s.ws.close();
    }
    const q = await wsSession(`${url}?token=${TOKEN}`);
    expect(q.started).toBe(true);
    q.ws.close();
    // The server answers the "lipsync" subprotocol: the token is never echoed back.
    const p = await wsSession(url, { protocols: ["lipsync", `bearer.${TOKEN}`] });
    expect(p.protocol).toBe("lipsync");
    p.ws.close();
  });

  it("lets the client SDK's socket pass its token", async () => {
    const socket = await LipSyncSocket.connect({ url: socketUrl(server.url), WebSocket: WebSocket as never, token: TOKEN });
    const started = await socket.start({ avatar: "demo", sampleRate: 16000 });
    expect(started.samplesPerFrame).toBeGreaterThan(0);
    socket.close();
  });

  it("needs an admin token for LoadAvatar and UnloadAvatar (PERMISSION_DENIED)", async () => {
    const user = createLipSyncClient({ baseUrl: server.url, token: TOKEN });
    expect(await codeOf(user.rpc.loadAvatar({ name: "demo" }))).toBe(Code.PermissionDenied);
    expect(await codeOf(user.rpc.unloadAvatar({ name: "demo" }))).toBe(Code.PermissionDenied);
    const admin = createLipSyncClient({ baseUrl: server.url, token: ADMIN });
    expect((await admin.rpc.loadAvatar({ name: "demo" })).avatar?.name).toBe("demo");
  });
});

describe("JWT bearer tokens", () => {
  const keys = {
    RS256: generateKeyPairSync("rsa", { modulusLength: 2048 }),
    ES256: generateKeyPairSync("ec", { namedCurve: "P-256" }),
    EdDSA: generateKeyPairSync("ed25519"),
  };
  const now = () => Math.floor(Date.now() / 1000);
  const servers: RunningServer[] = [];
  afterAll(async () => {
    for (const s of servers) await s.close();
  });
  const serverFor = async (alg: keyof typeof keys, options = {}) => {
    const s = await testServer({ jwtPublicKey: keys[alg].publicKey.export({ type: "spki", format: "pem" }).toString(), ...options });
    servers.push(s);
    return s;
  };

  for (const alg of ["RS256", "ES256", "EdDSA"] as const) {
    it(`verifies ${alg}: a valid token passes; expired, not yet valid, forged or foreign ones are UNAUTHENTICATED`, async () => {
      const server = await serverFor(alg);
      const call = (token: string) => codeOf(createLipSyncClient({ baseUrl: server.url, token }).listAvatars());
      const key = keys[alg].privateKey;
      expect(await call(jwt(alg, key, { sub: "alice", exp: now() + 600 }))).toBeUndefined();
      expect(await call(jwt(alg, key, { sub: "alice", exp: now() - 3600 }))).toBe(Code.Unauthenticated);
      expect(await call(jwt(alg, key, { sub: "alice", nbf: now() + 3600 }))).toBe(Code.Unauthenticated);
      const other = alg === "EdDSA" ? generateKeyPairSync("ed25519") : alg === "ES256" ? generateKeyPairSync("ec", { namedCurve: "P-256" }) : generateKeyPairSync("rsa", { modulusLength: 2048 });
      expect(await call(jwt(alg, other.privateKey, { sub: "alice" }))).toBe(Code.Unauthenticated);
      const [h, , s] = jwt(alg, key, { sub: "alice" }).split(".");
      expect(await call(`${h}.${Buffer.from(JSON.stringify({ sub: "mallory", scope: "admin" })).toString("base64url")}.${s}`)).toBe(Code.Unauthenticated);
    });
  }

  it("limits a token to its avatars (PERMISSION_DENIED, WebSocket 4403) and its sessions, and honours the admin scope", async () => {
    const server = await serverFor("EdDSA");
    const key = keys.EdDSA.privateKey;
    const limited = jwt("EdDSA", key, { sub: "bob", avatars: ["someone-else"], exp: now() + 600 });
    const client = createLipSyncClient({ baseUrl: server.url, token: limited });
    expect(await codeOf(client.getAvatar("demo"))).toBe(Code.PermissionDenied);
    expect(await client.listAvatars()).toEqual([]);
    expect(await wsSession(`${socketUrl(server.url)}?token=${limited}`)).toMatchObject({ started: false, code: 4403 });

    const one = jwt("EdDSA", key, { sub: "carol", max_sessions: 1 });
    const a = await wsSession(`${socketUrl(server.url)}?token=${one}`);
    expect(a.started).toBe(true);
    const b = await wsSession(`${socketUrl(server.url)}?token=${one}`);
    expect(b).toMatchObject({ started: false, code: 4429 });
    expect(b.reason).toMatch(/limit of 1 sessions/);
    a.ws.close();

    const user = jwt("EdDSA", key, { sub: "dave" });
    expect(await codeOf(createLipSyncClient({ baseUrl: server.url, token: user }).rpc.loadAvatar({ name: "demo" }))).toBe(Code.PermissionDenied);
    const admin = jwt("EdDSA", key, { sub: "erin", scope: "read admin" });
    expect(await codeOf(createLipSyncClient({ baseUrl: server.url, token: admin }).rpc.loadAvatar({ name: "demo" }))).toBeUndefined();
  });
});

describe("limits without authentication", () => {
  let server: RunningServer | undefined;
  afterEach(async () => {
    await server?.close();
    server = undefined;
  });

  it("limits sessions per remote address", async () => {
    server = await testServer({ maxSessionsPerClient: 1 });
    const a = await wsSession(socketUrl(server.url));
    expect(a.started).toBe(true);
    expect(await wsSession(socketUrl(server.url))).toMatchObject({ started: false, code: 4429 });
    a.ws.close();
  });

  it("rate-limits unary calls per client with RESOURCE_EXHAUSTED and retry-after", async () => {
    server = await testServer({ rateLimit: 1, rateBurst: 3 });
    const client = createLipSyncClient({ baseUrl: server.url });
    for (let i = 0; i < 3; i++) await client.listAvatars();
    let err: ConnectError | undefined;
    try {
      await client.listAvatars();
    } catch (e) {
      err = ConnectError.from(e);
    }
    expect(err?.code).toBe(Code.ResourceExhausted);
    expect(err?.metadata.get("retry-after")).toBe("1");
    // Streams are not rate-limited: a session still opens.
    const s = await wsSession(socketUrl(server.url));
    expect(s.started).toBe(true);
    s.ws.close();
  });
});
