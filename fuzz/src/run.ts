/**
 * The fuzz driver: one server child, a /healthz prober beside it, and each transport's cases
 * run with bounded concurrency. A transport's result is one JSON-able object: cases, failures
 * by kind (with replayable examples), known findings, /healthz latency, memory before and after.
 *
 * Case k of transport T under seed S draws from Rng(S, "T:k"), so `--seed S --only T:k` replays
 * exactly that case.
 */
import { ServerChild, HealthProber, round, type ChildOptions, type MemoryFigures, type ProbeReport } from "./child.js";
import { GrpcFuzzer } from "./grpc.js";
import { HttpFuzzer } from "./http.js";
import { knownFinding } from "./known.js";
import { Tally, type FailureKind } from "./oracle.js";
import { Rng } from "./rng.js";
import type { CaseResult, FuzzTransport } from "./transport.js";
import { WsFuzzer } from "./ws.js";

export const TRANSPORTS = ["grpc", "connect", "grpc-web", "ws", "http"] as const;
export type TransportName = (typeof TRANSPORTS)[number];

export interface FuzzOptions {
  seed: number;
  /** Cases per transport. */
  cases: number;
  transports: readonly TransportName[];
  /** Cases in flight at once, per transport. */
  concurrency: number;
  /** Only these cases ("T:k"), for replaying a failure. */
  only?: string[];
  /** A /healthz probe slower than this fails the run, ms (see docs/fuzzing.md for the choice). */
  healthzMaxMs: number;
  /** Share of /healthz probes that may exceed 100 ms, 0..1 (1: not checked, only reported). */
  healthzSlowShare: number;
  /**
   * Memory outside the V8 heap (RSS less the main heap's size) after a transport's cases may
   * exceed its value before by this much: max(MB, share of RSS before). The V8 heap itself is
   * left out: it holds garbage until a collection the idle server may not run for 30 s.
   */
  rssSlackMb: number;
  rssSlackShare: number;
  /** Cases of each transport run first, before memory is measured (JIT, lazy initialisation, pools). */
  warmupCases: number;
  child?: ChildOptions;
  /** Called with each transport's result as it completes. */
  onResult?: (r: TransportResult) => void;
}

export const FUZZ_DEFAULTS: Omit<FuzzOptions, "seed"> = {
  cases: 2000, transports: TRANSPORTS, concurrency: 8, healthzMaxMs: 1000, healthzSlowShare: 1, rssSlackMb: 48, rssSlackShare: 0.1, warmupCases: 400,
};

/**
 * How the fuzzer starts the server: room for many sessions at once and no rate limit (admission
 * and limits are not under test), and HTTP/2 keepalive pings every 2 s with no drain, so that
 * connections the fuzzer broke are closed within 4 s, before descriptors are counted.
 */
export const FUZZ_SERVER_ARGS = ["--capacity", "32", "--rate-limit", "0", "--http2-keepalive", "2", "--drain-seconds", "0"];

export interface TransportResult {
  fuzz: TransportName;
  seed: number;
  cases: number;
  failed: number;
  failures: Partial<Record<FailureKind, number>>;
  known: Record<string, number>;
  examples: Tally["examples"];
  answers: Record<string, number>;
  seconds: number;
  healthz: { probes: number; max_ms: number; p50_ms: number; p99_ms: number; over_100ms: number; failed: number };
  /** growth_mb: RSS less the V8 heap (see rssSlackMb), after less before. */
  memory: { before: MemoryFigures; after: MemoryFigures; growth_mb: number; limit_mb: number };
  fds: { before: number; after: number };
  sessions_left: number;
  server_restarts: number;
}

function makeTransport(name: TransportName, child: ServerChild): FuzzTransport {
  switch (name) {
    case "grpc":
      return new GrpcFuzzer(child.url, child.port);
    case "connect":
    case "grpc-web":
    case "http":
      return new HttpFuzzer(name, child.url);
    case "ws":
      return new WsFuzzer(child.url);
  }
}

