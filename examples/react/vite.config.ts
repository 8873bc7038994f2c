// npx vite examples/react          (dev server: open the URL it prints)
// npx vite build examples/react    (static files in examples/react/dist)
import react from "@vitejs/plugin-react";
import { defineConfig } from "vite";

export default defineConfig({ plugins: [react()], base: "./" });
