/**
 * A LiveKit Agents (Node) agent with the lipsync avatar, as its own process, for the plugin's
 * tests: it joins a room, starts the avatar with @lipsync/livekit's AvatarSession, and plays
 * recorded speech through AgentSession.say (a TTS stand-in: the audio goes out through
 * DataStreamAudioOutput, exactly as a TTS's would).
 *
 *   node --import tsx packages/livekit/test/speaker-agent.ts
 *     env: LIVEKIT_URL, LIVEKIT_API_KEY, LIVEKIT_API_SECRET, AGENT_TOKEN, LIPSYNC_URL, AVATAR
 *   stdin, a command a line:  say FILE.wav | interrupt | quit
 *   stdout, an event a line:  {"event":"ready"} {"event":"said","interrupted":false,"at":ms} ...
 */
import { readFileSync } from "node:fs";
import { createInterface } from "node:readline";
import { initializeLogger, voice } from "@livekit/agents";
import { AudioFrame, Room } from "@livekit/rtc-node";
import { AvatarSession } from "../src/index.js";

const RATE = 24_000;

function emit(event: string, fields: Record<string, unknown> = {}): void {
  process.stdout.write(`${JSON.stringify({ event, at: performance.now() + performance.timeOrigin, ...fields })}\n`);
}

/** A 16-bit mono WAV as 20 ms frames at RATE (linear interpolation: a test signal, not hi-fi). */
function wavFrames(file: string): ReadableStream<AudioFrame> {
  const b = readFileSync(file);
  const rate = b.readUInt32LE(24);
  let off = 12;
  while (b.toString("ascii", off, off + 4) !== "data") off += 8 + b.readUInt32LE(off + 4);
  const data = new Int16Array(b.buffer.slice(b.byteOffset + off + 8, b.byteOffset + off + 8 + b.readUInt32LE(off + 4)));
  // From its first sound, as a TTS starts speaking at once (a 20 ms window above -40 dBFS).
  const win = Math.round(rate / 50);
  let first = 0;
  while (first + win <= data.length && Math.sqrt(data.subarray(first, first + win).reduce((a, v) => a + v * v, 0) / win) < 328) first += win;
  const speech = data.subarray(first);
  const n = Math.floor((speech.length * RATE) / rate);
  const pcm = new Int16Array(n);
  for (let i = 0; i < n; i++) {
    const x = (i * rate) / RATE;
    const k = Math.floor(x);
    pcm[i] = Math.round(speech[k]! + (speech[Math.min(k + 1, speech.length - 1)]! - speech[k]!) * (x - k));
  }
  const step = RATE / 50;
  let i = 0;
  return new ReadableStream<AudioFrame>({
    pull(controller) {
      if (i >= pcm.length) return controller.close();
      const chunk = pcm.slice(i, i + step);
      i += step;
      controller.enqueue(new AudioFrame(chunk, RATE, 1, chunk.length));
    },
  });
}

async function main(): Promise<void> {
  initializeLogger({ pretty: false, level: "warn" });
  const env = (k: string) => process.env[k] ?? (() => { throw new Error(`${k} is not set`); })();
  const room = new Room();
  await room.connect(env("LIVEKIT_URL"), env("AGENT_TOKEN"), { autoSubscribe: false, dynacast: false });
  const session = new voice.AgentSession({});
  const avatar = new AvatarSession({ serverUrl: env("LIPSYNC_URL"), avatar: env("AVATAR"), sampleRate: RATE });
  await avatar.start(session, room);
  await session.start({ agent: new voice.Agent({ instructions: "Say what you are given." }), room, inputOptions: { audioEnabled: false, textEnabled: false }, outputOptions: { transcriptionEnabled: false } });
  await avatar.waitForJoin();
  emit("ready", { sessionId: avatar.sessionId });
  let speaking: voice.SpeechHandle | undefined;
  for await (const line of createInterface({ input: process.stdin })) {
    const [command, arg] = line.trim().split(/\s+/);
    if (command === "say") {
      const handle = (speaking = session.say("(recorded speech)", { audio: wavFrames(arg!), allowInterruptions: true, addToChatCtx: false }));
      void handle.waitForPlayout().then(() => emit("said", { interrupted: handle.interrupted }));
      emit("saying");
    } else if (command === "interrupt") {
      emit("interrupting");
      await session.interrupt().await;
      emit("interrupted", { speaking: speaking !== undefined && !speaking.done() });
    } else if (command === "quit") {
      break;
    }
  }
  await avatar.aclose();
  await session.close();
  await room.disconnect();
  emit("closed");
}

main().then(() => process.exit(0), (err: unknown) => {
  process.stderr.write(`${err instanceof Error ? err.stack : String(err)}\n`);
  process.exit(1);
});
