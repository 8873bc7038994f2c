// The one-port listener's bounds on connections, with a trivial handler on 127.0.0.1:0:
// connections per address, first bytes, HTTP/1.1 headers, HTTP/2 SETTINGS, and GOAWAY at the
// start of a drain, also for a connection that was still sending its preface.
import { EventEmitter } from "node:events";
import http from "node:http";
import http2 from "node:http2";
import net from "node:net";
import { afterEach, describe, expect, it } from "vitest";
import { within } from "../../test/wait.js";
import { DEFAULTS } from "../config.js";
import { addressKey, ConnectionGate, type GateSocket } from "./conn-limits.js";
import { createOnePortServer, type ConnectionLimits, type OnePortServer } from "./one-port.js";

const PREFACE = "PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n";
const SETTINGS = Buffer.from([0, 0, 0, 4, 0, 0, 0, 0, 0]);
const servers: OnePortServer[] = [];
const sockets: net.Socket[] = [];

afterEach(async () => {
  for (const s of sockets.splice(0)) s.destroy();
  await Promise.all(servers.splice(0).map((s) => s.close(0)));
});

async function serve(conn: Partial<ConnectionLimits> = {}, keepaliveMs?: number): Promise<{ port: number; server: OnePortServer; refused: string[] }> {
  const refused: string[] = [];
  const server = createOnePortServer(
    (_req, res) => res.end("ok"),
    (_req, socket) => socket.end("HTTP/1.1 404 Not Found\r\n\r\n"),
    undefined,
    { maxConcurrentStreams: 16, maxSessionMemoryMb: 10, resets: { burst: 100, rate: 10 }, ...(keepaliveMs ? { keepaliveMs } : {}) },
    { maxPerAddress: 0, handshakeTimeoutMs: 300, headersTimeoutMs: 300, onRefused: (k) => refused.push(k), ...conn },
  );
  servers.push(server);
  return { port: await server.listen(0, "127.0.0.1"), server, refused };
}

/** A TCP connection from `from` (any 127/8 address reaches a server on 127.0.0.1), with what it receives. */
function connect(port: number, from = "127.0.0.1"): Promise<{ socket: net.Socket; received: () => string; closed: Promise<number> }> {
  return new Promise((resolve, reject) => {
    const socket = net.connect({ port, host: "127.0.0.1", localAddress: from });
    sockets.push(socket);
    let data = "";
    const t0 = performance.now();
    const closed = new Promise<number>((r) => socket.once("close", () => r(performance.now() - t0)));
    socket.on("data", (d) => (data += d.toString("latin1")));
    socket.on("error", () => undefined);
    socket.once("connect", () => resolve({ socket, received: () => data, closed }));
    socket.once("error", reject);
  });
}

