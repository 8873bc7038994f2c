import { defineConfig } from "tsup";

export default defineConfig({
  entry: ["src/index.ts", "src/reflection.ts", "src/ws-binary.ts", "src/media.ts"],
  format: ["esm"],
  dts: true,
  sourcemap: true,
  clean: true,
  target: "es2022",
});
