/**
 * The WebSocket endpoint /ws, from docs/protocol.md: JSON and binary messages with odd values,
 * wrong length fields, truncated headers, NaN/Inf samples, odd byte counts, sample rates 0 / 1 /
 * 10^9, messages out of order, huge and empty messages, invalid UTF-8, and clients that vanish
 * mid-speech. After its messages a case asks `list_models`: the socket must answer it, or have
 * been closed with a documented code.
 */
import WebSocket from "ws";
import { audioBytes, avatarName, sampleRate } from "./messages.js";
import { documentedCloseCodes, findLeak, WS_BINARY_STATUSES, WS_ERROR_CODES, type Verdict } from "./oracle.js";
import { concat, mutate, type Rng } from "./rng.js";
import type { CaseResult, FuzzCase, FuzzTransport } from "./transport.js";

type Message = { text: string } | { binary: Uint8Array } | { rawText: Uint8Array };

const te = new TextEncoder();
const b64 = (b: Uint8Array) => Buffer.from(b).toString("base64");

/** A value for a field that wants something else. */
function odd(rng: Rng): unknown {
  return rng.pick([null, -1, 0, 1.5, 1e9, 1e308, "x", "", true, [], {}, "NaN", "Infinity", 2 ** 53 + 2, "\ud800"]);
}

function startMessage(rng: Rng): Record<string, unknown> {
  const m: Record<string, unknown> = {
    type: "start", avatar: avatarName(rng), sample_rate: sampleRate(rng), encoding: rng.weighted([[6, "pcm_s16le"], [3, "pcm_f32le"], [1, "mp3"]]),
    channels: rng.weighted([[8, 1], [2, 2], [1, 3]]), continuous: rng.chance(0.2), frames: rng.weighted([[5, "json"], [5, "binary"], [1, "xml"]]), patch: rng.chance(0.7),
  };
  if (rng.chance(0.3)) m.quality = rng.pick([1, 50, 100, 0, 101, 1.5]);
  if (rng.chance(0.15)) m[rng.pick(Object.keys(m))] = odd(rng);
  if (rng.chance(0.05)) delete m[rng.pick(["avatar", "sample_rate", "encoding"])];
  return m;
}

/** Binary INFERENCE / SOURCE_FRAME requests, with length fields right or wrong. */
function binaryRequest(rng: Rng): Uint8Array {
  const name = te.encode(rng.chance(0.8) ? "demo" : avatarName(rng));
  const type = rng.pick([0x02, 0x03]);
  const tail = type === 0x02 ? 8 : 5;
  const b = new Uint8Array(7 + name.length + tail);
  const v = new DataView(b.buffer);
  b[0] = type;
  v.setUint32(1, rng.int(0, 2 ** 32 - 1), true);
  v.setUint16(5, rng.weighted([[6, name.length], [1, name.length + rng.int(1, 100)], [1, 65535], [1, 0]]), true);
  b.set(name, 7);
  v.setUint32(7 + name.length, rng.chance(0.8) ? rng.int(0, 130) : rng.pick([2 ** 31, 2 ** 32 - 1]), true);
  if (type === 0x03) {
    b[11 + name.length] = rng.weighted([[6, rng.int(0, 2)], [1, rng.int(3, 255)]]);
    return rng.chance(0.2) ? mutate(rng, b) : b;
  }
  // audio_len, then PCM16 of the override: 0 (own track), right, wrong, or past the end.
  const audio = rng.chance(0.5) ? new Uint8Array(0) : audioBytes(rng, "s16").subarray(0, 4000);
  v.setUint32(11 + name.length, rng.weighted([[6, audio.length], [1, audio.length + rng.int(1, 10)], [1, 2 ** 32 - 1]]), true);
  const whole = concat(b, audio, rng.chance(0.1) ? rng.bytes(rng.int(1, 8)) : new Uint8Array(0));
  return rng.chance(0.15) ? mutate(rng, whole) : whole;
}

/**
 * One client message, by kind. `clean`: only messages a correct client sends (in any order), so
 * that sessions live long enough to reach their later states (audio after end, clear mid-speech).
 */
