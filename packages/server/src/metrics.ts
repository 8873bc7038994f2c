/**
 * Counters and latency figures: Prometheus metrics for /metrics (prom-client, own registry so
 * several servers can live in one process, as tests do) and rolling p50/p99 per stage for
 * GetStats and the WebSocket stats message.
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
  private readonly promWs: Gauge;
  private readonly promRefused: Counter;

  constructor() {
    collectDefaultMetrics({ register: this.registry, prefix: "lipsync_" });
    this.promRequests = new Counter({ name: "lipsync_requests_total", help: "Requests by method and transport", labelNames: ["method", "transport"], registers: [this.registry] });
    this.promFrames = new Counter({ name: "lipsync_frames_total", help: "Frames sent by kind", labelNames: ["kind"], registers: [this.registry] });
    this.promStage = new Histogram({
      name: "lipsync_stage_seconds",
      help: "Per-frame time per pipeline stage",
      labelNames: ["stage"],
      buckets: [0.0005, 0.001, 0.002, 0.005, 0.01, 0.02, 0.04, 0.08, 0.16, 0.32, 0.64],
      registers: [this.registry],
    });
    this.promSessions = new Gauge({ name: "lipsync_active_sessions", help: "Live speech sessions", registers: [this.registry] });
    this.promWs = new Gauge({ name: "lipsync_websocket_clients", help: "Open WebSocket connections", registers: [this.registry] });
    this.promRefused = new Counter({ name: "lipsync_sessions_refused_total", help: "Sessions refused because the server was at capacity", registers: [this.registry] });
  }

  request(method: string, transport: Transport): void {
    this.requests.set(method, (this.requests.get(method) ?? 0) + 1);
    this.transports.set(transport, (this.transports.get(transport) ?? 0) + 1);
    this.promRequests.inc({ method, transport });
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
