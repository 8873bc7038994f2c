/**
 * Rows 2, 7, 8, 9 and 10 of issue 17: what a peer does with connections and streams. Floods come
 * from other loopback addresses (127.0.0.2 and up) than the bystander's 127.0.0.1, as an
 * attacker's would: the per-address limit is what keeps everyone else served.
 */
import http2 from "node:http2";
import net from "node:net";
import { create, toBinary } from "@bufbuild/protobuf";
import { AudioEncoding, SpeakRequestSchema } from "@lipsync/proto";
import { envelope } from "../framing.js";
import type { Step } from "../grpc.js";
import { checker, type AbuseCase } from "./case.js";
import { grpcOnce, meanwhile, openConnections, waitFor } from "./clients.js";

const speak = (message: Parameters<typeof create<typeof SpeakRequestSchema>>[1]) => envelope(toBinary(SpeakRequestSchema, create(SpeakRequestSchema, message)));
const CONFIG = speak({ message: { case: "config", value: { avatar: "demo", audioFormat: { encoding: AudioEncoding.PCM_S16LE, sampleRate: 16000, channels: 1 } } } });
/** 40 ms of a 16-bit tone at 16 kHz. */
function tone(): Uint8Array {
  const out = new Uint8Array(640 * 2);
  const v = new DataView(out.buffer);
  for (let i = 0; i < 640; i++) v.setInt16(i * 2, Math.round(Math.sin(i / 5) * 8000), true);
  return out;
}
const AUDIO = speak({ message: { case: "audio", value: { data: tone() } } });

const row2: AbuseCase = {
  row: 2,
  name: "bad-second-message",
  async run({ child, rng }) {
    const { failures, check } = checker();
    // Protobuf that no decoder accepts: a length past the end, an 11-byte varint, field number 0.
    const garbage = rng.pick([Uint8Array.from([0x0a, 0xe8, 0x07, 0x41]), Uint8Array.from([0x10, ...Array(10).fill(0xff), 0x01]), Uint8Array.from([0x00, 0x01])]);
    const truncated = envelope(new Uint8Array(rng.int(2, 40)), 0, rng.int(100, 4000));
    const variants: [string, Step[]][] = [
      ["bad protobuf", [{ send: CONFIG }, { send: envelope(garbage) }, { end: true }]],
      ["a truncated envelope", [{ send: CONFIG }, { send: truncated }, { end: true }]],
      ["the compressed flag without an encoding", [{ send: CONFIG }, { send: envelope(AUDIO.subarray(5), 1) }, { end: true }]],
    ];
    const [answers, during] = await Promise.all([Promise.all(variants.map(([, steps]) => grpcOnce(child.url, "Speak", steps, 10_000))), meanwhile(child.url, 60)]);
    variants.forEach(([what], i) => check(answers[i]!.grpcStatus === 3, `Speak with ${what} second: ${answers[i]!.grpcStatus ?? answers[i]!.reset} ${answers[i]!.grpcMessage ?? ""}`));
    return { failures: [...failures, ...during.failures], figures: { answers: answers.map((a) => `${a.grpcStatus} ${a.grpcMessage ?? ""}`.slice(0, 120)) }, meanwhile: during };
  },
};

const row7: AbuseCase = {
  row: 7,
  name: "silent-connection-flood",
  async run({ child, scale }) {
    const { failures, check } = checker();
    const fds0 = child.fdCount();
    const started = performance.now();
    const floods = await Promise.all(Array.from({ length: scale.floodAddresses }, (_, a) => openConnections(child.port, `127.0.0.${2 + a}`, scale.floodPerAddress)));
    const sockets = floods.flat();
    const openedMs = performance.now() - started;
    // The server closed what went past each address's limit at once; it holds the rest for the handshake timeout.
    await waitFor(() => sockets.filter((s) => !s.destroyed && !s.readableEnded).length <= scale.floodAddresses * scale.perAddressCap, 3000);
    const held = child.fdCount() - fds0;
    const during = await meanwhile(child.url, 70);
    check(held <= scale.floodAddresses * scale.perAddressCap + 16, `the server holds ${held} more descriptors, past ${scale.floodAddresses} x ${scale.perAddressCap} (the per-address limit)`);
    const freed = await waitFor(() => child.fdCount() - fds0 <= 16, scale.handshakeMs + 5000);
    const freedMs = performance.now() - started;
    check(freed, `${child.fdCount() - fds0} descriptors still held ${Math.round(freedMs)} ms after the flood (handshake timeout ${scale.handshakeMs} ms)`);
    for (const s of sockets) s.destroy();
    return {
      failures: [...failures, ...during.failures],
      figures: { connections: sockets.length, opened_ms: Math.round(openedMs), server_held: held, released_ms: Math.round(freedMs) },
      meanwhile: during,
    };
  },
};

