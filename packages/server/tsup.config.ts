import { defineConfig } from "tsup";

export default defineConfig({
  // The compose worker is its own entry: worker threads load it by URL next to the bundle.
  entry: {
    index: "src/index.ts", cli: "src/cli.ts", "compose-worker": "src/engine/compose-worker.ts", "frontend-worker": "src/audio/frontends/frontend-worker.ts",
  },
  format: ["esm"],
  dts: { entry: "src/index.ts" },
  sourcemap: true,
  clean: true,
  target: "node20",
  // Native and heavy runtime dependencies stay in node_modules.
  external: ["onnxruntime-node", "@livekit/rtc-node", "sharp", "ws", "pino", "prom-client", "@vladmandic/face-api", "@tensorflow/tfjs", "@tensorflow/tfjs-backend-wasm"],
  // Connect is bundled: the build carries patches/@connectrpc__connect (a malformed request body
  // is INVALID_ARGUMENT, not INTERNAL), which an install from npm would not apply.
  noExternal: ["@connectrpc/connect", "@connectrpc/connect-node"],
  // The inference worker is loaded by URL next to the bundle, as plain JavaScript.
  onSuccess: "cp src/engine/inference-worker.mjs dist/inference-worker.mjs",
});
