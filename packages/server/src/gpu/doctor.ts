/**
 * `lipsync doctor`: what this machine can run on, and why not. Each check is independent and
 * never throws; the CUDA probe runs in a child process with a timeout, so a driver that crashes
 * or hangs cannot take the caller with it.
 */
import { spawn } from "node:child_process";
import { existsSync, readdirSync } from "node:fs";
import { createRequire } from "node:module";
import os from "node:os";
import path from "node:path";
import { reluModel } from "./tiny-onnx.js";
import { locateRuntime, ORT_VERSION, type Runtime } from "./runtime.js";

export interface ProbeResult {
  usable: boolean;
  /** First line of the failure, when not usable. */
  error?: string;
}

export interface DoctorReport {
  node: string;
  platform: string;
  cpus: number;
  onnxruntime: { version: string; expected: string; binDir: string; providers: { file: string; present: boolean }[] } | { error: string };
  gpu: { found: boolean; name?: string; driver?: string; memoryMiB?: number; error?: string };
  /** CUDA and cuDNN libraries visible to the dynamic loader (ldconfig and LD_LIBRARY_PATH). */
  libraries: Record<string, string[]>;
  /** Libraries the CUDA provider needs that the loader cannot find (from ldd). */
  missing: string[];
  cpu: ProbeResult;
  cuda: ProbeResult & { fix?: string };
  /** The --device to use here. */
  device: "cuda" | "cpu";
}

const LIBS = ["libcudart", "libcublas", "libcublasLt", "libcudnn", "libcufft", "libcurand", "libnvrtc"];
const PROBE_TIMEOUT_MS = 60_000;

function capture(cmd: string, args: string[], timeoutMs = 10_000): Promise<{ code: number | null; out: string; err: string }> {
  return new Promise((resolve) => {
    const p = spawn(cmd, args, { stdio: ["pipe", "pipe", "pipe"] });
    let out = "";
    let err = "";
    const timer = setTimeout(() => p.kill("SIGKILL"), timeoutMs);
    p.stdout.on("data", (d) => (out += d));
    p.stderr.on("data", (d) => (err += d));
    p.on("error", (e) => {
      clearTimeout(timer);
      resolve({ code: null, out, err: e.message });
    });
    p.on("close", (code) => {
      clearTimeout(timer);
      resolve({ code, out, err });
    });
    p.stdin.end();
  });
}

async function gpuInfo(): Promise<DoctorReport["gpu"]> {
  const r = await capture("nvidia-smi", ["--query-gpu=name,driver_version,memory.total", "--format=csv,noheader,nounits"]);
  if (r.code !== 0) return { found: false, error: r.code === null ? "nvidia-smi not found (no NVIDIA driver)" : r.err.trim().split("\n")[0] || "nvidia-smi failed" };
  const [name, driver, mem] = r.out.trim().split("\n")[0]!.split(",").map((s) => s.trim());
  return { found: true, name, driver, memoryMiB: Number(mem) };
}

async function visibleLibraries(): Promise<Record<string, string[]>> {
  const found: Record<string, Set<string>> = Object.fromEntries(LIBS.map((l) => [l, new Set<string>()]));
  const add = (file: string) => {
    const base = path.basename(file);
    for (const l of LIBS) if (base.startsWith(`${l}.so`)) found[l]!.add(file);
  };
  const ldconfig = await capture("ldconfig", ["-p"]);
  for (const line of ldconfig.out.split("\n")) {
    const m = /=>\s*(\S+)$/.exec(line);
    if (m) add(m[1]!);
  }
  for (const dir of (process.env.LD_LIBRARY_PATH ?? "").split(":").filter(Boolean)) {
    try {
      for (const f of readdirSync(dir)) add(path.join(dir, f));
    } catch {
      // a stale entry in LD_LIBRARY_PATH
    }
  }
  return Object.fromEntries(Object.entries(found).map(([k, v]) => [k, [...v].sort()]));
}

async function missingDependencies(runtime: Runtime): Promise<string[]> {
  const provider = path.join(runtime.binDir, "libonnxruntime_providers_cuda.so");
  if (!existsSync(provider)) return [];
  const r = await capture("ldd", [provider]);
  return r.out.split("\n").filter((l) => l.includes("not found")).map((l) => l.trim().split(/\s+/)[0]!);
}

/** Creates and runs the probe model on `provider` in a child process. */
async function probe(provider: "cpu" | "cuda"): Promise<ProbeResult> {
  let ortPath: string;
  try {
    ortPath = createRequire(import.meta.url).resolve("onnxruntime-node");
  } catch {
    return { usable: false, error: "onnxruntime-node is not installed" };
  }
  const model = Buffer.from(reluModel()).toString("base64");
  // The child's only output is its answer on stdout ("ok" or "error: ..."), read below.
  const script = `
    const ort = require(${JSON.stringify(ortPath)});
    ort.env.logLevel = "fatal";
    (async () => {
      const s = await ort.InferenceSession.create(Buffer.from(${JSON.stringify(model)}, "base64"), { executionProviders: [${JSON.stringify(provider)}], logSeverityLevel: 4 });
      const out = await s.run({ x: new ort.Tensor("float32", Float32Array.from([-1, 0, 1, 2]), [1, 4]) });
      const y = Array.from(out.y.data);
      if (y.join() !== "0,0,1,2") throw new Error("wrong result " + y.join());
      process.stdout.write("ok\\n");
    })().catch((e) => { process.stdout.write("error: " + String(e && e.message || e).split("\\n")[0] + "\\n"); process.exit(1); });`;
  const r = await capture(process.execPath, ["-e", script], PROBE_TIMEOUT_MS);
  if (r.out.trim() === "ok") return { usable: true };
  if (r.code === null) return { usable: false, error: `the ${provider} probe did not finish in ${PROBE_TIMEOUT_MS / 1000} s` };
  const line = r.out.split("\n").find((l) => l.startsWith("error: "));
  return { usable: false, error: line ? line.slice(7) : (r.err.trim().split("\n").at(-1) ?? `exit ${r.code}`) };
}

