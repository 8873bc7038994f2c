// Starts frontend-worker.ts from source (tests, tsx); see engine/compose-boot.mjs.
import { register } from "tsx/esm/api";

register();
await import(new URL("./frontend-worker.ts", import.meta.url).href);
