/**
 * Server options: one typed object with explicit defaults. Flags and environment variables are
 * read only in cli.ts; everything else receives a resolved `ServerConfig`.
 */
import os from "node:os";

export type MemoryMode = "preload" | "lazy";
/** An ONNX Runtime execution provider the engine runs on. */
export type Provider = "cpu" | "cuda";
/**
 * What `--device` names: the CPU, the first GPU (`cuda`, the same as `cuda:0`), or GPU N
 * (`cuda:N`, numbered as CUDA numbers the GPUs this process sees: CUDA_VISIBLE_DEVICES and a
 * container's GPU assignment renumber them from 0). One process per GPU: docs/deploy.md.
 */
export type Device = Provider | `cuda:${number}`;

/** The provider and CUDA device ordinal of a --device value; undefined when it is not one. */
export function parseDevice(value: string): { provider: Provider; deviceId: number } | undefined {
  if (value === "cpu") return { provider: "cpu", deviceId: 0 };
  const m = /^cuda(?::(\d{1,3}))?$/.exec(value);
  return m ? { provider: "cuda", deviceId: m[1] === undefined ? 0 : Number(m[1]) } : undefined;
}

/** The canonical name of a device: `cuda` is `cuda:0` (what metrics and logs label it). */
export function deviceName(device: Device): string {
  const d = parseDevice(device);
  return !d || d.provider === "cpu" ? "cpu" : `cuda:${d.deviceId}`;
}

export interface TlsConfig {
  cert: string | Buffer;
  key: string | Buffer;
}

