// npx vite examples/vue          (dev server: open the URL it prints)
// npx vite build examples/vue    (static files in examples/vue/dist)
import vue from "@vitejs/plugin-vue";
import { defineConfig } from "vite";

export default defineConfig({
  plugins: [vue({ template: { compilerOptions: { isCustomElement: (tag) => tag === "lip-sync-player" } } })],
  base: "./",
});
