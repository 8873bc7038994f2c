import { pino, type Logger } from "pino";

export type { Logger };

/**
 * Structured logs: static messages, values as fields. `info` once per lifecycle transition
 * (server up, avatar loaded, session started/ended), `debug` per frame. Never audio, text or
 * client-supplied identifiers beyond what is needed to correlate.
 */
export function createLogger(level: string = "info"): Logger {
  return pino({ level, base: { service: "lipsync" } });
}

/** A logger that drops everything, for tests and embedding. */
export function silentLogger(): Logger {
  return pino({ level: "silent" });
}
