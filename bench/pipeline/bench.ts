/**
 * The pipeline around the model: server CPU per delivered frame, with the avatar's UNet and audio
 * encoder replaced by their zero-cost stand-ins (standin.ts; --keep-encoder keeps the encoder), for each output kind, against a baseline
 * build measured in the same run (runs interleaved, the order alternating by round).
 *
 *   pnpm bench:pipeline [--sessions 8] [--seconds 20] [--rounds 2] [--kinds patch,full,raw]
 *                       [--baseline ../base/packages/server/dist] [--avatar demo] [--avatars models]
 *                       [--keep-encoder] [--cpu-prof DIR]
 *
 * Kinds: `patch` (mouth-patch JPEG) and `full` (whole-frame JPEG) over the WebSocket, binary
 * frames; `raw` (whole RGB frames, what the LiveKit room adapter asks of a session and hands to
 * LiveKit's encoder) driven in the server's process through the session API (host.mjs; builds
 * from the session rebuild on).
 *
 * Each run: N sessions of held-out speech paced in real time (live.mjs), staggered over one
 * chunk. Server CPU: the server process's CPU time over the run (/proc, every thread) divided by
 * the speech frames delivered, and the same split by thread: the main thread (transport, session,
 * audio front end, compositing on a small machine), libvips's (JPEG) and the rest (the inference
 * worker and onnxruntime's pool, other workers, V8 and libuv helpers). One JSON line per run and
 * one summary line per kind; a server that dies stops the benchmark, saying so. With --cpu-prof
 * DIR every thread of each server is profiled (DIR/new, DIR/baseline); `pnpm bench:stages DIR/new`
 * then splits the time by stage (stages.mjs).
 */
import { fork, type ChildProcess } from "node:child_process";
import { execSync } from "node:child_process";
import { existsSync, readdirSync, readFileSync } from "node:fs";
import os from "node:os";
import path from "node:path";
import { parseArgs } from "node:util";
import WebSocket from "ws";
import { CHUNK_MS, pace, speech } from "../live.mjs";
import { standInPackage } from "./build.js";

const ROOT = path.resolve(import.meta.dirname, "../..");
const { values } = parseArgs({
  options: {
    sessions: { type: "string", default: "8" }, seconds: { type: "string", default: "20" }, rounds: { type: "string", default: "2" },
    kinds: { type: "string", default: "patch,full,raw" }, baseline: { type: "string" }, avatar: { type: "string", default: "demo" },
    avatars: { type: "string", default: path.join(ROOT, "models") }, "cpu-prof": { type: "string" }, "keep-encoder": { type: "boolean", default: false }, out: { type: "string", default: path.join(ROOT, "bench/out/avatars") },
  },
});
const SESSIONS = Number(values.sessions);
const SECONDS = Number(values.seconds);
const KINDS = values.kinds!.split(",");

interface Host { name: string; dist: string; child: ChildProcess; url: string; commit: string }
interface Tally { frames: number; expected: number; dropped: number; errors: number }

/** Rejects every run in flight when a server dies: the benchmark stops and says which. */
let died: (err: Error) => void = () => {};
const death = new Promise<never>((_, reject) => (died = reject));
death.catch(() => undefined);

function commitOf(dist: string): string {
  try {
    return execSync("git rev-parse --short HEAD", { cwd: dist, stdio: ["ignore", "pipe", "ignore"] }).toString().trim();
  } catch {
    return "unknown";
  }
}

