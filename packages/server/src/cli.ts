#!/usr/bin/env node
/**
 * The `lipsync` executable. It only sizes libuv's thread pool (JPEG encoding and file reads run
 * there; the default of 4 would cap a 16-core machine) before anything uses it, then hands over
 * to cli/main.ts.
 */
import os from "node:os";

process.env.UV_THREADPOOL_SIZE ??= String(Math.max(4, Math.min(64, os.availableParallelism())));

const { main } = await import("./cli/main.js");
process.exitCode = await main(process.argv.slice(2));
