/**
 * Stream resets of every kind end a session and its work, over raw node:http2 (a well-behaved
 * client never does what these do): a Speak whose client never reads, sends more audio than the
 * server queues, then resets its stream; a dropped connection; an upload larger than the message
 * limit; and the HTTP/2 rapid reset (HEADERS + DATA + RST_STREAM in a burst).
 */
import http2 from "node:http2";
import { create, toBinary } from "@bufbuild/protobuf";
import { createLipSyncClient } from "@lipsync/client/node";
import { AudioEncoding, RenderFrameRequestSchema, SpeakRequestSchema } from "@lipsync/proto";
import { afterEach, describe, expect, it } from "vitest";
import type { RunningServer } from "../src/server.js";
import { FLAG, FRAME, frame, grpcMessage, postHeaders, rawConnect, rstStream } from "./h2-raw.js";
import { speechLikePcm, testServer } from "./harness.js";

let server: RunningServer | undefined;
const clients: http2.ClientHttp2Session[] = [];
afterEach(async () => {
  for (const c of clients.splice(0)) c.destroy();
  await server?.close();
  server = undefined;
});

const SPEAK = "/lipsync.v1.LipSyncService/Speak";
const GRPC_HEADERS = { ":method": "POST", "content-type": "application/grpc", te: "trailers" };

function speakMessage(message: Parameters<typeof create<typeof SpeakRequestSchema>>[1]): Buffer {
  return grpcMessage(toBinary(SpeakRequestSchema, create(SpeakRequestSchema, message)));
}

function connect(url: string): http2.ClientHttp2Session {
  // Room to queue a large upload on the client side (its default of 10 MB would reset the stream itself).
  const c = http2.connect(url, { maxSessionMemory: 256 });
  c.on("error", () => undefined);
  clients.push(c);
  return c;
}

/**
 * A Speak that never reads its frames: a second of speech, whose frames use up the stream's
 * window (the server is parked writing), then 3 s more, more than the server queues (2 s), so
 * that the handler stops reading its input, and a last second it leaves unread.
 */
async function stuckSpeak(session: http2.ClientHttp2Session): Promise<http2.ClientHttp2Stream> {
  const stream = session.request({ ...GRPC_HEADERS, ":path": SPEAK });
  stream.on("error", () => undefined);
  stream.pause();
  stream.write(speakMessage({ message: { case: "config", value: { avatar: "demo", audioFormat: { encoding: AudioEncoding.PCM_S16LE, sampleRate: 16000, channels: 1 } } } }));
  stream.write(speakMessage({ message: { case: "audio", value: { data: speechLikePcm(1) } } }));
  await expect.poll(() => stream.state.localWindowSize, { timeout: 10_000 }).toBe(0);
  stream.write(speakMessage({ message: { case: "audio", value: { data: speechLikePcm(3) } } }));
  stream.write(speakMessage({ message: { case: "audio", value: { data: speechLikePcm(1) } } }));
  await expect.poll(() => stream.writableLength, { timeout: 10_000 }).toBe(0);
  return stream;
}

describe("a Speak whose client never reads, over-sends audio, then goes", () => {
  const resets: [string, number][] = [
    ["RST_STREAM(NO_ERROR)", http2.constants.NGHTTP2_NO_ERROR],
    ["RST_STREAM(CANCEL)", http2.constants.NGHTTP2_CANCEL],
    ["RST_STREAM(INTERNAL_ERROR)", http2.constants.NGHTTP2_INTERNAL_ERROR],
  ];
  for (const [name, code] of resets) {
    it(`ends the session when the client sends ${name}`, async () => {
      server = await testServer({ maxQueuedAudioSeconds: 2 });
      const stream = await stuckSpeak(connect(server.url));
      expect(server.app.sessionCount).toBe(1);
      stream.close(code);
      await expect.poll(() => server!.app.sessionCount, { timeout: 5000 }).toBe(0);
    });
  }

  it("ends the session when the client drops the TCP connection", async () => {
    server = await testServer({ maxQueuedAudioSeconds: 2 });
    const session = connect(server.url);
    await stuckSpeak(session);
    expect(server.app.sessionCount).toBe(1);
    session.destroy();
    await expect.poll(() => server!.app.sessionCount, { timeout: 5000 }).toBe(0);
  });

  it("cannot lock new sessions out by filling the session table", async () => {
    server = await testServer({ maxQueuedAudioSeconds: 2, maxSessions: 3 });
    const session = connect(server.url);
    for (let i = 0; i < 3; i++) (await stuckSpeak(session)).close(http2.constants.NGHTTP2_NO_ERROR);
    await expect.poll(() => server!.app.sessionCount, { timeout: 5000 }).toBe(0);
    const client = createLipSyncClient({ baseUrl: server.url, protocol: "grpc" });
    const s = client.speak({ avatar: "demo", audio: { encoding: "pcm_s16le", sampleRate: 16000 } });
    for await (const e of s.events) if (e.type === "started") break;
    expect(server.app.sessionCount).toBe(1);
    s.close();
  });
});

