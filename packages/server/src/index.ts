/** @lipsync/server as a library: start the one-port server in-process, or use its parts. */
export { startServer, type RunningServer, type StartOptions } from "./server.js";
export { DEFAULTS, resolveConfig, type ServerConfig, type ServerOptions } from "./config.js";
export { LipSyncError, type ErrorCode } from "./errors.js";
export { LipSyncApp } from "./app.js";
export * as audio from "./audio/index.js";