interface RunState {
  child: ServerChild;
  restarts: number;
  /** Set while a dead server is being replaced; every lane waits for it. */
  restarting: Promise<void> | undefined;
  prober: HealthProber | undefined;
  /** /healthz figures of probers replaced by a restart. */
  probes: ProbeReport[];
}

/** Runs the cases `indices` of `name` against the server, `concurrency` at a time. */
async function runCases(name: TransportName, options: FuzzOptions, state: RunState, indices: number[], tally: Tally | undefined): Promise<void> {
  let transport = makeTransport(name, state.child);
  let at = 0;
  const replace = async (deadCase: string, k: number) => {
    const dead = state.child;
    tally?.fail("server_died", deadCase, k, `exit ${JSON.stringify(dead.exit)}; stderr: ${dead.stderr.slice(-1500)}`);
    // Carry on against a fresh server, so one crash does not hide the rest.
    await transport.close();
    if (state.prober) {
      state.probes.push(await state.prober.report());
      await state.prober.stop();
    }
    state.child = await ServerChild.start(options.child);
    state.restarts++;
    if (state.prober) state.prober = new HealthProber(state.child);
    transport = makeTransport(name, state.child);
  };
  const lane = async () => {
    while (at < indices.length) {
      const k = indices[at++]!;
      await state.restarting;
      const child = state.child;
      const c = transport.next(new Rng(options.seed, `${name}:${k}`));
      let r: CaseResult;
      const t0 = performance.now();
      try {
        r = await c.run();
      } catch (err) {
        // A fuzzer bug, not a server failure: say so loudly, and carry on.
        process.stderr.write(`fuzzer error in ${name}:${k} (${c.name}): ${(err as Error).stack}\n`);
        continue;
      }
      if (!child.alive) {
        // The first lane to see this server dead replaces it; the others wait.
        if (state.child === child && !state.restarting) state.restarting = replace(c.name, k).finally(() => (state.restarting = undefined));
        await state.restarting;
        continue;
      }
      if (process.env.FUZZ_TRACE) process.stderr.write(`${name}:${k} ${Math.round(performance.now() - t0)}ms ${c.name.slice(0, 60)} -> ${r.answer} ${r.verdict.failure ?? ""} ${r.verdict.detail.slice(0, 100)}\n`);
      tally?.record(c.name, k, r.answer, r.verdict, r.verdict.failure ? knownFinding(name, c.name, r) : undefined);
    }
  };
  await Promise.all(Array.from({ length: options.concurrency }, lane));
  await transport.close();
}

/** One report of several probers' (a restart replaces the prober). */
function mergeProbes(reports: ProbeReport[]): ProbeReport {
  return {
    count: reports.reduce((s, r) => s + r.count, 0), failures: reports.flatMap((r) => r.failures), maxMs: Math.max(0, ...reports.map((r) => r.maxMs)),
    p50Ms: Math.max(0, ...reports.map((r) => r.p50Ms)), p99Ms: Math.max(0, ...reports.map((r) => r.p99Ms)), over100: reports.reduce((s, r) => s + r.over100, 0),
  };
}

/** Descriptors that may come and go between two counts: a prober's socket, a pooled connection. */
const FD_SLACK = 8;

const range = (from: number, to: number) => Array.from({ length: Math.max(0, to - from) }, (_, i) => from + i);

