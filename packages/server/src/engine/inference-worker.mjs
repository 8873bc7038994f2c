// The ONNX Runtime side of a model, in a worker thread.
//
// onnxruntime-node runs a session synchronously on the calling thread, so on the main thread a
// batch would block the event loop (audio in, frames out, idle pacing) for its whole duration.
// Here it blocks only this worker. Plain JavaScript so that it runs as is from src/ (tests,
// tsx) and from dist/ (tsup copies it).
//
// Messages in:  { type: "init", files: { name: path }, device: "cpu" | "cuda", deviceId, threads, unet?: { image, audio, output, valueRange } }
//               { type: "run", id, model, feeds: { name: { data, dims } }, output }
//               { type: "inputs", store: SharedArrayBuffer }   the avatar's cached inputs, one slot per frame
//               { type: "unet", id, n, items, slots: Int32Array, bytes: (Uint8Array | undefined)[], audio: Float32Array }
//               (answered with { type: "result", id, data, rows, batch }: the whole batch's output, padding rows included)
// Messages out: { type: "ready", provider, fallbackReason?, names: { model: { inputs, outputs, shapes } } }
//               (shapes: name -> dims as the file declares them, symbolic axes as strings)
//               { type: "result", id, data, dims } | { type: "error", id?, message }
import { parentPort } from "node:worker_threads";
import * as ort from "onnxruntime-node";

const sessions = new Map();
let unetSpec;
let inputStore;
/** Image tensors by batch size, reused: the hot path allocates once per shape. */
const imageBuffers = new Map();
// ONNX Runtime's own logger would print a multi-line error for a missing CUDA provider; the
// server reports that once, in its own log.
ort.env.logLevel = "fatal";

/** A session of `file` on `device`; on CUDA, GPU `deviceId` (the Node binding passes only that option). */
async function create(file, device, threads, deviceId) {
  const options = {
    intraOpNumThreads: threads,
    interOpNumThreads: 1,
    graphOptimizationLevel: "all",
    executionMode: "sequential",
    logSeverityLevel: 4,
    // Idle pool threads must not spin: they would take the core JPEG encoding needs.
    extra: { session: { intra_op: { allow_spinning: "0" }, inter_op: { allow_spinning: "0" } } },
  };
  if (device === "cuda") {
    try {
      return { session: await ort.InferenceSession.create(file, { ...options, executionProviders: [{ name: "cuda", deviceId }] }), provider: "cuda" };
    } catch (err) {
      const reason = String(err && err.message ? err.message : err).split("\n")[0];
      return { session: await ort.InferenceSession.create(file, { ...options, executionProviders: ["cpu"] }), provider: "cpu", fallbackReason: reason };
    }
  }
  return { session: await ort.InferenceSession.create(file, { ...options, executionProviders: ["cpu"] }), provider: "cpu" };
}

parentPort.on("message", async (msg) => {
  if (msg.type === "init") {
    unetSpec = msg.unet;
    try {
      let provider = msg.device;
      let fallbackReason;
      const names = {};
      for (const [name, file] of Object.entries(msg.files)) {
        const made = await create(file, provider, msg.threads, msg.deviceId ?? 0);
        provider = made.provider;
        fallbackReason ??= made.fallbackReason;
        sessions.set(name, made.session);
        const shapes = {};
        for (const m of [...made.session.inputMetadata, ...made.session.outputMetadata]) if (m.isTensor) shapes[m.name] = m.shape;
        names[name] = { inputs: made.session.inputNames, outputs: made.session.outputNames, shapes };
      }
      parentPort.postMessage({ type: "ready", provider, fallbackReason, names });
    } catch (err) {
      parentPort.postMessage({ type: "error", message: String(err && err.message ? err.message : err) });
    }
    return;
  }
  if (msg.type === "run") {
    try {
      const session = sessions.get(msg.model);
      const feeds = {};
      for (const [name, t] of Object.entries(msg.feeds)) feeds[name] = new ort.Tensor("float32", t.data, t.dims);
      const out = (await session.run(feeds))[msg.output];
      // A copy we own, so its buffer can be transferred rather than cloned.
      const data = new Float32Array(out.data);
      parentPort.postMessage({ type: "result", id: msg.id, data, dims: out.dims }, [data.buffer]);
    } catch (err) {
      parentPort.postMessage({ type: "error", id: msg.id, message: String(err && err.message ? err.message : err) });
    }
    return;
  }
  if (msg.type === "inputs") {
    inputStore = new Uint8Array(msg.store);
    return;
  }
  if (msg.type === "unet") {
    try {
      const { image, audio, output, valueRange } = unetSpec;
      const per = image.dims.reduce((a, b) => a * b, 1);
      let data = imageBuffers.get(msg.n);
      if (!data) imageBuffers.set(msg.n, (data = new Float32Array(msg.n * per)));
      // Cached bytes 0..255 into the model's value range (image-ops' expandInput), row by row:
      // the byte-to-float conversion by TypedArray.set (native), then the scale in place, a
      // third less than one loop doing both (measured).
      const lo = valueRange[0];
      const scale = (valueRange[1] - valueRange[0]) / 255;
      for (let i = 0; i < msg.n; i++) {
        const slot = msg.slots[i];
        const src = slot >= 0 ? inputStore.subarray(slot * per, (slot + 1) * per) : msg.bytes[i];
        const row = data.subarray(i * per, (i + 1) * per);
        if (!src) {
          row.fill(lo);
          continue;
        }
        row.set(src);
        if (lo !== 0 || scale !== 1) for (let j = 0; j < per; j++) row[j] = lo + scale * row[j];
      }
      const feeds = {
        [image.name]: new ort.Tensor("float32", data, [msg.n, ...image.dims]),
        [audio.name]: new ort.Tensor("float32", msg.audio, [msg.n, ...audio.dims]),
      };
      const out = (await sessions.get("unet").run(feeds))[output];
      // The batch's output as onnxruntime made it, transferred whole: the main thread takes a
      // view per frame. (A buffer per frame cost a copy here and twice the memory churn that
      // drives the main thread's garbage collections.)
      const result = out.data.byteOffset === 0 && out.data.byteLength === out.data.buffer.byteLength ? out.data : new Float32Array(out.data);
      parentPort.postMessage({ type: "result", id: msg.id, data: result, rows: msg.items, batch: msg.n }, [result.buffer]);
    } catch (err) {
      parentPort.postMessage({ type: "error", id: msg.id, message: String(err && err.message ? err.message : err) });
    }
    return;
  }
  if (msg.type === "close") {
    for (const s of sessions.values()) await s.release();
    sessions.clear();
    parentPort.close();
  }
});
