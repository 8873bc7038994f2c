import { defineConfig } from "tsup";

export default defineConfig([
  {
    // The package: ESM with types, dependencies left to the app's bundler.
    entry: ["src/index.ts"],
    format: ["esm"],
    dts: true,
    sourcemap: true,
    clean: true,
    target: "es2022",
    platform: "browser",
  },
  {
    // One file for a plain <script type="module">: everything inlined and minified.
    entry: { "lip-sync-player.bundle": "src/index.ts" },
    format: ["esm"],
    minify: true,
    sourcemap: true,
    target: "es2022",
    platform: "browser",
    noExternal: [/.*/],
  },
]);
