/**
 * Where a pipeline run's CPU went, by stage: the V8 CPU profiles of every thread of one server
 * (`pnpm bench:pipeline --cpu-prof DIR`, then this on DIR/new or DIR/baseline), each sample's
 * self time put in the stage its function belongs to. Profiling slows the code it samples, so the
 * figures are shares of the profiled time (idle left out), to be scaled to an unprofiled run's
 * total; native threads V8 does not sample (libvips, libuv's pool, onnxruntime's own pool) are
 * not in them.
 *
 *   node bench/pipeline/stages.mjs DIR/new
 *
 * Prints one JSON line: { stage: percent } over all threads, and per thread.
 */
import { existsSync, readdirSync, readFileSync } from "node:fs";
import path from "node:path";

/**
 * Stage of a sampled function: the first rule whose pattern matches "name url". Names are the
 * server's own functions (src/): bundling renames files, not functions.
 */
const RULES = [
  ["garbage collection", /^\(garbage collector\) /],
  ["audio front end", /^(frame|append|stage|transform|decodePcm|melSpectrogram|resample\w*|process|window|pushSamples) .*dist\//],
  ["features", /^(runEncoder|audioWindow|featureWindow\w*|silentAudioWindow) /],
  ["input assembly", /^(runUnet|cropToPlanar|modelInputBytes|blankBox|expandInput|input|inputBytes) /],
  ["compositing", /^(blendInto|blendRow\w*|measureDrift|compositePatch|composite|composeFrame|driftPlane|rowsOf) /],
  ["encoding", /jpeg-turbo|\/sharp\/|^(encodeJpeg|encodeImage) /],
  ["transport", /\/ws\/lib\/|^writev |stream_base_commons|internal\/streams\/|node:net|^(encodeFrame|onStreamRead) |@bufbuild|@connectrpc/],
  ["metrics", /prom-client/],
  ["between threads", /^postMessage |messageport|node:internal\/worker|event_target/],
];

function stageOf(fn, url, role) {
  // Inside an inference worker: onnxruntime's run is the model call (or the encoder's, in the
  // encoder worker), the handler's own time is assembling the batch.
  if (role !== "main" && /onnxruntime|backend\.js|binding\.js|inference-session/.test(url)) return role === "unet worker" ? "model call" : "features";
  if (role === "unet worker" && /inference-worker\.mjs/.test(url)) return "input assembly";
  if (role === "encoder worker" && /inference-worker\.mjs/.test(url)) return "features";
  const key = `${fn} ${url}`;
  if (!url && fn !== "(garbage collector)" && fn !== "postMessage" && fn !== "writev") return "other (event loop, promises, timers, load)";
  for (const [stage, re] of RULES) if (re.test(key)) return stage;
  return "other (event loop, promises, timers, load)";
}

function selfTimes(file) {
  const p = JSON.parse(readFileSync(file, "utf8"));
  const byId = new Map(p.nodes.map((n) => [n.id, n.callFrame]));
  const out = new Map();
  for (let i = 0; i < p.samples.length; i++) {
    const cf = byId.get(p.samples[i]);
    if (cf.functionName === "(idle)") continue;
    const k = `${cf.functionName}\u0000${cf.url}`;
    out.set(k, (out.get(k) ?? 0) + (p.timeDeltas[i + 1] ?? 0) / 1000);
  }
  return out;
}

const dir = process.argv[2];
if (!dir) {
  console.error("usage: node bench/pipeline/stages.mjs DIR (a --cpu-prof folder of one server)");
  process.exit(2);
}
const files = existsSync(dir) ? readdirSync(dir).filter((f) => f.endsWith(".cpuprofile")).sort() : [];
if (!files.length) {
  console.error(`no .cpuprofile files in ${dir}`);
  process.exit(1);
}
// Thread 0 of the process is the main thread; of the workers, the one that spends most in the
// inference worker's own code (the batch's input conversion) runs the UNet.
const threads = files.map((f) => ({ file: f, times: selfTimes(path.join(dir, f)), main: /\.0\.\d+\.cpuprofile$/.test(f) }));
const own = (t) => [...t.times].filter(([k]) => k.includes("inference-worker.mjs")).reduce((s, [, v]) => s + v, 0);
const ortTime = (t) => [...t.times].filter(([k]) => /onnxruntime|backend\.js/.test(k)).reduce((s, [, v]) => s + v, 0);
const workers = threads.filter((t) => !t.main && ortTime(t) > 0).sort((a, b) => own(b) - own(a));
const roles = new Map(threads.map((t) => [t, t.main ? "main" : t === workers[0] ? "unet worker" : workers.includes(t) ? "encoder worker" : "other worker"]));

const total = {};
const perThread = {};
let all = 0;
for (const t of threads) {
  const role = roles.get(t);
  const mine = (perThread[role] ??= {});
  for (const [k, ms] of t.times) {
    const [fn, url] = k.split("\u0000");
    const stage = stageOf(fn, url, role);
    total[stage] = (total[stage] ?? 0) + ms;
    mine[stage] = (mine[stage] ?? 0) + ms;
    all += ms;
  }
}
const pct = (o) => Object.fromEntries(Object.entries(o).sort((a, b) => b[1] - a[1]).map(([k, v]) => [k, Number(((100 * v) / all).toFixed(1))]));
console.log(JSON.stringify({ bench: "pipeline_stages", dir, profiled_ms: Math.round(all), percent: pct(total), by_thread: Object.fromEntries(Object.entries(perThread).map(([r, o]) => [r, pct(o)])) }));