const row8: AbuseCase = {
  row: 8,
  name: "unfinished-request-heads",
  async run({ child, scale }) {
    const { failures, check } = checker();
    // Spread over addresses so that all of them get past the per-address limit and meet the headers timeout.
    const per = Math.min(scale.perAddressCap - 8, 50);
    const started = performance.now();
    const groups = await Promise.all(Array.from({ length: Math.ceil(scale.slowHeaders / per) }, (_, a) =>
      openConnections(child.port, `127.0.1.${1 + a}`, Math.min(per, scale.slowHeaders - a * per), "POST / HTTP/1.1\r\nHost: x\r\n")));
    const sockets = groups.flat();
    const answers = new Map<net.Socket, string>();
    for (const s of sockets) s.on("data", (d: Buffer) => answers.set(s, (answers.get(s) ?? "") + d.toString("latin1")));
    const during = await meanwhile(child.url, 80);
    const closed = await waitFor(() => sockets.every((s) => s.destroyed || s.readableEnded), scale.headersMs + 5000);
    const closedMs = performance.now() - started;
    const timedOut = sockets.filter((s) => /^HTTP\/1\.1 408 /.test(answers.get(s) ?? "")).length;
    check(closed, `${sockets.filter((s) => !s.destroyed && !s.readableEnded).length} of ${sockets.length} still open ${Math.round(closedMs)} ms on (headers timeout ${scale.headersMs} ms)`);
    check(timedOut === sockets.length, `${timedOut} of ${sockets.length} got 408 Request Timeout`);
    for (const s of sockets) s.destroy();
    return { failures: [...failures, ...during.failures], figures: { connections: sockets.length, closed_ms: Math.round(closedMs), got_408: timedOut }, meanwhile: during };
  },
};

/** The head of the server's answer to a WebSocket upgrade offering `protocols`. */
function upgradeHead(port: number, protocols: string): Promise<string> {
  return new Promise((resolve) => {
    const s = net.connect(port, "127.0.0.1");
    let head = "";
    const done = () => {
      clearTimeout(timer);
      s.destroy();
      resolve(head);
    };
    const timer = setTimeout(done, 5000);
    s.on("error", done);
    s.on("connect", () => s.write(`GET /ws HTTP/1.1\r\nHost: x\r\nUpgrade: websocket\r\nConnection: Upgrade\r\nSec-WebSocket-Key: ${Buffer.from("0123456789abcdef").toString("base64")}\r\nSec-WebSocket-Version: 13\r\nSec-WebSocket-Protocol: ${protocols}\r\n\r\n`));
    s.on("data", (d: Buffer) => {
      head += d.toString("latin1");
      if (head.includes("\r\n\r\n")) done();
    });
  });
}

