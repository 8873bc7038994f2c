import { defineConfig } from "vitest/config";

export default defineConfig({
  // Workspace packages resolve to their TypeScript sources ("source" export condition), so tests
  // need no build.
  resolve: { conditions: ["source", "module", "node", "default"] },
  ssr: { resolve: { conditions: ["source", "node", "import", "default"], externalConditions: ["source"] } },
  test: {
    include: ["packages/*/src/**/*.test.ts", "packages/*/test/**/*.test.ts", "e2e/**/*.test.ts", "examples/**/*.test.ts", "fuzz/src/**/*.test.ts", "bench/**/*.test.ts", "deploy/**/*.test.ts"],
    testTimeout: 60_000,
    hookTimeout: 120_000,
    pool: "forks",
    // Two cores: files run one at a time so timing-sensitive integration tests stay calm.
    fileParallelism: false,
  },
});