export interface ServerConfig {
  /** TCP port; 0 picks a free one. */
  port: number;
  /** Address to listen on: loopback unless opened up on purpose ("0.0.0.0", "::"). */
  host: string;
  /** Directories whose sub-directories are avatar packages. */
  avatarRoots: string[];
  /** Avatars to load at start (names); others load on first use. */
  preloadAvatars: string[];
  /** preload: decode every source frame at load. lazy: decode on demand under an LRU bound. */
  memory: MemoryMode;
  /** Source frames kept decoded in lazy mode. */
  lazyCacheFrames: number;
  /**
   * Memory all loaded avatars together may hold in frames, model inputs and features, MB; a
   * package that would take more is refused before its frames are read (avatar/memory.ts).
   * Default: half the machine's memory.
   */
  avatarMemoryBudgetMb: number;
  /**
   * A package that failed to load is not tried again on use (GetAvatar, a session) for this
   * long, unless its manifest changes or an admin's LoadAvatar asks; seconds.
   */
  avatarRetrySeconds: number;
  /** ONNX Runtime execution provider and GPU (cuda:N); cuda falls back to cpu where it is missing. */
  device: Device;
  /** ONNX Runtime intra-op threads per model. */
  inferenceThreads: number;
  /** Most frames in one model run. */
  maxBatch: number;
  /** Longest a frame waits for others to fill a batch, milliseconds. */
  maxBatchWaitMs: number;
  /**
   * Batch sizes: "pow2" pads a batch to the next power of two and warms every such size up at
   * load (what CUDA needs: a new shape costs a cuDNN algorithm search); "any" runs every size as
   * it is (what a CPU wants: cost grows with every padded row); "auto" picks by device.
   */
  batchBuckets: "auto" | "pow2" | "any";
  /**
   * Worker threads that composite and encode frames; 0 does it on the main thread, which is
   * fastest on a couple of cores. Default: a quarter of the cores from 4 up (at most 8).
   */
  composeWorkers: number;
  /**
   * Worker threads for live sessions' audio (resampling, mel features); 0 keeps it on the main
   * thread, cheapest on a couple of cores. Default: as composeWorkers.
   */
  audioWorkers: number;
  /** Default JPEG quality of rendered frames. */
  jpegQuality: number;
  /** JPEG quality of `lipsync render`'s frames: they are encoded again, to H.264, so a notch higher. */
  renderJpegQuality: number;
  /** Frames of one session in the engine at once (the rest wait as audio). */
  maxInFlightPerSession: number;
  /**
   * Work with no latency bound (offline rendering, one-shot requests) is scheduled as if due this
   * long after it was asked for: it orders the engine's queue (earliest first), never drops, ms.
   */
  offlineSlackMs: number;
  /** Most encoder inputs in one audio-encoder run (it is small: larger batches than the UNet's). */
  encoderMaxBatch: number;
  /** Most frames one RenderFrames call may ask for. */
  maxFramesPerCall: number;
  /** A whole clip (SpeakAudio, render) is fed to its session this far ahead of rendering, seconds. */
  clipFeedAheadSeconds: number;
  /** Largest RPC or WebSocket message accepted, bytes. */
  maxMessageBytes: number;
  /** Largest audio chunk of a session, bytes. */
  maxChunkBytes: number;
  /** Audio a session may hold unrendered before the client is told to slow down, seconds. */
  maxQueuedAudioSeconds: number;
  /** Rendered frames a session may hold unsent (a slow consumer), frames. */
  maxQueuedFrames: number;
  /** Concurrent sessions the server accepts. */
  maxSessions: number;
  /**
   * Concurrent sessions one client may hold (per token when authentication is on, else per
   * remote address); 0: only `maxSessions`. A JWT's `max_sessions` claim overrides it.
   */
  maxSessionsPerClient: number;
  /** Bearer tokens that may call the server; any configured token or key turns authentication on. */
  authTokens: string[];
  /** Bearer tokens with the admin scope too (LoadAvatar, UnloadAvatar). */
  adminTokens: string[];
  /** PEM public key (RSA, EC P-256, Ed25519) that verifies JWT bearer tokens (RS256, ES256, EdDSA). */
  jwtPublicKey?: string;
  /** Request/response calls (unary RPCs, WebSocket requests) one client may make a second; 0: no limit. */
  rateLimit: number;
  /** Calls one client may make in a burst above `rateLimit`. */
  rateBurst: number;
  /**
   * Web origins (`https://app.example.com`, or `*` for any) whose pages may call the server:
   * CORS for RPCs and files, and the WebSocket's Origin check. Requests without an Origin
   * (non-browser clients) and from the server's own origin are always served.
   */
  allowOrigins: string[];
  /**
   * A live session's speech frame not rendered within this long of being due (its audio
   * complete, or its real-time slot) is dropped and the client told: sessions of an overloaded
   * server stay this close to their audio instead of falling further behind. Milliseconds.
   */
  maxFrameLatencyMs: number;
  /**
   * Real-time sessions per avatar the server admits, alone on the server; 0 measures it when
   * the avatar loads (engine/capacity.ts). Sessions of several avatars share the machine in
   * proportion. Past it, a new session is refused with RESOURCE_EXHAUSTED and a retry hint.
   */
  sessionCapacity: number;
  /** Share of the measured engine rate that sessions may take (headroom for bursts), 0..1. */
  capacityUtilisation: number;
  /**
   * A measured capacity is measured again once the server has had no session for this long
   * (a figure taken while the machine was busy does not stay); 0: only at load. Seconds.
   */
  capacityRemeasureIdleSeconds: number;
  tls?: TlsConfig;
  /** Directory of the static player page and bundles (the web component's build). */
  publicDir?: string;
  logLevel: string;
  /**
   * Graceful shutdown (SIGTERM): how long running utterances may take to finish before the
   * remaining sessions are ended with "going away", seconds.
   */
  drainSeconds: number;
  /** HTTP/2 streams a client may have open at once on one connection. */
  maxConcurrentStreams: number;
  /**
   * HTTP/2 streams a connection may abandon (reset before their answer is complete) in a burst,
   * and per second on average; past that it gets GOAWAY(ENHANCE_YOUR_CALM) (the rapid reset).
   */
  streamResetBurst: number;
  streamResetRate: number;
  /** After a drain, how long requests still running and closing handshakes may take before they are cut, ms. */
  closeGraceMs: number;
  /** How long a client refused for capacity, a limit or shutdown is told to wait before retrying, ms. */
  retryAfterMs: number;
  /** WebSocket pings go out this often; a socket that did not answer the last one is closed, ms. */
  wsHeartbeatMs: number;
  /** How often a WebSocket client that sent get_stats is sent the stats again, ms. */
  wsStatsIntervalMs: number;
  /** Unsent bytes past which a WebSocket reader counts as slow: its session waits for the socket. */
  wsSendHighWaterBytes: number;
  /** How often a grpc.health.v1 Watch stream re-reads readiness, ms. */
  healthWatchMs: number;
  /**
   * HTTP/2 connections are pinged this often; one whose ping is unanswered a period later is
   * closed (a peer that is gone, or a connection Node stopped reading). 0: never. Seconds.
   */
  http2KeepaliveSeconds: number;
  /**
   * Connections one client address (an IPv6 address's /64) may hold at once; past it new ones
   * are closed at once. Behind a load balancer every connection comes from its few addresses:
   * raise it there, or 0 for no limit.
   */
  maxConnectionsPerAddress: number;
  /**
   * A new connection must send its first bytes, finish its TLS handshake, and (HTTP/2) send its
   * SETTINGS each within this long, or it is closed; ms, 0: no bound.
   */
  handshakeTimeoutMs: number;
  /** An HTTP/1.1 request's headers must be complete within this long of its first byte, or it gets 408 and is closed; ms. */
  headersTimeoutMs: number;
  /**
   * How long an idle HTTP/1.1 connection is kept open for its next request; ms. It must outlast
   * the idle timeout of whatever sends requests: Node's own agent drops idle sockets after 5 s,
   * load balancers after 60 s (AWS) or more. A server that closes first races the client's next
   * request on that socket, which then fails with ECONNRESET.
   */
  keepAliveTimeoutMs: number;
  /**
   * One line per RPC and per WebSocket connection (method, status, duration, client, bytes) on
   * stdout, beside the server's own log (transport/access-log.ts).
   */
  accessLog: boolean;
}