export async function runFuzz(options: FuzzOptions): Promise<TransportResult[]> {
  const state: RunState = { child: await ServerChild.start(options.child), restarts: 0, restarting: undefined, prober: undefined, probes: [] };
  const results: TransportResult[] = [];
  try {
    // Warm-up: a few cases of every transport, uncounted (their indices lie past the counted ones).
    if (!options.only) {
      for (const name of options.transports) await runCases(name, options, state, range(1_000_000, 1_000_000 + options.warmupCases), undefined);
      await state.child.quiesce();
    }
    for (const name of options.transports) {
      const picked = options.only?.filter((o) => o.startsWith(`${name}:`)).map((o) => Number(o.split(":")[1]));
      if (picked && picked.length === 0) continue;
      state.prober = new HealthProber(state.child);
      state.probes = [];
      const before = await state.child.memory();
      const fdsBefore = state.child.fdCount();
      const restarts = state.restarts;
      const tally = new Tally();
      const t0 = performance.now();
      await runCases(name, options, state, picked ?? range(0, options.cases), tally);
      const seconds = (performance.now() - t0) / 1000;
      const probes = mergeProbes([...state.probes, await state.prober.report()]);
      await state.prober.stop();
      state.prober = undefined;
      const quiet = await state.child.quiesce();
      const sessionsLeft = quiet ? 0 : await state.child.sessions().catch(() => -1);
      // Let sockets of cut clients time out and the allocator settle before measuring.
      await new Promise((r) => setTimeout(r, 1000));
      const after = await state.child.memory();
      // Connections the cases broke close within two keepalive periods (FUZZ_SERVER_ARGS).
      let fdsAfter = state.child.fdCount();
      for (const until = performance.now() + 6000; fdsAfter > fdsBefore + FD_SLACK && performance.now() < until; fdsAfter = state.child.fdCount()) {
        await new Promise((r) => setTimeout(r, 200));
      }
      results.push(judge(name, options, tally, probes, before, after, fdsBefore, fdsAfter, sessionsLeft, seconds, state.restarts - restarts));
      options.onResult?.(results.at(-1)!);
    }
  } finally {
    await state.child.stop();
  }
  return results;
}

function judge(name: TransportName, options: FuzzOptions, tally: Tally, probes: ProbeReport, before: MemoryFigures, after: MemoryFigures, fdsBefore: number, fdsAfter: number,
  sessionsLeft: number, seconds: number, restarts: number): TransportResult {
  const outsideHeap = (m: MemoryFigures) => m.rssMb - (m.heapTotalMb ?? 0);
  const growth = round(outsideHeap(after) - outsideHeap(before));
  const limit = round(Math.max(options.rssSlackMb, before.rssMb * options.rssSlackShare));
  if (probes.failures.length) tally.fail("healthz_failed", "healthz", -1, probes.failures.slice(0, 3).join("; "));
  if (probes.maxMs > options.healthzMaxMs || probes.over100 > options.healthzSlowShare * probes.count) {
    tally.fail("healthz_slow", "healthz", -1, `max ${probes.maxMs} ms, ${probes.over100} of ${probes.count} probes over 100 ms`);
  }
  // After a restart the figures before belong to another process.
  if (!options.only && restarts === 0 && growth > limit) {
    tally.fail("rss", "rss", -1, `RSS less V8 heap grew ${growth} MB (limit ${limit} MB): RSS ${before.rssMb} -> ${after.rssMb} MB, heap ${before.heapTotalMb} -> ${after.heapTotalMb} MB`);
  }
  // A few descriptors may come and go (a prober's socket, a pooled connection); a leak grows with cases.
  if (!options.only && restarts === 0 && fdsAfter > fdsBefore + FD_SLACK) tally.fail("fd", "fd", -1, `open descriptors ${fdsBefore} -> ${fdsAfter}`);
  return {
    fuzz: name, seed: options.seed, cases: tally.cases, failed: tally.failed, failures: Object.fromEntries(tally.failures), known: Object.fromEntries(tally.known),
    examples: tally.examples, answers: Object.fromEntries([...tally.answers].sort((a, b) => b[1] - a[1]).slice(0, 25)), seconds: round(seconds),
    healthz: { probes: probes.count, max_ms: probes.maxMs, p50_ms: probes.p50Ms, p99_ms: probes.p99Ms, over_100ms: probes.over100, failed: probes.failures.length },
    memory: { before, after, growth_mb: growth, limit_mb: limit }, fds: { before: fdsBefore, after: fdsAfter }, sessions_left: sessionsLeft, server_restarts: restarts,
  };
}