async function startHost(name: string, dist: string, avatar: string): Promise<Host> {
  if (!existsSync(path.join(dist, "index.js"))) throw new Error(`${dist}/index.js not found: build it first (pnpm build)`);
  const child = fork(path.join(import.meta.dirname, "host.mjs"), ["--dist", dist, "--avatars", values.avatars!, "--avatars", values.out!, "--preload", avatar], {
    // As the CLI sizes it (cli.ts): JPEG encoding and file reads share libuv's pool.
    env: { ...process.env, UV_THREADPOOL_SIZE: String(Math.max(4, Math.min(64, os.availableParallelism()))) },
    stdio: ["ignore", "inherit", "inherit", "ipc"],
    // --cpu-prof DIR: a V8 CPU profile of every thread of the server (main and each worker).
    execArgv: [...process.execArgv, ...(values["cpu-prof"] ? ["--cpu-prof", "--cpu-prof-dir", path.resolve(values["cpu-prof"], name)] : [])],
  });
  const url = await new Promise<string>((resolve, reject) => {
    child.once("message", (m: { type: string; url: string }) => resolve(m.url));
    child.once("exit", (code, signal) => reject(new Error(`the ${name} server exited before it was ready (${code ?? signal})`)));
  });
  child.on("exit", (code, signal) => died(new Error(`the ${name} server died (exit ${code ?? signal}) during the benchmark`)));
  return { name, dist, child, url, commit: commitOf(dist) };
}

/** One WebSocket session of `pcm`; counts speech frames and those not in the asked format. */
function wsSession(host: Host, pcm: Buffer, kind: string, t: Tally): Promise<void> {
  return new Promise((resolve) => {
    const ws = new WebSocket(`${host.url.replace("http", "ws")}/ws`);
    let stop = () => {};
    let spf = 640;
    const done = () => { stop(); ws.close(); resolve(); };
    const guard = setTimeout(() => { t.errors++; done(); }, (SECONDS * 4 + 60) * 1000);
    ws.on("open", () => ws.send(JSON.stringify({
      type: "start", avatar: `${values.avatar}-standin`, sample_rate: 16000, channels: 1, frames: "binary", patch: kind === "patch",
    })));
    ws.on("message", (m: Buffer, binary) => {
      if (binary) {
        if (m[0] !== 0x10 || m[1] !== 1) return;
        t.frames++;
        return;
      }
      const j = JSON.parse(m.toString());
      if (j.type === "started") {
        spf = j.samples_per_frame;
        t.expected += Math.ceil(pcm.length / 2 / spf);
        stop = pace(pcm, (c) => ws.send(Buffer.concat([Buffer.of(0x01), c])), () => ws.send(JSON.stringify({ type: "end" })));
      } else if (j.type === "frames_dropped") {
        t.dropped += (j.end_pts - j.start_pts) / spf;
      } else if (j.type === "speech_ended") {
        clearTimeout(guard);
        done();
      }
    });
    ws.on("close", (code) => { if (code !== 1000 && code !== 1005) t.errors++; clearTimeout(guard); done(); });
    ws.on("error", () => undefined);
  });
}

/** CPU seconds of one /proc stat file so far: utime + stime, 100 ticks a second. */
function statSeconds(file: string): number {
  const f = readFileSync(file, "utf8").split(") ")[1]!.split(" ");
  return (Number(f[11]) + Number(f[12])) / 100;
}

/** CPU seconds of process `pid` so far: every thread, and split into main, jpeg (libvips) and other. */
function cpuSeconds(pid: number): { total: number; threads: Record<string, number> } {
  const threads: Record<string, number> = { main: 0, jpeg: 0, other: 0 };
  for (const tid of readdirSync(`/proc/${pid}/task`)) {
    try {
      const s = statSeconds(`/proc/${pid}/task/${tid}/stat`);
      const name = readFileSync(`/proc/${pid}/task/${tid}/comm`, "utf8").trim();
      threads[tid === String(pid) ? "main" : name.startsWith("libvips") ? "jpeg" : "other"]! += s;
    } catch {
      // the thread ended between the listing and the read
    }
  }
  // The process's own figure also counts threads that have ended.
  return { total: statSeconds(`/proc/${pid}/stat`), threads };
}

async function drive(host: Host, kind: string, pcm: Buffer): Promise<Tally> {
  const t: Tally = { frames: 0, expected: 0, dropped: 0, errors: 0 };
  if (kind === "raw") {
    host.child.send({ type: "drive", sessions: SESSIONS, seconds: SECONDS, avatar: `${values.avatar}-standin`, encoding: "rgb", patch: false });
    const { results } = await new Promise<{ results: { frames: number; dropped: number; expected: number; error: string | null }[] }>((r) => host.child.once("message", r as never));
    for (const x of results) Object.assign(t, { frames: t.frames + x.frames, expected: t.expected + x.expected, dropped: t.dropped + x.dropped, errors: t.errors + (x.error ? 1 : 0) });
    return t;
  }
  await Promise.all(Array.from({ length: SESSIONS }, (_, i) => new Promise((r) => setTimeout(r, (CHUNK_MS / SESSIONS) * i)).then(() => wsSession(host, pcm, kind, t))));
  return t;
}