describe("connection limits", () => {
  it("closes a connection that sends nothing, or half a preface, within the handshake timeout", async () => {
    const { port } = await serve();
    const silent = await connect(port);
    const partial = await connect(port);
    partial.socket.write("PRI * HTTP/2");
    expect(await within(silent.closed, 3000, "silent connection closed")).toBeGreaterThanOrEqual(250);
    await within(partial.closed, 3000, "half-preface connection closed");
  });

  it("answers HTTP/1.1 headers that never finish with 408 and closes the connection", async () => {
    const { port } = await serve({ handshakeTimeoutMs: 5000, headersTimeoutMs: 400 });
    const slow = await connect(port);
    slow.socket.write("POST / HTTP/1.1\r\nHost: x\r\n");
    await within(slow.closed, 3000, "connection with unfinished headers closed");
    expect(slow.received()).toMatch(/^HTTP\/1\.1 408 /);
    // A whole request on the same server is answered.
    const ok = await connect(port);
    ok.socket.write("GET / HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n");
    await within(ok.closed, 3000, "answered connection closed");
    expect(ok.received()).toMatch(/^HTTP\/1\.1 200 /);
  });

  it("keeps an idle HTTP/1.1 connection for keepAliveTimeoutMs, and longer by default than Node's agent keeps its sockets", async () => {
    const { port } = await serve({ handshakeTimeoutMs: 5000, headersTimeoutMs: 5000, keepAliveTimeoutMs: 700 });
    const kept = await connect(port);
    kept.socket.write("GET / HTTP/1.1\r\nHost: x\r\n\r\n");
    const closedAfter = await within(kept.closed, 5000, "idle kept-alive connection closed");
    expect(kept.received()).toMatch(/^HTTP\/1\.1 200 /);
    expect(closedAfter).toBeGreaterThanOrEqual(600);
    // A client reusing an idle socket the server closes at the same moment gets ECONNRESET:
    // the server must be the one that waits longer (Node's default is 5 s on both sides).
    expect(DEFAULTS.keepAliveTimeoutMs).toBeGreaterThan(Number((http.globalAgent as unknown as { options: { timeout?: number } }).options.timeout ?? 5000));
  });

  it("closes an HTTP/2 connection that sent the preface but never its SETTINGS, and keeps one that did", async () => {
    const { port } = await serve({ handshakeTimeoutMs: 300 });
    const mute = await connect(port);
    mute.socket.write(PREFACE);
    const good = await connect(port);
    good.socket.write(Buffer.concat([Buffer.from(PREFACE), SETTINGS]));
    await within(mute.closed, 3000, "connection without SETTINGS closed");
    // Twice the timeout later the good one is still open.
    await new Promise((r) => setTimeout(r, 600));
    expect(good.socket.destroyed).toBe(false);
  });

  it("closes an HTTP/2 connection stuck in a header block that never ends (it cannot answer the keepalive ping)", async () => {
    const { port } = await serve({ handshakeTimeoutMs: 5000 }, 300);
    const stuck = await connect(port);
    const block = Buffer.from([0x83, 0x86]); // :method POST, :scheme http; no END_HEADERS, no CONTINUATION
    const headers = Buffer.from([0, 0, block.length, 1, 0, 0, 0, 0, 1]);
    stuck.socket.write(Buffer.concat([Buffer.from(PREFACE), SETTINGS, headers, block]));
    expect(await within(stuck.closed, 3000, "stuck connection closed")).toBeGreaterThanOrEqual(300);
  });

  it("refuses connections past the per-address limit at once, and only for that address", async () => {
    const { port, refused } = await serve({ maxPerAddress: 3, handshakeTimeoutMs: 10_000 });
    const held = await Promise.all([1, 2, 3].map(() => connect(port, "127.0.0.2")));
    const extra = await connect(port, "127.0.0.2");
    expect(await within(extra.closed, 2000, "the fourth connection closed")).toBeLessThan(2000);
    for (const h of held) expect(h.socket.destroyed).toBe(false);
    expect(refused).toEqual(["127.0.0.2"]);
    // Another address is served while 127.0.0.2 is at its limit.
    const other = await connect(port, "127.0.0.1");
    other.socket.write("GET / HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n");
    await within(other.closed, 3000, "other address answered");
    expect(other.received()).toMatch(/^HTTP\/1\.1 200 /);
    // A held connection closes: its address may connect again.
    held[0]!.socket.destroy();
    await held[0]!.closed;
    await new Promise((r) => setImmediate(r));
    const again = await connect(port, "127.0.0.2");
    again.socket.write("GET / HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n");
    await within(again.closed, 3000, "a new connection once under the limit");
    expect(again.received()).toMatch(/^HTTP\/1\.1 200 /);
  });

  it("counts IPv6 clients by their /64", () => {
    expect(addressKey("2001:db8:1:2:aaaa::1")).toBe("2001:db8:1:2::/64");
    expect(addressKey("2001:db8:1:2:bbbb:cccc:dddd:eeee")).toBe("2001:db8:1:2::/64");
    expect(addressKey("::ffff:10.1.2.3")).toBe("10.1.2.3");
    const gate = new ConnectionGate(1);
    const fake = (remoteAddress: string) => Object.assign(new EventEmitter(), { remoteAddress }) as unknown as GateSocket;
    expect(gate.admit(fake("2001:db8:1:2::5"))).toBe(true);
    expect(gate.admit(fake("2001:db8:1:2::6"))).toBe(false);
    expect(gate.admit(fake("2001:db8:1:3::6"))).toBe(true);
  });
});

describe("drain", () => {
  it("sends GOAWAY at once to every HTTP/2 peer, and to a connection still sending its preface as soon as it is one", async () => {
    const { port, server } = await serve({ handshakeTimeoutMs: 5000 });
    const url = `http://127.0.0.1:${port}`;
    const busy = http2.connect(url);
    const idle = http2.connect(url);
    const peers = [busy, idle];
    for (const p of peers) p.on("error", () => undefined);
    const stream = busy.request({ ":method": "POST", ":path": "/x" });
    stream.on("error", () => undefined);
    await Promise.all(peers.map((p) => new Promise((r) => p.once("remoteSettings", r))));
    const late = await connect(port);
    late.socket.write("PRI * HTTP/2.0\r\n");
    await new Promise((r) => setTimeout(r, 50));
    const goaways = peers.map((p) => new Promise<number>((r) => p.once("goaway", () => r(performance.now()))));
    const t0 = performance.now();
    server.stopAccepting();
    for (const at of await within(Promise.all(goaways), 1000, "GOAWAY to the established peers")) expect(at - t0).toBeLessThan(500);
    late.socket.write(Buffer.concat([Buffer.from("\r\nSM\r\n\r\n"), SETTINGS]));
    // SETTINGS (9 bytes + 6 per setting), then GOAWAY (type 7).
    await within(new Promise<void>((resolve) => {
      const check = () => (framesOf(late.received()).includes(7) ? resolve() : setTimeout(check, 10));
      check();
    }), 1000, "GOAWAY to the connection that finished its preface during the drain");
    busy.destroy();
    idle.destroy();
  });
});

/** Frame types in a server's byte stream (HTTP/2 frames from the start). */
function framesOf(bytes: string): number[] {
  const b = Buffer.from(bytes, "latin1");
  const types: number[] = [];
  for (let i = 0; i + 9 <= b.length; i += 9 + b.readUIntBE(i, 3)) types.push(b[i + 3]!);
  return types;
}
