/**
 * Counters and latency figures: Prometheus metrics for /metrics (prom-client, own registry so
 * several servers can live in one process, as tests do) and rolling p50/p99 per stage for
 * GetStats and the WebSocket stats message. docs/metrics.md lists every metric with queries.
 *
 * Names follow the conventions dashboards already know: Node's process metrics unprefixed
 * (process_cpu_seconds_total, nodejs_heap_size_used_bytes, ...), RPCs as go-grpc-prometheus
 * names them (grpc_server_handled_total, grpc_server_handling_seconds), ours under lipsync_.
 */
import { Counter, Gauge, Histogram, Registry, collectDefaultMetrics } from "prom-client";
import type { StageTimings } from "./engine/renderer.js";

export const STAGES = ["prepare", "queue", "inference", "composite", "encode", "total"] as const;
export type Stage = (typeof STAGES)[number];

/** The last `capacity` samples of one figure. */
class Window {
  private readonly values: Float64Array;
  private next = 0;
  private filled = 0;

  constructor(capacity: number) {
    this.values = new Float64Array(capacity);
  }

  add(v: number): void {
    this.values[this.next] = v;
    this.next = (this.next + 1) % this.values.length;
    this.filled = Math.min(this.filled + 1, this.values.length);
  }

  percentile(p: number): number {
    if (this.filled === 0) return 0;
    const sorted = Array.from(this.values.subarray(0, this.filled)).sort((a, b) => a - b);
    return sorted[Math.min(sorted.length - 1, Math.floor(p * sorted.length))]!;
  }

  get count(): number {
    return this.filled;
  }
}

export type Transport = "grpc" | "grpc-web" | "connect" | "ws-json" | "ws-binary";

/** Latency buckets, seconds: a millisecond to 10 s (a stalled frame or a slow load). */
const LATENCY_BUCKETS = [0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10];
/** Per-stage buckets start finer: a stage can take a fraction of a millisecond. */
const STAGE_BUCKETS = [0.0005, 0.001, 0.002, 0.005, 0.01, 0.02, 0.04, 0.08, 0.16, 0.32, 0.64, 1.28, 2.5, 5, 10];

/** One finished RPC, for the per-method figures. */
export interface RpcRecord {
  service: string;
  method: string;
  /** unary, server_stream, client_stream or bidi_stream (go-grpc-prometheus's grpc_type). */
  type: string;
  /** The gRPC code name: OK, InvalidArgument, Unimplemented, ... */
  code: string;
  protocol: "grpc" | "grpc-web" | "connect";
  seconds: number;
}

export class Stats {
  readonly registry = new Registry();
  readonly startedAt = Date.now();
  readonly requests = new Map<string, number>();
  readonly transports = new Map<Transport, number>();
  framesRendered = 0;
  framesDropped = 0;
  sessionsRefused = 0;
  activeSessions = 0;
  websocketClients = 0;
  private readonly windows = new Map<Stage, Window>(STAGES.map((s) => [s, new Window(2048)]));
  private batchFrames = 0;
  private batchRuns = 0;
  private readonly promRequests: Counter<"method" | "transport">;
  private readonly promFrames: Counter<"kind">;
  private readonly promStage: Histogram<"stage">;
  private readonly promSessions: Gauge;
  private readonly promSessionsTotal: Counter;
  private readonly promWs: Gauge;
  private readonly promHandled: Counter<"grpc_service" | "grpc_method" | "grpc_type" | "grpc_code" | "protocol">;
  private readonly promHandling: Histogram<"grpc_service" | "grpc_method" | "grpc_type" | "grpc_code" | "protocol">;
  private readonly promFirstFrame: Histogram;
  private readonly promRefused: Counter;