const round3 = (x: number) => Number(x.toFixed(3));

async function run(host: Host, kind: string, pcm: Buffer, round: number) {
  const load = os.loadavg().map((l) => Number(l.toFixed(2)));
  const c0 = cpuSeconds(host.child.pid!);
  const t0 = performance.now();
  const t = await Promise.race([drive(host, kind, pcm), death]);
  const wall = (performance.now() - t0) / 1000;
  const c1 = cpuSeconds(host.child.pid!);
  const perFrame = (s: number) => round3((s * 1000) / Math.max(1, t.frames));
  // A thread that ended during the run takes its time out of its group's sum: "other" is the
  // rest of the process's total, which keeps it.
  const main = c1.threads.main! - c0.threads.main!;
  const jpeg = Math.max(0, c1.threads.jpeg! - c0.threads.jpeg!);
  const threads = { main: perFrame(main), jpeg: perFrame(jpeg), other: perFrame(Math.max(0, c1.total - c0.total - main - jpeg)) };
  const line = {
    bench: "pipeline", build: host.name, commit: host.commit, kind, round, sessions: SESSIONS, seconds: SECONDS, frames: t.frames, expected: t.expected,
    lost: t.expected - t.frames, dropped: t.dropped, errors: t.errors,
    cpu_ms_per_frame: perFrame(c1.total - c0.total), threads_ms_per_frame: threads, server_cpu_cores: round3((c1.total - c0.total) / wall),
    load_avg: load, machine: `${os.availableParallelism()} cores ${os.cpus()[0]?.model.replace(/\s+/g, " ").trim()}, Node ${process.version}`,
  };
  console.log(JSON.stringify(line));
  return line;
}

const hosts: Host[] = [];
try {
  const out = await standInPackage(path.join(values.avatars!, values.avatar!), values.avatar!, values.out!, { keepEncoder: values["keep-encoder"] });
  console.error(`stand-in package: ${out}`);
  hosts.push(await startHost("new", path.join(ROOT, "packages/server/dist"), `${values.avatar}-standin`));
  if (values.baseline) hosts.push(await startHost("baseline", path.resolve(values.baseline), `${values.avatar}-standin`));
  const pcm = speech(SECONDS);
  // Warm-up: a short session on each server (first JPEG, first batch shapes).
  for (const h of hosts) await Promise.race([drive(h, "patch", speech(2)), death]);
  const lines: Awaited<ReturnType<typeof run>>[] = [];
  for (let r = 1; r <= Number(values.rounds); r++) {
    for (const kind of KINDS) {
      const order = r % 2 ? hosts : [...hosts].reverse();
      for (const h of order) lines.push(await run(h, kind, pcm, r));
    }
  }
  for (const kind of KINDS) {
    const summary: Record<string, unknown> = { bench: "pipeline_summary", kind, sessions: SESSIONS };
    for (const h of hosts) {
      const mine = lines.filter((l) => l.kind === kind && l.build === h.name);
      summary[`${h.name}_cpu_ms_per_frame`] = mine.map((l) => l.cpu_ms_per_frame);
      summary[`${h.name}_lost`] = mine.reduce((s, l) => s + l.lost + l.errors, 0);
      summary[`${h.name}_commit`] = h.commit;
    }
    console.log(JSON.stringify(summary));
  }
} catch (err) {
  console.log(JSON.stringify({ bench: "pipeline", error: (err as Error).message }));
  process.exitCode = 1;
} finally {
  for (const h of hosts) {
    h.child.removeAllListeners("exit");
    if (h.child.exitCode === null) h.child.send({ type: "close" });
  }
}