export type ServerOptions = Partial<ServerConfig>;

export const DEFAULTS: ServerConfig = {
  port: 8080,
  host: "127.0.0.1",
  avatarRoots: [],
  preloadAvatars: [],
  memory: "preload",
  lazyCacheFrames: 32,
  avatarMemoryBudgetMb: Math.floor(os.totalmem() / 2 / 2 ** 20),
  avatarRetrySeconds: 30,
  device: "cpu",
  inferenceThreads: Math.max(1, Math.min(4, os.availableParallelism())),
  maxBatch: 8,
  maxBatchWaitMs: 2,
  batchBuckets: "auto",
  jpegQuality: 85,
  renderJpegQuality: 90,
  maxInFlightPerSession: 16,
  offlineSlackMs: 1000,
  encoderMaxBatch: 16,
  maxFramesPerCall: 256,
  clipFeedAheadSeconds: 2,
  composeWorkers: os.availableParallelism() < 4 ? 0 : Math.min(8, Math.floor(os.availableParallelism() / 4)),
  audioWorkers: os.availableParallelism() < 4 ? 0 : Math.min(8, Math.floor(os.availableParallelism() / 4)),
  maxMessageBytes: 16 * 1024 * 1024,
  maxChunkBytes: 1024 * 1024,
  maxQueuedAudioSeconds: 60,
  maxQueuedFrames: 75,
  maxSessions: 64,
  maxSessionsPerClient: 0,
  authTokens: [],
  adminTokens: [],
  rateLimit: 500,
  rateBurst: 1000,
  allowOrigins: [],
  maxFrameLatencyMs: 500,
  sessionCapacity: 0,
  capacityUtilisation: 0.9,
  capacityRemeasureIdleSeconds: 30,
  logLevel: "info",
  drainSeconds: 10,
  maxConcurrentStreams: 128,
  streamResetBurst: 200,
  streamResetRate: 20,
  closeGraceMs: 1000,
  retryAfterMs: 2000,
  wsHeartbeatMs: 30_000,
  wsStatsIntervalMs: 5000,
  wsSendHighWaterBytes: 4 * 1024 * 1024,
  healthWatchMs: 500,
  http2KeepaliveSeconds: 30,
  maxConnectionsPerAddress: 256,
  handshakeTimeoutMs: 10_000,
  headersTimeoutMs: 15_000,
  keepAliveTimeoutMs: 65_000,
  accessLog: false,
};

