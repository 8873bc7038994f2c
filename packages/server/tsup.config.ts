import { defineConfig } from "tsup";

export default defineConfig({
  entry: ["src/index.ts", "src/cli.ts"],
  format: ["esm"],
  dts: { entry: "src/index.ts" },
  sourcemap: true,
  clean: true,
  target: "node20",
  // Native and heavy runtime dependencies stay in node_modules.
  external: ["onnxruntime-node", "sharp", "ws", "pino", "prom-client"],
});
