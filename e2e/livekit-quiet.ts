/**
 * Imported before @livekit/rtc-node in test and benchmark processes: rtc-node logs at debug
 * level to stdout unless NODE_ENV is "production", read when it loads (vitest sets "test").
 */
process.env.NODE_ENV = "production";
