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
  /** The first GPU nvidia-smi lists (see `gpus` for all of them). */
  gpu: { found: boolean; name?: string; driver?: string; memoryMiB?: number; error?: string };
  /** Every GPU nvidia-smi lists, by its index. */
  gpus: { index: number; name: string; memoryMiB: number }[];
  /** CUDA and cuDNN libraries visible to the dynamic loader (ldconfig and LD_LIBRARY_PATH). */
  libraries: Record<string, string[]>;
  /** Libraries the CUDA provider needs that the loader cannot find (from ldd). */
  missing: string[];
  cpu: ProbeResult;
  cuda: ProbeResult & { fix?: string };
  /**
   * Each CUDA device this process can address (cuda:0 .. cuda:N-1, renumbered by
   * CUDA_VISIBLE_DEVICES when set), probed one by one when the provider can load at all.
   */
  devices: ({ device: string } & ProbeResult)[];
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

async function gpuInfo(): Promise<Pick<DoctorReport, "gpu" | "gpus">> {
  const r = await capture("nvidia-smi", ["--query-gpu=index,name,driver_version,memory.total", "--format=csv,noheader,nounits"]);
  if (r.code !== 0) return { gpu: { found: false, error: r.code === null ? "nvidia-smi not found (no NVIDIA driver)" : r.err.trim().split("\n")[0] || "nvidia-smi failed" }, gpus: [] };
  const rows = r.out.trim().split("\n").filter(Boolean).map((line) => line.split(",").map((s) => s.trim()));
  const gpus = rows.map(([index, name, , mem]) => ({ index: Number(index), name: name ?? "", memoryMiB: Number(mem) }));
  const [, name, driver, mem] = rows[0] ?? [];
  return { gpu: { found: gpus.length > 0, name, driver, memoryMiB: Number(mem) }, gpus };
}

/**
 * How many CUDA devices this process addresses: CUDA_VISIBLE_DEVICES (a list of GPU indices or
 * UUIDs) renumbers them from 0; without it, every GPU nvidia-smi lists.
 */
export function cudaDeviceCount(gpus: number, visible = process.env.CUDA_VISIBLE_DEVICES): number {
  if (visible === undefined) return gpus;
  const ids = visible.split(",").map((s) => s.trim());
  // CUDA stops at the first invalid entry; "" or "-1" hides every GPU.
  const valid = ids.findIndex((id) => !/^(\d+|GPU-[0-9a-fA-F-]+|MIG-[0-9a-fA-F-]+)$/.test(id));
  return Math.min(gpus, valid === -1 ? ids.length : valid);
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

/** Creates and runs the probe model on `provider` (on CUDA, device `deviceId`) in a child process. */
async function probe(provider: "cpu" | "cuda", deviceId = 0): Promise<ProbeResult> {
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
      const s = await ort.InferenceSession.create(Buffer.from(${JSON.stringify(model)}, "base64"), { executionProviders: [${JSON.stringify(provider === "cuda" ? { name: "cuda", deviceId } : "cpu")}], logSeverityLevel: 4 });
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

function cudaVerdict(report: Omit<DoctorReport, "cuda" | "device" | "devices">, probed: ProbeResult): DoctorReport["cuda"] {
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
  const [{ gpu, gpus }, libraries, missing, cpu] = await Promise.all([gpuInfo(), visibleLibraries(), runtime ? missingDependencies(runtime) : Promise.resolve([]), probe("cpu")]);
  const base = { node: process.version, platform: `${process.platform}/${process.arch}`, cpus: os.availableParallelism(), onnxruntime, gpu, gpus, libraries, missing, cpu };
  const ready = runtime && runtime.providers.every((p) => p.present) && gpu.found && missing.length === 0;
  // One probe per addressable GPU, one at a time (each loads the provider, a few seconds).
  const devices: DoctorReport["devices"] = [];
  if (ready) for (let id = 0; id < cudaDeviceCount(gpus.length); id++) devices.push({ device: `cuda:${id}`, ...(await probe("cuda", id)) });
  const cuda = cudaVerdict(base, ready ? (devices[0] ?? { usable: false, error: "CUDA_VISIBLE_DEVICES hides every GPU" }) : { usable: false });
  return { ...base, cuda, devices, device: cuda.usable ? "cuda" : "cpu" };
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
  if (r.devices.length > 1) for (const d of r.devices) lines.push(`${mark(d.usable)}${d.device}${d.usable ? "" : `: ${d.error}`}`);
  const usable = r.devices.filter((d) => d.usable).map((d) => d.device);
  lines.push("", usable.length > 1
    ? `use: lipsync serve --device cuda:N, one process per GPU (${usable.join(", ")}; docs/deploy.md)`
    : `use: lipsync serve --device ${r.device}`);
  return lines.join("\n") + "\n";
}