const row9: AbuseCase = {
  row: 9,
  name: "token-echoed-as-subprotocol",
  async run({ child, rng }) {
    const { failures, check } = checker();
    const token = `tok${rng.int(1e6, 9e6)}x${rng.int(1e6, 9e6)}`;
    const [alone, beside, during] = await Promise.all([upgradeHead(child.port, `bearer.${token}`), upgradeHead(child.port, `bearer.${token}, lipsync`), meanwhile(child.url, 90)]);
    check(alone !== "" && !alone.includes(token), `the answer to bearer.TOKEN alone echoes the token: ${alone.split("\r\n").find((l) => l.includes(token))}`);
    check(/^sec-websocket-protocol: lipsync$/im.test(beside) && !beside.includes(token), "the answer to lipsync beside bearer.TOKEN is not lipsync");
    return { failures: [...failures, ...during.failures], figures: { alone: alone.split("\r\n")[0], protocol: /sec-websocket-protocol: (.*)/i.exec(alone)?.[1] ?? "none" }, meanwhile: during };
  },
};

const row10: AbuseCase = {
  row: 10,
  name: "goaway-at-drain-start",
  endsServer: true,
  async run({ child }) {
    const { failures, check } = checker();
    let signalled = 0;
    const goaways: number[] = [];
    const peers: http2.ClientHttp2Session[] = [];
    const timers: NodeJS.Timeout[] = [];
    for (let i = 0; i < 3; i++) {
      const s = http2.connect(child.url);
      s.on("error", () => undefined);
      s.once("goaway", () => goaways.push(performance.now() - signalled));
      const stream = s.request({ ":method": "POST", ":path": "/lipsync.v1.LipSyncService/Speak", "content-type": "application/grpc+proto", te: "trailers" });
      stream.on("error", () => undefined);
      stream.on("data", () => undefined);
      stream.write(CONFIG);
      timers.push(setInterval(() => !stream.closed && stream.write(AUDIO), 40));
      peers.push(s);
    }
    const idle = http2.connect(child.url);
    idle.on("error", () => undefined);
    idle.once("goaway", () => goaways.push(performance.now() - signalled));
    peers.push(idle);
    await Promise.all(peers.map((p) => new Promise((r) => p.once("remoteSettings", r))));
    // A connection whose preface is still coming when the signal arrives.
    const late = net.connect(child.port, "127.0.0.1");
    let lateGoaway: number | undefined;
    let bytes = Buffer.alloc(0);
    late.on("error", () => undefined);
    late.on("data", (d: Buffer) => {
      bytes = Buffer.concat([bytes, d]);
      for (let i = 0; i + 9 <= bytes.length; i += 9 + bytes.readUIntBE(i, 3)) if (bytes[i + 3] === 7) lateGoaway ??= performance.now() - signalled;
    });
    await new Promise((r) => late.once("connect", r));
    late.write("PRI * HTTP/2.0\r\n");
    await new Promise((r) => setTimeout(r, 1500)); // speech under way in all three sessions
    signalled = performance.now();
    child.signal("SIGTERM");
    await new Promise((r) => setTimeout(r, 100));
    late.write(Buffer.concat([Buffer.from("\r\nSM\r\n\r\n"), Buffer.from([0, 0, 0, 4, 0, 0, 0, 0, 0])]));
    await waitFor(() => goaways.length === peers.length && lateGoaway !== undefined, 3000);
    check(goaways.length === peers.length, `${goaways.length} of ${peers.length} HTTP/2 peers got GOAWAY within 3 s of SIGTERM`);
    check(goaways.every((ms) => ms < 1000), `GOAWAY came ${goaways.map(Math.round).join(", ")} ms after SIGTERM`);
    check(lateGoaway !== undefined && lateGoaway < 1000, `the connection that finished its preface during the drain got GOAWAY after ${lateGoaway === undefined ? "never" : Math.round(lateGoaway)} ms`);
    const exit = await Promise.race([child.exited, new Promise<string>((r) => setTimeout(() => r("no exit in 15 s"), 15_000))]);
    check(exit === 0, `the server exited ${exit}`);
    for (const t of timers) clearInterval(t);
    for (const p of peers) p.destroy();
    late.destroy();
    return { failures, figures: { goaway_ms: goaways.map(Math.round), late_goaway_ms: lateGoaway === undefined ? null : Math.round(lateGoaway), exit_ms: Math.round(performance.now() - signalled) } };
  },
};

export const CONNECTION_CASES: AbuseCase[] = [row2, row7, row8, row9, row10];
