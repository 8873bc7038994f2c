/**
 * Server options: one typed object with explicit defaults. Flags and environment variables are
 * read only in cli.ts; everything else receives a resolved `ServerConfig`.
 */
import os from "node:os";

export type MemoryMode = "preload" | "lazy";
export type Device = "cpu" | "cuda";

export interface TlsConfig {
  cert: string | Buffer;
  key: string | Buffer;
}

export interface ServerConfig {
  /** TCP port; 0 picks a free one. */
  port: number;
  host: string;
  /** Directories whose sub-directories are avatar packages. */
  avatarRoots: string[];
  /** Avatars to load at start (names); others load on first use. */
  preloadAvatars: string[];
  /** preload: decode every source frame at load. lazy: decode on demand under an LRU bound. */
  memory: MemoryMode;
  /** Source frames kept decoded in lazy mode. */
  lazyCacheFrames: number;
  /** ONNX Runtime execution provider; cuda falls back to cpu where it is missing. */
  device: Device;
  /** ONNX Runtime intra-op threads per model. */
  inferenceThreads: number;
  /** Most frames in one model run. */
  maxBatch: number;
  /** Longest a frame waits for others to fill a batch, milliseconds. */
  maxBatchWaitMs: number;
  /** Default JPEG quality of rendered frames. */
  jpegQuality: number;
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
  tls?: TlsConfig;
  /** Directory of the static player page and bundles (the web component's build). */
  publicDir?: string;
  logLevel: string;
  /** Seconds to wait for sessions to end on shutdown before closing them. */
  shutdownGraceSeconds: number;
}

export type ServerOptions = Partial<ServerConfig>;

export const DEFAULTS: ServerConfig = {
  port: 8080,
  host: "0.0.0.0",
  avatarRoots: [],
  preloadAvatars: [],
  memory: "preload",
  lazyCacheFrames: 32,
  device: "cpu",
  inferenceThreads: Math.max(1, Math.min(4, os.availableParallelism())),
  maxBatch: 8,
  maxBatchWaitMs: 2,
  jpegQuality: 85,
  maxMessageBytes: 16 * 1024 * 1024,
  maxChunkBytes: 1024 * 1024,
  maxQueuedAudioSeconds: 60,
  maxQueuedFrames: 75,
  maxSessions: 64,
  maxFrameLatencyMs: 500,
  sessionCapacity: 0,
  capacityUtilisation: 0.9,
  logLevel: "info",
  shutdownGraceSeconds: 5,
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
  if (config.device !== "cpu" && config.device !== "cuda") {
    throw new Error(`device must be cpu or cuda, got ${String(config.device)}`);
  }
  if (config.maxBatch < 1) throw new Error("maxBatch must be at least 1");
  if (!Number.isInteger(config.sessionCapacity) || config.sessionCapacity < 0) throw new Error("sessionCapacity must be an integer >= 0");
  if (!(config.capacityUtilisation > 0 && config.capacityUtilisation <= 1)) throw new Error("capacityUtilisation must lie in (0, 1]");
  return config;
}
