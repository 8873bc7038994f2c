import { defineConfig } from "tsup";

export default defineConfig({
  entry: ["src/index.ts"],
  format: ["esm"],
  dts: { entry: "src/index.ts" },
  sourcemap: true,
  clean: true,
  target: "node20",
  // The agent's own LiveKit packages: one copy of each in the agent's process.
  external: ["@livekit/agents", "@livekit/rtc-node", "livekit-server-sdk", "@connectrpc/connect", "@connectrpc/connect-node", "@lipsync/client"],
});
