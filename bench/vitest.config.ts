/** The benchmarks' own unit tests (the stand-in builder): `pnpm test:bench`. */
import { defineConfig } from "vitest/config";
import base from "../vitest.config.js";

// The root config's resolution and timeouts, with this folder's tests only (mergeConfig would
// add them to the root's list instead of replacing it).
export default defineConfig({ ...base, test: { ...base.test, include: ["bench/**/*.test.ts"] } });
