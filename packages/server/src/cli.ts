#!/usr/bin/env node
/**
 * lipsync serve | render | bench. Flags and environment variables are read here and nowhere
 * else; everything below receives a typed config.
 */
import { spawn } from "node:child_process";
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import os from "node:os";
import path from "node:path";
import { parseArgs } from "node:util";
import { LipSyncApp } from "./app.js";
import { parseWav } from "./audio/wav.js";
import { resolveConfig, type ServerOptions } from "./config.js";
import { LipSyncError } from "./errors.js";
import { createLogger, silentLogger } from "./logger.js";
import { startServer } from "./server.js";
import { defaultStaticMounts, REPO_ROOT } from "./static-mounts.js";

const USAGE = `lipsync - real-time audio-driven lip sync

usage:
  lipsync serve  [--port 8080] [--host 0.0.0.0] [--avatars DIR]... [--preload NAME]... [--open]
                 [--memory preload|lazy] [--device cpu|cuda] [--tls-cert FILE --tls-key FILE]
                 [--max-batch 8] [--batch-wait-ms 2] [--threads N] [--log-level info]
  lipsync render --avatar NAME --audio FILE.wav --out FILE.mp4 [--avatars DIR]... [--quality 85]
  lipsync bench  [--avatar NAME] [--frames 200] [--avatars DIR]...

Avatar roots default to $LIPSYNC_AVATARS (colon-separated) or the repository's models/.
`;

function defaultRoots(): string[] {
  const env = process.env.LIPSYNC_AVATARS;
  if (env) return env.split(":").filter(Boolean);
  return [path.join(REPO_ROOT, "models")];
}

function serverOptions(v: Record<string, string | string[] | boolean | undefined>): ServerOptions {
  const num = (key: string) => (v[key] === undefined ? undefined : Number(v[key]));
  const roots = (v.avatars as string[] | undefined)?.length ? (v.avatars as string[]) : defaultRoots();
  const options: ServerOptions = {
    port: num("port") ?? (process.env.PORT ? Number(process.env.PORT) : undefined),
    host: v.host as string | undefined,
    avatarRoots: roots.map((r) => path.resolve(r)),
    memory: v.memory as "preload" | "lazy" | undefined,
    device: (v.device as "cpu" | "cuda" | undefined) ?? (process.env.LIPSYNC_DEVICE as "cpu" | "cuda" | undefined),
    maxBatch: num("max-batch"),
    maxBatchWaitMs: num("batch-wait-ms"),
    inferenceThreads: num("threads"),
    logLevel: (v["log-level"] as string | undefined) ?? process.env.LOG_LEVEL,
  };
  if (v["tls-cert"] || v["tls-key"]) {
    if (!v["tls-cert"] || !v["tls-key"]) throw new Error("--tls-cert and --tls-key go together");
    options.tls = { cert: readFileSync(v["tls-cert"] as string), key: readFileSync(v["tls-key"] as string) };
  }
  return options;
}

async function allAvatarNames(roots: string[]): Promise<string[]> {
  const app = new LipSyncApp(resolveConfig({ avatarRoots: roots }), silentLogger());
  return (await app.listAvatars()).map((a) => a.name);
}

async function serve(v: Record<string, string | string[] | boolean | undefined>): Promise<void> {
  const options = serverOptions(v);
  const preload = (v.preload as string[] | undefined)?.length ? (v.preload as string[]) : await allAvatarNames(options.avatarRoots!);
  const server = await startServer({ ...options, preloadAvatars: preload, staticMounts: defaultStaticMounts() });
  console.log(`lipsync serving ${server.app.registry.loadedAvatars().map((a) => a.name).join(", ") || "(no avatars)"}`);
  console.log(`open ${server.url}/ in a browser (gRPC, gRPC-Web, Connect and WebSocket /ws on this port)`);
  if (v.open) openBrowser(`${server.url}/`);
  let stopping = false;
  const stop = () => {
    if (stopping) process.exit(1);
    stopping = true;
    server.close().then(() => process.exit(0), () => process.exit(1));
  };
  process.on("SIGINT", stop);
  process.on("SIGTERM", stop);
}

/** Best effort: a desktop's browser, where there is one (headless machines just print the URL). */
function openBrowser(url: string): void {
  const cmd = process.platform === "darwin" ? "open" : process.platform === "win32" ? "explorer" : "xdg-open";
  if (process.platform === "linux" && !process.env.DISPLAY && !process.env.WAYLAND_DISPLAY) return;
  const p = spawn(cmd, [url], { stdio: "ignore", detached: true });
  p.on("error", () => undefined);
  p.unref();
}

function run(cmd: string, args: string[]): Promise<void> {
  return new Promise((resolve, reject) => {
    const p = spawn(cmd, args, { stdio: ["ignore", "ignore", "pipe"] });
    let err = "";
    p.stderr.on("data", (d) => (err += d));
    p.on("error", (e) => reject(new Error(`${cmd} not found (apt-get install ${cmd}): ${e.message}`)));
    p.on("close", (code) => (code === 0 ? resolve() : reject(new Error(`${cmd} failed: ${err.split("\n").slice(-4).join(" ")}`))));
  });
}