function cudaVerdict(report: Omit<DoctorReport, "cuda" | "device">, probed: ProbeResult): DoctorReport["cuda"] {
  if (process.platform !== "linux" || process.arch !== "x64") return { usable: false, error: `CUDA is supported on linux/x64 only (this is ${process.platform}/${process.arch})` };
  if ("error" in report.onnxruntime) return { usable: false, error: report.onnxruntime.error };
  const ort = report.onnxruntime;
  if (!ort.providers.every((p) => p.present)) {
    return { usable: false, error: "the CUDA execution provider of ONNX Runtime is not installed", fix: "run: lipsync gpu install" };
  }
  if (!report.gpu.found) return { usable: false, error: report.gpu.error ?? "no NVIDIA GPU found", fix: "install the NVIDIA driver; check nvidia-smi" };
  if (report.missing.length) {
    return { usable: false, error: `the CUDA provider needs ${report.missing.join(", ")}, which the loader cannot find`, fix: "install CUDA and cuDNN of the provider's major version, or add their lib folders to LD_LIBRARY_PATH" };
  }
  if (!probed.usable) return { usable: false, error: probed.error ?? "the CUDA probe failed", fix: "see the error; lipsync serve --device cuda would fall back to the CPU" };
  if (ort.version !== ort.expected) return { usable: true, fix: `onnxruntime-node is ${ort.version}; the project is tested with ${ort.expected}` };
  return { usable: true };
}

export async function doctor(): Promise<DoctorReport> {
  let onnxruntime: DoctorReport["onnxruntime"];
  let runtime: Runtime | undefined;
  try {
    runtime = locateRuntime();
    onnxruntime = { version: runtime.version, expected: ORT_VERSION, binDir: runtime.binDir, providers: runtime.providers };
  } catch (err) {
    onnxruntime = { error: `onnxruntime-node cannot be found: ${(err as Error).message.split("\n")[0]}` };
  }
  const [gpu, libraries, missing, cpu] = await Promise.all([gpuInfo(), visibleLibraries(), runtime ? missingDependencies(runtime) : Promise.resolve([]), probe("cpu")]);
  const base = { node: process.version, platform: `${process.platform}/${process.arch}`, cpus: os.availableParallelism(), onnxruntime, gpu, libraries, missing, cpu };
  const ready = runtime && runtime.providers.every((p) => p.present) && gpu.found && missing.length === 0;
  const cuda = cudaVerdict(base, ready ? await probe("cuda") : { usable: false });
  return { ...base, cuda, device: cuda.usable ? "cuda" : "cpu" };
}

/** The report for people: one line per check. */
export function formatReport(r: DoctorReport): string {
  const mark = (ok: boolean) => (ok ? "ok  " : "--  ");
  const lines = [`node ${r.node} on ${r.platform}, ${r.cpus} cores`];
  if ("error" in r.onnxruntime) {
    lines.push(`${mark(false)}onnxruntime-node: ${r.onnxruntime.error}`);
  } else {
    const o = r.onnxruntime;
    lines.push(`${mark(o.version === o.expected)}onnxruntime-node ${o.version}${o.version === o.expected ? "" : ` (tested: ${o.expected})`}`);
    for (const p of o.providers) lines.push(`${mark(p.present)}${p.file}${p.present ? "" : " missing"}`);
  }
  lines.push(`${mark(r.cpu.usable)}CPU execution provider${r.cpu.usable ? "" : `: ${r.cpu.error}`}`);
  lines.push(r.gpu.found ? `${mark(true)}GPU ${r.gpu.name}, driver ${r.gpu.driver}, ${r.gpu.memoryMiB} MiB` : `${mark(false)}GPU: ${r.gpu.error}`);
  for (const [lib, files] of Object.entries(r.libraries)) lines.push(`${mark(files.length > 0)}${lib}: ${files.length ? files.map((f) => path.basename(f)).join(", ") : "not found"}`);
  if (r.missing.length) lines.push(`${mark(false)}the CUDA provider cannot load: ${r.missing.join(", ")} not found`);
  lines.push(`${mark(r.cuda.usable)}CUDA execution provider${r.cuda.usable ? "" : `: ${r.cuda.error}`}`);
  if (r.cuda.fix) lines.push(`    ${r.cuda.fix}`);
  lines.push("", `use: lipsync serve --device ${r.device}`);
  return lines.join("\n") + "\n";
}