function message(rng: Rng, started: { encoding: string; channels: number }, clean: boolean): Message {
  const kind = clean
    ? rng.weighted([[10, "audio"], [4, "end"], [2, "clear"], [2, "position"], [6, "binary-audio"], [1, "request"]] as const)
    : rng.weighted([
      [10, "audio"], [4, "end"], [2, "clear"], [2, "position"], [2, "start"], [6, "binary-audio"], [4, "binary-request"], [2, "binary-junk"],
      [3, "request"], [2, "json-junk"], [1, "invalid-utf8"], [1, "empty"],
    ] as const);
  const pcm = () => audioBytes(rng, started.encoding === "pcm_f32le" ? "f32" : "s16", started.channels === 2 ? 2 : 1, clean);
  switch (kind) {
    case "audio": {
      const data = clean ? b64(pcm()) : rng.weighted([[8, b64(pcm())], [1, "!!!not base64"], [1, odd(rng)]]);
      return { text: JSON.stringify({ type: "audio", data }) };
    }
    case "end":
      return { text: JSON.stringify({ type: "end" }) };
    case "clear":
      return { text: JSON.stringify({ type: "clear" }) };
    case "position":
      return { text: JSON.stringify({ type: "playback_position", pts: clean ? rng.int(0, 100_000) : rng.weighted([[3, rng.int(0, 100_000)], [1, odd(rng)]]) }) };
    case "start":
      return { text: JSON.stringify(startMessage(rng)) };
    case "binary-audio":
      return { binary: concat(Uint8Array.of(0x01), pcm()) };
    case "binary-request":
      return { binary: binaryRequest(rng) };
    case "binary-junk":
      return { binary: rng.pick([new Uint8Array(0), Uint8Array.of(rng.int(0, 255)), concat(Uint8Array.of(rng.pick([0x00, 0x04, 0x10, 0x11, 0x1f, 0xff])), rng.bytes(rng.int(0, 64)))]) };
    case "request": {
      if (clean) return { text: JSON.stringify(rng.pick([{ type: "get_stats" }, { type: "get_metadata", model_name: "demo" }, { type: "inference", model_name: "demo", frame_id: rng.int(0, 124) }])) };
      const r = rng.pick<Record<string, unknown>>([
        { type: "get_stats" }, { type: "list_avatars" }, { type: "get_models" }, { type: "get_metadata", model_name: avatarName(rng) },
        { type: "get_video_frame", model_name: avatarName(rng), frame_id: rng.weighted([[4, rng.int(0, 130)], [1, odd(rng)]]), video_type: rng.pick(["full_body", "face_regions", "masked_regions", "x", 1]), request_id: odd(rng) },
        { type: "inference", model_name: avatarName(rng), frame_id: rng.weighted([[4, rng.int(0, 130)], [1, odd(rng)]]) },
        { model_name: "demo", frame_id: rng.int(0, 130) },
        { type: "inference", model_name: "demo", frame_id: 3, audio_override: rng.pick([b64(audioBytes(rng, "s16")), "", "%%%", b64(rng.bytes(3))]) },
        { type: "inference", model_name: "demo", batch_frames: rng.weighted([[4, Array.from({ length: rng.int(0, 3) }, () => ({ frame_id: rng.int(0, 130) }))], [1, Array.from({ length: 257 }, () => ({ frame_id: 1 }))], [1, odd(rng)], [1, [1, 2, 3]]]) },
        { type: "switch_to_binary" },
        { type: rng.pick(["nope", "", "START", "__proto__", "constructor"]) },
      ]);
      return { text: JSON.stringify(r) };
    }
    case "json-junk": {
      const depth = rng.pick([10, 1000, 100_000]);
      return {
        text: rng.pick([
          "{", "}", "[]", "1", "\"start\"", "null", "{\"type\": \"start\"", "{\"type\": \"start\",}", `{"type": "audio", "data": ${"[".repeat(depth)}${"]".repeat(depth)}}`,
          "{\"type\": \"audio\", \"__proto__\": {\"data\": \"AAAA\"}}", "{\"type\":\"end\"}{\"type\":\"end\"}", "\u0000",
        ]),
      };
    }
    case "invalid-utf8":
      return { rawText: Uint8Array.from([...te.encode("{\"type\":\"start\",\"avatar\":\""), 0xff, 0xc3, 0x28, ...te.encode("\"}")]) };
    case "empty":
      return rng.chance(0.5) ? { text: "" } : { binary: new Uint8Array(0) };
  }
}

export class WsFuzzer implements FuzzTransport {
  readonly name = "ws";
  private readonly url: string;
  private readonly closeCodes = documentedCloseCodes();

  constructor(httpUrl: string) {
    this.url = httpUrl.replace(/^http/, "ws") + "/ws";
  }

  next(rng: Rng): FuzzCase {
    const kind = rng.weighted([[8, "session"], [8, "clean"], [5, "requests"], [3, "vanish"], [0.05, "huge"]] as const);
    const msgs: Message[] = [];
    const start = kind === "clean"
      ? { type: "start", avatar: "demo", sample_rate: rng.pick([16000, 24000, 48000]), encoding: rng.pick(["pcm_s16le", "pcm_f32le"]), channels: rng.pick([1, 2]), continuous: rng.chance(0.2), frames: rng.pick(["json", "binary"]), patch: rng.chance(0.7) }
      : startMessage(rng);
    const format = { encoding: String(start.encoding), channels: Number(start.channels) };
    if (kind === "huge") {
      // Over the 16 MiB message limit (close 1009), or a 1 MiB + chunk (close 4429).
      msgs.push({ text: JSON.stringify(startMessage(rng)) });
      msgs.push(rng.chance(0.5) ? { binary: new Uint8Array(16 * 1024 * 1024 + 2) } : { binary: concat(Uint8Array.of(0x01), new Uint8Array(1024 * 1024 + 2)) });
    } else {
      if (kind === "clean" || (kind !== "requests" && rng.chance(0.85))) msgs.push({ text: JSON.stringify(start) });
      let budget = 16000; // bytes of audio per case (a quarter to half a second)
      for (let i = rng.int(0, kind === "requests" ? 3 : 8); i > 0; i--) {
        const m = message(rng, format, kind === "clean" || (kind === "vanish" && rng.chance(0.5)));
        const size = "text" in m ? m.text.length * 0.75 : "binary" in m ? m.binary.length : 0;
        if (size > 2000 && size < 1024 * 1024 && (budget -= size) < 0) continue;
        msgs.push(m);
      }
      if (kind !== "requests" && rng.chance(0.6)) msgs.push({ text: JSON.stringify({ type: "end" }) });
    }
    const name = `${kind}/${msgs.map(describe).join(",").slice(0, 80)}`;
    return { name, run: () => this.run(rng, msgs, kind === "vanish") };
  }

