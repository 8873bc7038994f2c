/**
 * The LiveKit test fixture itself: a real livekit-server --dev on loopback ports that accepts
 * tokens minted with its dev key, refuses others, and is gone after stop().
 */
import { spawn } from "node:child_process";
import path from "node:path";
import { RoomServiceClient } from "livekit-server-sdk";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { liveKitServerBinary, startLiveKitServer, type LiveKitServer } from "./livekit-server.js";
import { mintToken } from "./livekit-token.js";

const binary = liveKitServerBinary();
const missing = "missing" in binary ? binary.missing : undefined;
if (missing) console.warn(`skipping the LiveKit fixture tests: ${missing}`);

describe.skipIf(missing !== undefined)("livekit-server fixture", () => {
  let lk: LiveKitServer;
  beforeAll(async () => {
    lk = await startLiveKitServer();
  });
  afterAll(async () => {
    await lk?.stop();
  });

  it("listens on loopback only, on the ports it reports", async () => {
    expect(lk.url).toMatch(/^ws:\/\/127\.0\.0\.1:\d+$/);
    expect(new Set(Object.values(lk.ports)).size).toBe(3);
    expect((await fetch(lk.httpUrl)).status).toBe(200);
  });

  it("answers RoomService calls signed with the dev key and refuses another secret", async () => {
    const rooms = new RoomServiceClient(lk.httpUrl, lk.apiKey, lk.apiSecret);
    await rooms.createRoom({ name: "fixture-room" });
    expect((await rooms.listRooms()).map((r) => r.name)).toContain("fixture-room");
    const wrong = new RoomServiceClient(lk.httpUrl, lk.apiKey, "not-the-secret-of-this-server");
    await expect(wrong.listRooms()).rejects.toThrow();
  });

  it("mints tokens that carry the kind and attributes the avatar protocol uses", async () => {
    const token = await mintToken(lk, { room: "r", identity: "avatar", kind: "agent", attributes: { "lk.publish_on_behalf": "agent" } });
    const claims = JSON.parse(Buffer.from(token.split(".")[1]!, "base64url").toString()) as Record<string, unknown>;
    expect(claims.sub).toBe("avatar");
    expect(claims.kind).toBe("agent");
    expect(claims.attributes).toEqual({ "lk.publish_on_behalf": "agent" });
    expect((claims.video as { room: string }).room).toBe("r");
  });

  it("the CLI prints the server's address, and the server stops when the CLI's stdin closes", async () => {
    const cli = spawn(process.execPath, ["--import", "tsx", path.join(import.meta.dirname, "livekit-cli.ts"), "start"], { stdio: ["pipe", "pipe", "pipe"] });
    try {
      const line = await new Promise<string>((resolve, reject) => {
        let out = "";
        let err = "";
        const timer = setTimeout(() => reject(new Error(`no address from the CLI within 30 s: ${err}`)), 30_000);
        cli.stderr!.on("data", (b: Buffer) => (err += b.toString()));
        cli.stdout!.on("data", (b: Buffer) => {
          out += b.toString();
          if (out.includes("\n")) {
            clearTimeout(timer);
            resolve(out.split("\n")[0]!);
          }
        });
        cli.once("exit", (code) => reject(new Error(`CLI exited ${code}: ${err}`)));
      });
      const info = JSON.parse(line) as { httpUrl: string; pid: number };
      expect((await fetch(info.httpUrl)).status).toBe(200);
      const exited = new Promise<number | null>((resolve) => cli.once("exit", resolve));
      cli.stdin!.end();
      const code = await Promise.race([exited, new Promise<string>((r) => setTimeout(() => r("timeout"), 15_000))]);
      expect(code).toBe(0);
      await expect(fetch(info.httpUrl, { signal: AbortSignal.timeout(2000) })).rejects.toThrow();
    } finally {
      cli.kill("SIGKILL");
    }
  });
});