  constructor() {
    collectDefaultMetrics({ register: this.registry });
    this.promRequests = new Counter({ name: "lipsync_requests_total", help: "Requests by method and transport", labelNames: ["method", "transport"], registers: [this.registry] });
    this.promFrames = new Counter({ name: "lipsync_frames_total", help: "Frames sent by kind", labelNames: ["kind"], registers: [this.registry] });
    this.promStage = new Histogram({
      name: "lipsync_stage_seconds",
      help: "Per-frame time per pipeline stage",
      labelNames: ["stage"],
      buckets: STAGE_BUCKETS,
      registers: [this.registry],
    });
    this.promSessions = new Gauge({ name: "lipsync_active_sessions", help: "Live speech sessions", registers: [this.registry] });
    this.promSessionsTotal = new Counter({ name: "lipsync_sessions_total", help: "Speech sessions opened", registers: [this.registry] });
    const rpcLabels = ["grpc_service", "grpc_method", "grpc_type", "grpc_code", "protocol"] as const;
    this.promHandled = new Counter({ name: "grpc_server_handled_total", help: "RPCs completed on the server, by method and status code", labelNames: rpcLabels, registers: [this.registry] });
    this.promHandling = new Histogram({
      name: "grpc_server_handling_seconds",
      help: "RPC time from request to status, by method and status code (streams: the whole stream)",
      labelNames: rpcLabels,
      buckets: LATENCY_BUCKETS,
      registers: [this.registry],
    });
    this.promFirstFrame = new Histogram({
      name: "lipsync_first_frame_seconds",
      help: "From the first audio of an utterance reaching the session to its first speech frame leaving it",
      buckets: LATENCY_BUCKETS,
      registers: [this.registry],
    });
    this.promWs = new Gauge({ name: "lipsync_websocket_clients", help: "Open WebSocket connections", registers: [this.registry] });
    this.promRefused = new Counter({ name: "lipsync_sessions_refused_total", help: "Sessions refused because the server was at capacity", registers: [this.registry] });
  }

  request(method: string, transport: Transport): void {
    this.requests.set(method, (this.requests.get(method) ?? 0) + 1);
    this.transports.set(transport, (this.transports.get(transport) ?? 0) + 1);
    this.promRequests.inc({ method, transport });
  }

  rpc(r: RpcRecord): void {
    const labels = { grpc_service: r.service, grpc_method: r.method, grpc_type: r.type, grpc_code: r.code, protocol: r.protocol };
    this.promHandled.inc(labels);
    this.promHandling.observe(labels, r.seconds);
  }

  /** An RPC to a method this server does not have (`procedure` is "unknown" unless ours). */
  unimplemented(procedure: string, protocol: RpcRecord["protocol"]): void {
    const [service = "unknown", method = "unknown"] = procedure.split("/");
    this.rpc({ service, method, type: "unknown", code: "Unimplemented", protocol, seconds: 0 });
  }

  firstFrame(seconds: number): void {
    this.promFirstFrame.observe(seconds);
  }

  rendered(t: StageTimings): void {
    this.framesRendered++;
    this.promFrames.inc({ kind: "speech" });
    const values: Record<Stage, number> = {
      prepare: t.prepareMs, queue: t.queueMs, inference: t.inferenceMs, composite: t.compositeMs, encode: t.encodeMs, total: t.totalMs,
    };
    for (const stage of STAGES) {
      this.windows.get(stage)!.add(values[stage]);
      this.promStage.observe({ stage }, values[stage] / 1000);
    }
    this.batchFrames += 1;
    this.batchRuns += 1 / Math.max(1, t.batchSize);
  }

  /** Speech frames dropped unrendered to keep a session within its latency bound. */
  dropped(frames: number): void {
    this.framesDropped += frames;
    this.promFrames.inc({ kind: "dropped" }, frames);
  }

  idleFrame(): void {
    this.promFrames.inc({ kind: "idle" });
  }

  /** A session refused for capacity. */
  sessionRefused(): void {
    this.sessionsRefused++;
    this.promRefused.inc();
  }

  sessionOpened(): void {
    this.activeSessions++;
    this.promSessionsTotal.inc();
    this.promSessions.set(this.activeSessions);
  }

  sessionClosed(): void {
    this.activeSessions--;
    this.promSessions.set(this.activeSessions);
  }

  wsOpened(): void {
    this.websocketClients++;
    this.promWs.set(this.websocketClients);
  }

  wsClosed(): void {
    this.websocketClients--;
    this.promWs.set(this.websocketClients);
  }

  stages(): { stage: Stage; p50: number; p99: number; count: number }[] {
    return STAGES.map((stage) => {
      const w = this.windows.get(stage)!;
      return { stage, p50: w.percentile(0.5), p99: w.percentile(0.99), count: w.count };
    });
  }

  /** Mean frames per model run, over frames rendered so far. */
  get meanBatchSize(): number {
    return this.batchRuns ? this.batchFrames / this.batchRuns : 0;
  }

  get totalRequests(): number {
    let n = 0;
    for (const v of this.requests.values()) n += v;
    return n;
  }
}