  private run(rng: Rng, msgs: Message[], vanish: boolean): Promise<CaseResult> {
    return new Promise((resolve) => {
      const ws = new WebSocket(this.url, { perMessageDeflate: false, maxPayload: 256 * 1024 * 1024 });
      let verdict: Verdict | undefined;
      let answer = "";
      let done = false;
      const finish = (name: string, v: Verdict) => {
        if (done) return;
        done = true;
        clearTimeout(timer);
        if (ws.readyState === ws.OPEN || ws.readyState === ws.CONNECTING) ws.terminate();
        resolve({ answer: answer || name, verdict: verdict ?? v });
      };
      const timer = setTimeout(() => finish("timeout", { failure: "hang", detail: "no answer to list_models and no close" }), 20_000);
      const fail = (v: Verdict, name: string) => {
        verdict ??= v;
        answer ||= name;
      };
      ws.on("message", (data, isBinary) => {
        const bytes = data as Buffer;
        if (isBinary) {
          if (bytes[0] === 0x1f && bytes.length >= 12) {
            const status = bytes.readUInt16LE(2);
            const text = bytes.subarray(12, 12 + bytes.readUInt32LE(8)).toString();
            const leak = findLeak(text);
            if (leak) fail({ failure: "leak", detail: leak }, `ERROR ${status}`);
            else if (status >= 500 && status !== 503) fail({ failure: "internal", detail: `ERROR ${status}: ${text}` }, `ERROR ${status}`);
            else if (!WS_BINARY_STATUSES.has(status)) fail({ failure: "undocumented", detail: `ERROR ${status}: ${text}` }, `ERROR ${status}`);
          }
          return;
        }
        let m: { type?: string; code?: string; error?: string };
        try {
          m = JSON.parse(bytes.toString()) as typeof m;
        } catch {
          fail({ failure: "undocumented", detail: "a text message that is not JSON" }, "bad json");
          return;
        }
        if (m.type === "error") {
          const leak = findLeak(m.error);
          if (leak) fail({ failure: "leak", detail: leak }, `error ${m.code}`);
          else if (m.code === "internal") fail({ failure: "internal", detail: `error internal: ${m.error}` }, "error internal");
          else if (!WS_ERROR_CODES.has(String(m.code))) fail({ failure: "undocumented", detail: `error ${m.code}: ${m.error}` }, `error ${m.code}`);
        }
        if (m.type === "models") finish("models", { detail: "answered" });
      });
      ws.on("close", (code, reason) => {
        const text = reason.toString();
        const name = `close ${code}`;
        const leak = findLeak(text);
        if (leak) finish(name, { failure: "leak", detail: leak });
        else if (code === 1011) finish(name, { failure: "internal", detail: `${name} ${text}` });
        else if (code === 1006) finish(name, { failure: "no_status", detail: "closed without a close frame" });
        else if (!this.closeCodes.has(code)) finish(name, { failure: "undocumented", detail: `${name} ${text}` });
        else finish(name, { detail: `${name} ${text}` });
      });
      ws.on("error", () => undefined);
      ws.on("open", () => {
        void (async () => {
          for (const m of msgs) {
            if (ws.readyState !== ws.OPEN) return;
            if ("text" in m) ws.send(m.text);
            else if ("binary" in m) ws.send(m.binary, { binary: true });
            else ws.send(m.rawText, { binary: false });
            if (rng.chance(0.2)) await new Promise((r) => setTimeout(r, rng.int(1, 40)));
          }
          if (ws.readyState !== ws.OPEN) return;
          if (vanish) {
            // Gone mid-speech without a close frame: only the server's survival counts.
            await new Promise((r) => setTimeout(r, rng.int(0, 200)));
            finish("vanished", { detail: "vanished" });
            return;
          }
          ws.send(JSON.stringify({ type: "list_models" }));
        })();
      });
    });
  }

  async close(): Promise<void> {}
}

function describe(m: Message): string {
  if ("text" in m) {
    try {
      const v = JSON.parse(m.text) as { type?: string };
      return typeof v === "object" && v && typeof v.type === "string" ? v.type || "''" : "json";
    } catch {
      return "junk";
    }
  }
  if ("binary" in m) return m.binary.length ? `0x${m.binary[0]!.toString(16)}` : "empty";
  return "utf8";
}
