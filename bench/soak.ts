/**
 * Soak: N WebSocket clients talk to one server for M minutes, as a voice agent's callers do:
 * utterances of held-out speech in real time with pauses between them, reconnecting every few
 * utterances. A quarter of the clients drop the connection in the middle of half their
 * utterances (no close frame) and come back; a quarter read slowly (whole frames, the socket
 * paused for seconds at a time).
 *
 *   pnpm bench:soak [--sessions 8] [--minutes 10] [--sample-seconds 5] [--seed 1] [--cli packages/server/dist/cli.js] [--server-args="..."]
 *
 * One JSON line. It holds (`ok`) when:
 * - every healthy client's utterance is accounted for: frames delivered + frames the server
 *   reported dropped (frames_dropped, past its latency bound on an overloaded machine) = the
 *   utterance's ceil(samples / samples_per_frame), none lost silently, no session failed;
 * - resident memory after warm-up grows at most 5 % (median of the last tenth of the samples vs
 *   the tenth right after warm-up; warm-up is the first tenth of the run, at least a minute);
 * - open descriptors do not grow: the server's descriptors less the clients' open sockets, the
 *   same comparison, at most 2 more; and at rest after the run, at most 2 more than at rest
 *   before it.
 * The load average before and after is printed too: other work on the machine shows there.
 */
import { execSync } from "node:child_process";
import os from "node:os";
import { parseArgs } from "node:util";
import WebSocket from "ws";
import { HealthProber, ServerChild, round } from "../fuzz/src/child.js";
import { Rng } from "../fuzz/src/rng.js";
import { pace, speech } from "./live.mjs";

const { values } = parseArgs({
  options: {
    sessions: { type: "string", default: "8" }, minutes: { type: "string", default: "10" }, "sample-seconds": { type: "string", default: "5" },
    seed: { type: "string", default: "1" }, cli: { type: "string" }, "server-args": { type: "string", default: "" },
  },
});
const SESSIONS = Number(values.sessions);
const RUN_MS = Number(values.minutes) * 60_000;
const SAMPLE_MS = Number(values["sample-seconds"]) * 1000;
const WARMUP_MS = Math.max(60_000, RUN_MS / 10);
const SPEECH = speech(60);

type Behaviour = "healthy" | "dropper" | "slow";

/** Client i's behaviour: half healthy, a quarter each dropping and slow (1 healthy client at least). */
function behaviourOf(i: number): Behaviour {
  return i % 4 === 2 ? "dropper" : i % 4 === 3 ? "slow" : "healthy";
}

interface Tally {
  utterances: number;
  expected: number;
  delivered: number;
  /** Reported by the server with frames_dropped (late past its latency bound). */
  dropped: number;
  /** Neither delivered nor reported: a silent loss. */
  lost: number;
  connections: number;
  droppedMid: number;
  /** Unexpected closes, refusals, timeouts, with their reasons. */
  errors: string[];
  latency: number[];
}

const tallies: Record<Behaviour, Tally> = {
  healthy: emptyTally(), dropper: emptyTally(), slow: emptyTally(),
};

function emptyTally(): Tally {
  return { utterances: 0, expected: 0, delivered: 0, dropped: 0, lost: 0, connections: 0, droppedMid: 0, errors: [], latency: [] };
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
let openSockets = 0;

/** Resolves with the first value `pick` returns for a message, or rejects after `ms`. */
function waitMessage<T>(ws: WebSocket, ms: number, pick: (data: Buffer, binary: boolean) => T | undefined): Promise<T> {
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => done(new Error(`no answer in ${ms} ms`)), ms);
    const onMessage = (data: Buffer, binary: boolean) => {
      const v = pick(data, binary);
      if (v !== undefined) done(undefined, v);
    };
    const onClose = (code: number, reason: Buffer) => done(new Error(`closed ${code} ${reason.toString()}`));
    const done = (err?: Error, v?: T) => {
      clearTimeout(timer);
      ws.off("message", onMessage);
      ws.off("close", onClose);
      if (err) reject(err);
      else resolve(v!);
    };
    ws.on("message", onMessage);
    ws.on("close", onClose);
  });
}

