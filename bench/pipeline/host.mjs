/**
 * The server of bench/pipeline, in a child process: `startServer` of the build at --dist (what
 * `lipsync serve` runs), on a free loopback port, with the avatars given and capacity unlimited
 * (the engine is measured, not admission). It tells its parent over IPC when it is ready, and
 * drives sessions in this process when asked ("drive"): the raw kind, whose frames a LiveKit
 * room encodes itself, goes through the session API the room adapter uses (builds from the
 * session rebuild on). Plain JavaScript, so that it runs against an older build (the baseline) as it is.
 *
 *   node bench/pipeline/host.mjs --dist packages/server/dist --avatars DIR --preload NAME
 */
import path from "node:path";
import { parseArgs } from "node:util";
import { pathToFileURL } from "node:url";
import { pace, speech } from "../live.mjs";

const { values } = parseArgs({
  options: { dist: { type: "string" }, avatars: { type: "string", multiple: true, default: [] }, preload: { type: "string" } },
});
const { startServer } = await import(pathToFileURL(path.resolve(values.dist, "index.js")).href);
const server = await startServer({
  port: 0, host: "127.0.0.1", avatarRoots: values.avatars.map((r) => path.resolve(r)), preloadAvatars: [values.preload], logLevel: "warn",
  sessionCapacity: 100_000, maxSessions: 100_000,
});

/** One in-process session of `pcm`: speech frames counted as the room adapter would take them. */
async function drive(avatar, pcm, encoding, patch) {
  const r = { frames: 0, dropped: 0, error: null, expected: 0 };
  const s = await server.app.sessions.open(undefined, { avatar, audio: { sampleRate: 16000, encoding: "s16le", channels: 1 }, continuous: false, encoding, patch });
  const spf = s.started.samplesPerFrame;
  r.expected = Math.ceil(pcm.length / 2 / spf);
  let stop = () => {};
  try {
    for await (const e of s.events) {
      if (e.type === "started") stop = pace(pcm, (chunk) => s.send({ type: "audio", data: chunk }), () => s.send({ type: "end" }));
      else if (e.type === "frame" && e.frame.kind === 1) r.frames++;
      else if (e.type === "frames-dropped") r.dropped += (e.endPts - e.startPts) / spf;
      else if (e.type === "error") r.error = e.error.message;
      else if (e.type === "speech-ended") break;
    }
  } finally {
    stop();
    s.close();
  }
  return r;
}

process.on("message", async (msg) => {
  if (msg.type === "drive") {
    const pcm = speech(msg.seconds);
    // Staggered over one chunk period, as independent rooms would be.
    const results = await Promise.all(Array.from({ length: msg.sessions }, (_, i) =>
      new Promise((r) => setTimeout(r, (40 / msg.sessions) * i)).then(() => drive(msg.avatar, pcm, msg.encoding, msg.patch))));
    process.send({ type: "driven", results });
  } else if (msg.type === "close") {
    await server.close();
    process.exit(0);
  }
});
process.send({ type: "ready", url: server.url });
