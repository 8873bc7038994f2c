// Probes GET /healthz every `intervalMs` on a fresh connection, in a worker thread so that the
// fuzzer's own busy event loop does not delay the probes it times. Plain JavaScript: it runs
// the same under tsx, vitest and plain node.
//
// workerData: { host, port, intervalMs, timeoutMs }
// Messages in:  "report" (answers with the figures since the last report, then starts afresh), "stop"
// Messages out: { count, failures, latencies: number[] } (ms; a failure is an error, a non-200 or a timeout)
import http from "node:http";
import { parentPort, workerData } from "node:worker_threads";

const { host, port, intervalMs, timeoutMs } = workerData;
let latencies = [];
let failures = [];
let stopped = false;

function probe() {
  const t0 = performance.now();
  let done = false;
  const finish = (error) => {
    if (done) return;
    done = true;
    if (error) failures.push(error);
    else latencies.push(performance.now() - t0);
  };
  const req = http.get({ host, port, path: "/healthz", agent: false, timeout: timeoutMs }, (res) => {
    res.resume();
    res.on("end", () => finish(res.statusCode === 200 ? undefined : `status ${res.statusCode}`));
    res.on("error", (e) => finish(e.code ?? e.message));
  });
  req.on("timeout", () => {
    finish(`no answer in ${timeoutMs} ms`);
    req.destroy();
  });
  req.on("error", (e) => finish(e.code ?? e.message));
}

const timer = setInterval(() => {
  if (!stopped) probe();
}, intervalMs);
probe();

parentPort.on("message", (msg) => {
  if (msg === "report") {
    parentPort.postMessage({ count: latencies.length + failures.length, failures, latencies });
    latencies = [];
    failures = [];
  } else if (msg === "stop") {
    stopped = true;
    clearInterval(timer);
    parentPort.close();
  }
});
