/**
 * Resident memory of a server child process through a day in its life: at rest after loading,
 * after live sessions, after hostile input, and after idling (V8 returns its heap about 30 s
 * into idleness; native memory comes back or it does not).
 *
 *   pnpm bench:memory [--sessions 6] [--seconds 20] [--rounds 3] [--fuzz-cases 1000] [--idle-seconds 40] [--env MALLOC_ARENA_MAX=2,...]
 *
 * Load: `--rounds` rounds of `--sessions` WebSocket sessions speaking `--seconds` of held-out
 * speech in real time (half as mouth patches, half as whole frames). Abuse: `--fuzz-cases`
 * cases of each protocol transport of `pnpm fuzz`. One JSON line: at each point RSS, the main
 * V8 heap, external memory (Buffers, ArrayBuffers) and what lies outside both (native: workers,
 * ONNX Runtime, libvips, the allocator), in MB. `--env` sets environment variables of the server
 * (glibc's MALLOC_* among them), to compare settings on the same machine.
 */
import { execSync } from "node:child_process";
import { readFileSync } from "node:fs";
import os from "node:os";
import { parseArgs } from "node:util";
import WebSocket from "ws";
import { ServerChild, round } from "../fuzz/src/child.js";
import { GrpcFuzzer } from "../fuzz/src/grpc.js";
import { HttpFuzzer } from "../fuzz/src/http.js";
import { Rng } from "../fuzz/src/rng.js";
import type { FuzzTransport } from "../fuzz/src/transport.js";
import { WsFuzzer } from "../fuzz/src/ws.js";
import { pace, speech } from "./live.mjs";

const { values } = parseArgs({
  options: {
    sessions: { type: "string", default: "6" }, seconds: { type: "string", default: "20" }, rounds: { type: "string", default: "3" },
    "fuzz-cases": { type: "string", default: "1000" }, "idle-seconds": { type: "string", default: "40" }, env: { type: "string", default: "" }, cli: { type: "string" },
  },
});
const env = Object.fromEntries(values.env!.split(",").filter(Boolean).map((kv) => kv.split("=") as [string, string]));
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

const server = await ServerChild.start({
  ...(values.cli ? { cli: values.cli } : {}), env: { ...process.env, ...env },
  args: ["--capacity", "100000", "--max-sessions", "100000", "--http2-keepalive", "2", "--preload", "demo"],
});

async function point() {
  const m = await server.memory();
  const anon = Number(/Anonymous:\s+(\d+)/.exec(readFileSync(`/proc/${server.pid}/smaps_rollup`, "utf8"))?.[1] ?? NaN) / 1024;
  return { rss: m.rssMb, heap: m.heapTotalMb, external: m.externalMb, native: round(m.rssMb - (m.heapTotalMb ?? 0) - (m.externalMb ?? 0)), anon: round(anon), threads: server.threadCount() };
}

/** One live session: `pcm` in real time, then end; resolves when the utterance has ended. */
function session(pcm: Buffer, patch: boolean): Promise<void> {
  return new Promise((resolve) => {
    const ws = new WebSocket(`ws://127.0.0.1:${server.port}/ws`, { perMessageDeflate: false });
    const timer = setTimeout(() => ws.terminate(), (pcm.length / 32000 + 120) * 1000);
    ws.on("open", () => ws.send(JSON.stringify({ type: "start", avatar: "demo", sample_rate: 16000, frames: "binary", patch })));
    ws.on("message", (d, binary) => {
      if (binary) return;
      const m = JSON.parse(d.toString()) as { type: string };
      if (m.type === "started") pace(pcm, (chunk) => ws.send(Buffer.concat([Buffer.of(0x01), chunk])), () => ws.send(JSON.stringify({ type: "end" })));
      if (m.type === "speech_ended") ws.close();
    });
    ws.on("close", () => {
      clearTimeout(timer);
      resolve();
    });
    ws.on("error", () => undefined);
  });
}

const points: Record<string, Awaited<ReturnType<typeof point>>> = {};
try {
  points.start = await point();
  const pcm = speech(Number(values.seconds));
  for (let r = 0; r < Number(values.rounds); r++) await Promise.all(Array.from({ length: Number(values.sessions) }, (_, i) => session(pcm, i % 2 === 0)));
  await server.quiesce();
  points.after_load = await point();
  const transports: FuzzTransport[] = [new GrpcFuzzer(server.url, server.port), new HttpFuzzer("connect", server.url), new HttpFuzzer("grpc-web", server.url), new WsFuzzer(server.url)];
  for (const t of transports) {
    let k = 0;
    await Promise.all(Array.from({ length: 8 }, async () => {
      while (k < Number(values["fuzz-cases"])) await t.next(new Rng(1, `${t.name}:${k++}`)).run();
    }));
    await t.close();
  }
  await server.quiesce();
  points.after_abuse = await point();
  await sleep(Number(values["idle-seconds"]) * 1000);
  points.idle = await point();
} finally {
  await server.stop();
}
console.log(JSON.stringify({
  bench: "memory", env, sessions: Number(values.sessions), seconds: Number(values.seconds), rounds: Number(values.rounds), fuzz_cases: Number(values["fuzz-cases"]),
  idle_seconds: Number(values["idle-seconds"]), mb: points, growth_at_idle_mb: round(points.idle!.rss - points.start!.rss),
  load_avg: os.loadavg().map((x) => round(x, 2)), machine: `${os.availableParallelism()} cores ${os.cpus()[0]?.model.replace(/\s+/g, " ").trim()}, Node ${process.version}`,
  commit: (() => {
    try {
      return execSync("git rev-parse --short HEAD", { stdio: ["ignore", "pipe", "ignore"] }).toString().trim();
    } catch {
      return "unknown";
    }
  })(),
}));