/** One connection: start, 1-4 utterances with pauses, then a normal close (or a drop mid-utterance). */
async function connection(url: string, behaviour: Behaviour, rng: Rng, deadline: number): Promise<void> {
  const t = tallies[behaviour];
  const ws = new WebSocket(url, { perMessageDeflate: false });
  openSockets++;
  ws.on("close", () => openSockets--);
  ws.on("error", () => undefined);
  t.connections++;
  try {
    await new Promise<void>((resolve, reject) => {
      ws.once("open", () => resolve());
      ws.once("error", reject);
    });
    ws.send(JSON.stringify({ type: "start", avatar: "demo", sample_rate: 16000, encoding: "pcm_s16le", channels: 1, frames: "binary", patch: behaviour !== "slow" }));
    const started = await waitMessage(ws, 30_000, (d, binary) => {
      if (binary) return undefined;
      const m = JSON.parse(d.toString()) as { type: string; samples_per_frame: number; avatar?: { model?: { lookahead_frames?: number } } };
      return m.type === "started" ? m : undefined;
    });
    const spf = started.samples_per_frame;
    const lookahead = started.avatar?.model?.lookahead_frames ?? 2;
    for (let n = rng.int(1, 4); n > 0 && performance.now() < deadline; n--) {
      const seconds = 1.5 + rng.next() * 3.5;
      const from = rng.int(0, SPEECH.length / 2 - Math.ceil(seconds * 16000)) * 2;
      const pcm = SPEECH.subarray(from, from + Math.ceil(seconds * 16000) * 2);
      const samples = pcm.length / 2;
      const expected = Math.ceil(samples / spf);
      const sentAt: number[] = [];
      let delivered = 0;
      let dropped = 0;
      let startPts: number | undefined;
      const onMessage = (d: Buffer, binary: boolean) => {
        if (binary) {
          if (d[0] !== 0x10 || d[1] !== 1) return;
          delivered++;
          if (behaviour === "healthy" && startPts !== undefined) {
            const frame = (d.readDoubleLE(12) - startPts) / spf;
            const need = Math.min(sentAt.length - 1, Math.ceil(Math.min(samples, (frame + 1 + lookahead) * spf) / 640) - 1);
            if (need >= 0 && sentAt[need] !== undefined) t.latency.push(performance.now() - sentAt[need]!);
          }
          return;
        }
        const m = JSON.parse(d.toString()) as { type: string; pts?: number; start_pts?: number; end_pts?: number };
        if (m.type === "speech_started") startPts ??= m.pts;
        if (m.type === "frames_dropped") dropped += (m.end_pts! - m.start_pts!) / spf;
      };
      ws.on("message", onMessage);
      // A dropping client drops half its utterances somewhere in the middle.
      const dropAt = behaviour === "dropper" && rng.chance(0.5) ? Math.floor((rng.int(20, 80) / 100) * (samples / 640)) : -1;
      let stopPacing = () => {};
      const ended = waitMessage(ws, (seconds + 60) * 1000, (d, binary) => (!binary && (JSON.parse(d.toString()) as { type: string }).type === "speech_ended" ? true : undefined));
      ended.catch(() => undefined);
      const dropping = new Promise<boolean>((resolve) => {
        stopPacing = pace(pcm, (chunk, k) => {
          if (k === dropAt) {
            stopPacing();
            ws.terminate();
            resolve(true);
            return;
          }
          if (ws.readyState === ws.OPEN) ws.send(Buffer.concat([Buffer.of(0x01), chunk]));
        }, () => {
          if (ws.readyState === ws.OPEN) ws.send(JSON.stringify({ type: "end" }));
          resolve(false);
        }, sentAt);
      });
      if (behaviour === "slow") {
        // Stops reading for 2-5 s while the utterance streams: the server's queue and the
        // socket's buffer fill, and its backpressure holds the speech back.
        void sleep(rng.int(200, 1500)).then(() => {
          const socket = (ws as unknown as { _socket?: { pause(): void; resume(): void } })._socket;
          socket?.pause();
          return sleep(rng.int(2000, 5000)).then(() => socket?.resume());
        });
      }
      if (await dropping) {
        t.droppedMid++;
        return;
      }
      try {
        await ended;
      } catch (err) {
        stopPacing();
        t.errors.push(`utterance: ${(err as Error).message}`);
        return;
      } finally {
        ws.off("message", onMessage);
      }
      t.utterances++;
      t.expected += expected;
      t.delivered += delivered;
      t.dropped += dropped;
      t.lost += Math.max(0, expected - delivered - dropped);
      await sleep(rng.int(300, 2000));
    }
    ws.close(1000);
    await new Promise((r) => (ws.readyState === ws.CLOSED ? r(undefined) : ws.once("close", r)));
  } catch (err) {
    t.errors.push((err as Error).message);
    ws.terminate();
  }
}

async function client(url: string, i: number, deadline: number): Promise<void> {
  const rng = new Rng(Number(values.seed), `soak:${i}`);
  while (performance.now() < deadline) {
    await connection(url, behaviourOf(i), rng, deadline);
    await sleep(rng.int(200, 1000));
  }
}

interface Sample {
  t: number;
  rss: number;
  fds: number;
  sockets: number;
}

