// HTTP/2 connections whose peer is gone are closed: Node's HTTP/2 server keeps a session open
// after answering a malformed frame header with GOAWAY, stops reading it, and so never sees the
// peer close (found by `pnpm fuzz`: 40 bytes leaked one socket for good). Keepalive pings find
// such sessions, and peers that vanished without closing.
import http2 from "node:http2";
import net from "node:net";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { RunningServer } from "../src/server.js";
import { testServer } from "./harness.js";

let server: RunningServer;
beforeAll(async () => {
  server = await testServer({ http2KeepaliveSeconds: 0.2 });
});
afterAll(() => server?.close());

/** TCP sockets open in this process (the server's, once the clients are gone). */
const tcpSockets = () => process.getActiveResourcesInfo().filter((r) => r === "TCPSocketWrap").length;

async function waitFor(check: () => boolean, ms: number): Promise<boolean> {
  for (const until = performance.now() + ms; performance.now() < until; await new Promise((r) => setTimeout(r, 50))) if (check()) return true;
  return check();
}

const GOAWAY = 7;

/** The types of the complete HTTP/2 frames in `bytes` (9-byte headers: length, type, flags, stream). */
function frameTypes(bytes: Buffer): number[] {
  const types: number[] = [];
  for (let at = 0; at + 9 <= bytes.length; at += 9 + bytes.readUIntBE(at, 3)) types.push(bytes[at + 3]!);
  return types;
}

/** The connection preface, SETTINGS, then a HEADERS frame header claiming 3.8 MB (past the 16 KiB maximum). */
function malformed(): Buffer {
  const settings = Buffer.from([0, 0, 0, 4, 0, 0, 0, 0, 0]);
  const header = Buffer.alloc(9);
  header.writeUIntBE(3_805_375, 0, 3);
  header[3] = 1;
  header[4] = 9;
  return Buffer.concat([Buffer.from("PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n"), settings, header, Buffer.alloc(19)]);
}

describe("HTTP/2 liveness", () => {
  it("closes the connections of peers that sent a malformed frame and left", async () => {
    const port = Number(new URL(server.url).port);
    const before = tcpSockets();
    for (let i = 0; i < 3; i++) {
      const c = net.connect(port, "127.0.0.1");
      c.on("error", () => undefined);
      await new Promise<void>((resolve) => c.on("connect", () => c.write(malformed(), () => resolve())));
      // The server's GOAWAY (after its SETTINGS and the ACK of ours) says it saw the error.
      const frames = await new Promise<number[]>((resolve) => {
        let got = Buffer.alloc(0);
        const timer = setTimeout(() => resolve(frameTypes(got)), 2000);
        c.on("data", (d: Buffer) => {
          got = Buffer.concat([got, d]);
          if (frameTypes(got).includes(GOAWAY)) {
            clearTimeout(timer);
            resolve(frameTypes(got));
          }
        });
      });
      c.destroy();
      expect(frames, "the server answered the malformed frame with GOAWAY").toContain(GOAWAY);
    }
    expect(await waitFor(() => tcpSockets() <= before, 5000), `${tcpSockets() - before} server sockets still open`).toBe(true);
  });

  it("keeps a healthy idle connection and its idle Speak-like stream open across many pings", async () => {
    const session = http2.connect(server.url);
    let closed = false;
    let pings = 0;
    session.on("close", () => (closed = true));
    // Node's client answers the server's keepalive pings itself and reports each one.
    session.on("ping", () => pings++);
    const stream = session.request({ ":method": "POST", ":path": "/lipsync.v1.LipSyncService/Speak", "content-type": "application/grpc", te: "trailers" });
    stream.on("error", () => undefined);
    // Seven keepalive rounds with nothing sent on the stream.
    expect(await waitFor(() => pings >= 7 || closed, 10_000), `${pings} pings`).toBe(true);
    expect(closed).toBe(false);
    expect(stream.closed).toBe(false);
    stream.close(http2.constants.NGHTTP2_CANCEL);
    session.close();
  });
});