describe("a gRPC request over the message limit", () => {
  it("is answered RESOURCE_EXHAUSTED at once, and the upload is stopped", async () => {
    server = await testServer({ maxMessageBytes: 1024 * 1024 });
    const stream = connect(server.url).request({ ...GRPC_HEADERS, ":path": "/lipsync.v1.LipSyncService/RenderFrame" });
    const trailers = new Promise<http2.IncomingHttpHeaders>((resolve) => stream.once("trailers", resolve));
    const closed = new Promise<number>((resolve) => stream.once("close", () => resolve(stream.rstCode ?? -1)));
    stream.on("error", () => undefined);
    stream.resume();
    // An envelope announcing 8 MB, then its bytes: the answer must not wait for them.
    const body = Buffer.alloc(8 * 1024 * 1024 + 5);
    body.writeUInt32BE(8 * 1024 * 1024, 1);
    stream.write(body);
    const t = await trailers;
    expect(t["grpc-status"]).toBe("8");
    expect(decodeURIComponent(String(t["grpc-message"]))).toMatch(/larger than|exceeds|max/i);
    // RST_STREAM(NO_ERROR) after the answer: stop sending, nothing went wrong (RFC 9113, 8.1).
    expect(await closed).toBe(http2.constants.NGHTTP2_NO_ERROR);
  });
});

describe("HTTP/2 rapid reset", () => {
  it("renders nothing for the reset streams, keeps serving others and answers with GOAWAY", async () => {
    server = await testServer();
    const raw = await rawConnect(server.port);
    const headers = postHeaders("/lipsync.v1.LipSyncService/RenderFrame", { "content-type": "application/grpc", te: "trailers" });
    const body = grpcMessage(toBinary(RenderFrameRequestSchema, create(RenderFrameRequestSchema, { avatar: "demo", index: 3 })));
    // Below nghttp2's own limit (1,000 resets in a burst): the server's policy must catch it.
    const burst: Buffer[] = [];
    for (let i = 0; i < 600; i++) {
      const id = 1 + 2 * i;
      burst.push(frame(FRAME.HEADERS, FLAG.END_HEADERS, id, headers), frame(FRAME.DATA, FLAG.END_STREAM, id, body), rstStream(id, http2.constants.NGHTTP2_CANCEL));
    }
    raw.write(Buffer.concat(burst));
    const goaway = await Promise.race([raw.goaway, new Promise<undefined>((r) => setTimeout(() => r(undefined), 5000))]);
    expect(goaway?.code).toBe(http2.constants.NGHTTP2_ENHANCE_YOUR_CALM);
    await Promise.race([raw.closed, new Promise((r) => setTimeout(r, 5000))]);
    expect(raw.socket.destroyed).toBe(true);

    const client = createLipSyncClient({ baseUrl: server.url, protocol: "grpc" });
    const t = performance.now();
    await client.rpc.renderFrame({ avatar: "demo", index: 1 });
    expect(performance.now() - t).toBeLessThan(2000);
    // The other client's frame, and at most the batches already running when the resets came.
    expect(server.app.stats.framesRendered).toBeLessThanOrEqual(1 + 2 * server.config.maxBatch);
  });
});