async function render(v: Record<string, string | string[] | boolean | undefined>): Promise<void> {
  const avatarName = v.avatar as string | undefined;
  const audioFile = v.audio as string | undefined;
  const out = v.out as string | undefined;
  if (!avatarName || !audioFile || !out) throw new Error("render needs --avatar, --audio and --out");
  const options = serverOptions(v);
  const app = new LipSyncApp(resolveConfig({ ...options, logLevel: "warn" }), createLogger("warn"));
  const wav = parseWav(readFileSync(audioFile));
  const { runner } = await app.openSession({ avatar: avatarName, sampleRate: wav.sampleRate, continuous: false, encoding: "jpeg", quality: Number(v.quality ?? 90) });
  const dir = mkdtempSync(path.join(os.tmpdir(), "lipsync-render-"));
  const started = performance.now();
  try {
    const piece = Math.floor(wav.sampleRate / 5);
    let offset = 0;
    const feed = () => {
      while (offset < wav.samples.length && runner.session.queuedSamples < 32000) {
        runner.pushAudio(wav.samples.subarray(offset, offset + piece));
        offset += piece;
      }
      if (offset >= wav.samples.length) runner.end();
    };
    feed();
    let n = 0;
    for await (const o of runner) {
      if (o.type === "frame") writeFileSync(path.join(dir, `${String(n++).padStart(6, "0")}.jpg`), o.frame.image);
      if (o.type === "speech-ended") break;
      feed();
    }
    const renderMs = performance.now() - started;
    await run("ffmpeg", ["-y", "-loglevel", "error", "-framerate", "25", "-i", path.join(dir, "%06d.jpg"), "-i", audioFile,
      "-c:v", "libx264", "-preset", "veryfast", "-crf", "26", "-pix_fmt", "yuv420p", "-c:a", "aac", "-b:a", "64k", "-shortest", "-movflags", "+faststart", out]);
    const seconds = wav.samples.length / wav.sampleRate;
    console.log(JSON.stringify({ out, frames: n, audio_seconds: Number(seconds.toFixed(2)), render_ms: Math.round(renderMs), realtime_factor: Number((seconds * 1000 / renderMs).toFixed(2)) }));
  } finally {
    rmSync(dir, { recursive: true, force: true });
    app.closeSession(runner);
    await app.close();
  }
}

async function bench(v: Record<string, string | string[] | boolean | undefined>): Promise<void> {
  const options = serverOptions(v);
  const app = new LipSyncApp(resolveConfig({ ...options, logLevel: "warn" }), silentLogger());
  const name = (v.avatar as string | undefined) ?? "demo";
  const frames = Number(v.frames ?? 200);
  const avatar = await app.registry.get(name);
  await app.renderOwn(name, [0, 1, 2, 3], "jpeg");
  const t = performance.now();
  const indices = Array.from({ length: frames }, (_, i) => i % avatar.frameCount);
  for (let i = 0; i < indices.length; i += 32) await app.renderOwn(name, indices.slice(i, i + 32), "jpeg");
  const ms = performance.now() - t;
  const stages = Object.fromEntries(app.stats.stages().map((s) => [s.stage, { p50: Number(s.p50.toFixed(2)), p99: Number(s.p99.toFixed(2)) }]));
  console.log(JSON.stringify({ bench: "engine", avatar: name, frames, fps: Number(((frames * 1000) / ms).toFixed(1)), mean_batch: Number(app.stats.meanBatchSize.toFixed(2)), stages_ms: stages, cpus: os.cpus().length, cpu: os.cpus()[0]?.model }));
  await app.close();
}

async function main(): Promise<void> {
  const [command, ...rest] = process.argv.slice(2);
  const { values } = parseArgs({
    args: rest,
    options: {
      port: { type: "string" }, host: { type: "string" }, avatars: { type: "string", multiple: true }, preload: { type: "string", multiple: true },
      memory: { type: "string" }, device: { type: "string" }, "tls-cert": { type: "string" }, "tls-key": { type: "string" },
      "max-batch": { type: "string" }, "batch-wait-ms": { type: "string" }, threads: { type: "string" }, "log-level": { type: "string" },
      avatar: { type: "string" }, audio: { type: "string" }, out: { type: "string" }, quality: { type: "string" }, frames: { type: "string" },
      open: { type: "boolean" }, help: { type: "boolean", short: "h" },
    },
  });
  if (values.help || !command || command === "help") {
    console.log(USAGE);
    return;
  }
  if (command === "serve") return serve(values);
  if (command === "render") return render(values);
  if (command === "bench") return bench(values);
  throw new Error(`unknown command "${command}"\n\n${USAGE}`);
}

main().catch((err: unknown) => {
  const message = err instanceof LipSyncError || err instanceof Error ? err.message : String(err);
  console.error(`lipsync: ${message}`);
  process.exit(1);
});

