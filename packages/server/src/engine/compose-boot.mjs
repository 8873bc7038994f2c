// Starts compose-worker.ts from source (tests, tsx): registers tsx's loader inside the worker,
// which --import in a worker's execArgv does not do on Node 20. The build runs the compiled
// compose-worker.js directly and never loads this file.
import { register } from "tsx/esm/api";

register();
await import(new URL("./compose-worker.ts", import.meta.url).href);