export function resolveConfig(options: ServerOptions = {}): ServerConfig {
  const config: ServerConfig = { ...DEFAULTS };
  for (const [key, value] of Object.entries(options)) {
    if (value !== undefined) (config as unknown as Record<string, unknown>)[key] = value;
  }
  if (!Number.isInteger(config.port) || config.port < 0 || config.port > 65535) {
    throw new Error(`port must be an integer 0..65535, got ${config.port}`);
  }
  if (config.memory !== "preload" && config.memory !== "lazy") {
    throw new Error(`memory must be preload or lazy, got ${String(config.memory)}`);
  }
  if (parseDevice(String(config.device)) === undefined) {
    throw new Error(`device must be cpu, cuda or cuda:N (a GPU's number), got ${String(config.device)}`);
  }
  if (config.maxBatch < 1) throw new Error("maxBatch must be at least 1");
  if (!["auto", "pow2", "any"].includes(config.batchBuckets)) throw new Error(`batchBuckets must be auto, pow2 or any, got ${String(config.batchBuckets)}`);
  config.allowOrigins = normaliseOrigins(config.allowOrigins);
  if (!Number.isInteger(config.sessionCapacity) || config.sessionCapacity < 0) throw new Error("sessionCapacity must be an integer >= 0");
  for (const t of [...config.authTokens, ...config.adminTokens]) {
    if (!/^[\x21-\x7e]+$/.test(t)) throw new Error("auth tokens must be printable ASCII without spaces");
  }
  if (!Number.isInteger(config.maxSessionsPerClient) || config.maxSessionsPerClient < 0) throw new Error("maxSessionsPerClient must be an integer >= 0");
  if (!(config.rateLimit >= 0) || !(config.rateBurst >= 1)) throw new Error("rateLimit must be >= 0 and rateBurst >= 1");
  if (!(config.capacityUtilisation > 0 && config.capacityUtilisation <= 1)) throw new Error("capacityUtilisation must lie in (0, 1]");
  if (!Number.isInteger(config.maxConnectionsPerAddress) || config.maxConnectionsPerAddress < 0) throw new Error("maxConnectionsPerAddress must be an integer >= 0");
  // Node refuses a headersTimeout past its requestTimeout (5 minutes).
  if (!Number.isInteger(config.headersTimeoutMs) || config.headersTimeoutMs < 1 || config.headersTimeoutMs > 300_000) throw new Error("headersTimeoutMs must be an integer 1..300000");
  if (!Number.isInteger(config.keepAliveTimeoutMs) || config.keepAliveTimeoutMs < 1) throw new Error("keepAliveTimeoutMs must be an integer >= 1");
  if (!Number.isInteger(config.handshakeTimeoutMs) || config.handshakeTimeoutMs < 0) throw new Error("handshakeTimeoutMs must be an integer >= 0");
  return config;
}

/** Checks an origin list: each entry `*` or `scheme://host[:port]`; returns them normalised. */
export function normaliseOrigins(list: readonly string[]): string[] {
  return list.map((entry) => {
    const value = entry.trim();
    if (value === "*") return "*";
    let url: URL;
    try {
      url = new URL(value);
    } catch {
      throw new Error(`allowed origin must be * or scheme://host[:port], got "${entry}"`);
    }
    if (url.origin === "null" || url.pathname !== "/" || url.search || url.hash || url.username) {
      throw new Error(`allowed origin must be * or scheme://host[:port] with no path, got "${entry}"`);
    }
    return url.origin;
  });
}