const median = (xs: number[]) => {
  const s = [...xs].sort((a, b) => a - b);
  return s.length ? s[Math.floor(s.length / 2)]! : NaN;
};
const percentile = (xs: number[], p: number) => {
  const s = [...xs].sort((a, b) => a - b);
  return s.length ? round(s[Math.min(s.length - 1, Math.floor(p * s.length))]!) : null;
};

const load = () => os.loadavg().map((x) => round(x, 2));
const loadBefore = load();
const server = await ServerChild.start({
  ...(values.cli ? { cli: values.cli } : {}),
  // Admission is not under test: every client gets its session, as in bench:sessions.
  args: ["--capacity", "100000", "--max-sessions", "100000", "--preload", "demo", ...values["server-args"]!.split(" ").filter(Boolean)],
});
const url = `ws://127.0.0.1:${server.port}/ws`;
const prober = new HealthProber(server);
const rest = async () => {
  await server.quiesce(30_000);
  await sleep(2000);
  return { rss: round(server.rssMb()), fds: server.fdCount() };
};
const atRestBefore = await rest();
const samples: Sample[] = [];
const t0 = performance.now();
const sampler = setInterval(() => samples.push({ t: performance.now() - t0, rss: server.rssMb(), fds: server.fdCount(), sockets: openSockets }), SAMPLE_MS);
const deadline = t0 + RUN_MS;
await Promise.all(Array.from({ length: SESSIONS }, (_, i) => sleep((40 / SESSIONS) * i).then(() => client(url, i, deadline))));
clearInterval(sampler);
const runSeconds = (performance.now() - t0) / 1000;
const probes = await prober.report();
await prober.stop();
const atRestAfter = await rest();
const loadAfter = load();
await server.stop();

// Growth after warm-up: the tenth of the samples right after warm-up against the last tenth.
const after = samples.filter((s) => s.t >= WARMUP_MS);
const w = Math.max(3, Math.floor(after.length / 10));
const early = after.slice(0, w);
const late = after.slice(-w);
const rssWarm = median(early.map((s) => s.rss));
const rssEnd = median(late.map((s) => s.rss));
const rssGrowthPct = round(((rssEnd - rssWarm) / rssWarm) * 100, 2);
const fdWarm = median(early.map((s) => s.fds - s.sockets));
const fdEnd = median(late.map((s) => s.fds - s.sockets));
const h = tallies.healthy;
const summary = (t: Tally) => ({
  connections: t.connections, utterances: t.utterances, expected: t.expected, delivered: t.delivered, dropped: t.dropped, lost: t.lost,
  dropped_mid_utterance: t.droppedMid, errors: t.errors.length, first_errors: t.errors.slice(0, 3),
});
const checks = {
  healthy_frames_accounted: h.utterances > 0 && h.lost === 0 && h.errors.length === 0,
  rss_growth_within_5pct: after.length >= 6 && rssGrowthPct <= 5,
  no_fd_growth: fdEnd - fdWarm <= 2 && atRestAfter.fds - atRestBefore.fds <= 2,
};
console.log(JSON.stringify({
  bench: "soak", sessions: SESSIONS, minutes: round(runSeconds / 60, 2), warmup_minutes: round(WARMUP_MS / 60_000, 2),
  clients: { healthy: summary(tallies.healthy), dropper: summary(tallies.dropper), slow: summary(tallies.slow) },
  healthy_latency_ms: { p50: percentile(h.latency, 0.5), p99: percentile(h.latency, 0.99), max: percentile(h.latency, 1) },
  rss_mb: { at_rest_before: atRestBefore.rss, after_warmup: round(rssWarm), end: round(rssEnd), max: round(Math.max(...samples.map((s) => s.rss))), at_rest_after: atRestAfter.rss },
  rss_growth_pct: rssGrowthPct,
  fds: { at_rest_before: atRestBefore.fds, at_rest_after: atRestAfter.fds, less_sockets_after_warmup: fdWarm, less_sockets_end: fdEnd },
  healthz: { probes: probes.count, p50_ms: probes.p50Ms, p99_ms: probes.p99Ms, max_ms: probes.maxMs, failed: probes.failures.length },
  load_avg_before: loadBefore, load_avg_after: loadAfter, checks, ok: Object.values(checks).every(Boolean),
  machine: `${os.availableParallelism()} cores ${os.cpus()[0]?.model.replace(/\s+/g, " ").trim()}, Node ${process.version}`,
  commit: (() => {
    try {
      return execSync("git rev-parse --short HEAD", { stdio: ["ignore", "pipe", "ignore"] }).toString().trim();
    } catch {
      return "unknown";
    }
  })(),
}));
process.exitCode = Object.values(checks).every(Boolean) ? 0 : 1;
