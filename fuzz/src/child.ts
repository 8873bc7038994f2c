/**
 * The server under test as a real child process (`lipsync serve` on 127.0.0.1, a free port),
 * and what we watch of it from outside: whether it is alive, its resident memory and open file
 * descriptors (/proc), its heap figures (/metrics) and, from a worker thread, /healthz latency.
 * Shared by `pnpm fuzz` and `pnpm bench:soak`.
 */
import { spawn, type ChildProcess } from "node:child_process";
import { readdirSync, readFileSync } from "node:fs";
import path from "node:path";
import { fileURLToPath } from "node:url";
import { Worker } from "node:worker_threads";

export const REPO_ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), "..", "..");
const SOURCE_CLI = path.join(REPO_ROOT, "packages", "server", "src", "cli.ts");

export interface ChildOptions {
  /** A built CLI (packages/server/dist/cli.js); default: the TypeScript sources through tsx, no build needed. */
  cli?: string;
  /** Arguments after `serve` besides port, host and log level. */
  args?: string[];
  env?: NodeJS.ProcessEnv;
  /** Longest wait for the server to listen, ms (it loads the avatar and measures its capacity first). */
  startTimeoutMs?: number;
}

export interface MemoryFigures {
  /** Resident set, MB (/proc/PID/status VmRSS). */
  rssMb: number;
  /** Main-thread V8 heap used and external memory (ArrayBuffers, Buffers), MB, from /metrics. */
  heapUsedMb: number | undefined;
  heapTotalMb: number | undefined;
  externalMb: number | undefined;
}

export class ServerChild {
  readonly pid: number;
  readonly host = "127.0.0.1";
  exit: { code: number | null; signal: NodeJS.Signals | null } | undefined;
  private stderrTail = "";

  private constructor(private readonly proc: ChildProcess, readonly port: number) {
    this.pid = proc.pid!;
    proc.once("exit", (code, signal) => (this.exit = { code, signal }));
    proc.stderr!.on("data", (d: Buffer) => {
      this.stderrTail = (this.stderrTail + d.toString()).slice(-8192);
      if (process.env.FUZZ_TRACE) process.stderr.write(`[server] ${d.toString()}`);
    });
  }

  static start(options: ChildOptions = {}): Promise<ServerChild> {
    const base = options.cli ? [options.cli] : ["--conditions", "source", "--import", "tsx", SOURCE_CLI];
    const args = [...base, "serve", "--port", "0", "--host", "127.0.0.1", "--log-level", "warn", ...(options.args ?? [])];
    const proc = spawn(process.execPath, args, { cwd: REPO_ROOT, env: options.env ?? process.env, stdio: ["ignore", "pipe", "pipe"] });
    return new Promise((resolve, reject) => {
      let out = "";
      let err = "";
      const timer = setTimeout(() => {
        proc.kill("SIGKILL");
        reject(new Error(`server did not listen within ${options.startTimeoutMs ?? 120_000} ms: ${err.slice(-2000)}`));
      }, options.startTimeoutMs ?? 120_000);
      const onExit = (code: number | null) => {
        clearTimeout(timer);
        reject(new Error(`server exited (${code}) before listening: ${err.slice(-2000)}`));
      };
      proc.once("exit", onExit);
      proc.stderr!.on("data", (d: Buffer) => (err += d.toString()));
      proc.stdout!.on("data", (d: Buffer) => {
        out += d.toString();
        const m = /open https?:\/\/[^\s:]+:(\d+)\//.exec(out);
        if (!m) return;
        clearTimeout(timer);
        proc.off("exit", onExit);
        proc.stdout!.removeAllListeners("data");
        // The server logs (pino) on stdout: its errors are worth seeing when tracing.
        proc.stdout!.on("data", (d: Buffer) => {
          if (process.env.FUZZ_TRACE) process.stderr.write(`[server] ${d.toString()}`);
        });
        const child = new ServerChild(proc, Number(m[1]));
        child.stderrTail = err.slice(-8192);
        resolve(child);
      });
    });
  }

  get alive(): boolean {
    return this.exit === undefined;
  }

  get url(): string {
    return `http://${this.host}:${this.port}`;
  }

  /** What the server wrote on stderr lately (its warnings and errors; a crash's last words). */
  get stderr(): string {
    return this.stderrTail;
  }

  rssMb(): number {
    const m = /VmRSS:\s+(\d+) kB/.exec(readFileSync(`/proc/${this.pid}/status`, "utf8"));
    return m ? Number(m[1]) / 1024 : NaN;
  }

  /** Open file descriptors (sockets, files, pipes, eventfds). */
  fdCount(): number {
    return readdirSync(`/proc/${this.pid}/fd`).length;
  }

  threadCount(): number {
    const m = /Threads:\s+(\d+)/.exec(readFileSync(`/proc/${this.pid}/status`, "utf8"));
    return m ? Number(m[1]) : NaN;
  }

  async memory(): Promise<MemoryFigures> {
    const rssMb = this.rssMb();
    let text = "";
    try {
      const res = await fetch(`${this.url}/metrics`, { signal: AbortSignal.timeout(5000) });
      text = await res.text();
    } catch {
      // figures stay undefined
    }
    const metric = (name: string) => {
      const m = new RegExp(`^${name} ([0-9.e+]+)$`, "m").exec(text);
      return m ? round(Number(m[1]) / 2 ** 20) : undefined;
    };
    return { rssMb: round(rssMb), heapUsedMb: metric("nodejs_heap_size_used_bytes"), heapTotalMb: metric("nodejs_heap_size_total_bytes"), externalMb: metric("nodejs_external_memory_bytes") };
  }

  /** Live sessions, from /healthz. */
  async sessions(): Promise<number> {
    const res = await fetch(`${this.url}/healthz`, { signal: AbortSignal.timeout(5000) });
    return ((await res.json()) as { sessions: number }).sessions;
  }

  /** Waits until the server holds no session (work from cut-off clients winds down), up to `timeoutMs`. */
  async quiesce(timeoutMs = 15_000): Promise<boolean> {
    const until = performance.now() + timeoutMs;
    while (performance.now() < until) {
      try {
        if ((await this.sessions()) === 0) return true;
      } catch {
        // retried
      }
      await new Promise((r) => setTimeout(r, 200));
    }
    return false;
  }

  /** Sends `signal` (SIGTERM: a drain) without waiting; `exited` resolves with the exit code. */
  signal(signal: NodeJS.Signals): void {
    this.proc.kill(signal);
  }

  get exited(): Promise<number | null> {
    if (this.exit) return Promise.resolve(this.exit.code);
    return new Promise((resolve) => this.proc.once("exit", (code) => resolve(code)));
  }

  async stop(): Promise<void> {
    if (!this.alive) return;
    const exited = new Promise<void>((resolve) => this.proc.once("exit", () => resolve()));
    this.proc.kill("SIGTERM");
    const timer = setTimeout(() => this.proc.kill("SIGKILL"), 15_000);
    await exited;
    clearTimeout(timer);
  }
}

export interface ProbeReport {
  count: number;
  failures: string[];
  maxMs: number;
  p50Ms: number;
  p99Ms: number;
  /** Probes that took longer than the 100 ms target. */
  over100: number;
}

/** /healthz every `intervalMs` from a worker thread; `report()` returns the figures since the last report. */
export class HealthProber {
  private readonly worker: Worker;

  constructor(child: ServerChild, intervalMs = 200, timeoutMs = 2000) {
    this.worker = new Worker(new URL("./probe-worker.mjs", import.meta.url), { workerData: { host: child.host, port: child.port, intervalMs, timeoutMs } });
  }

  report(): Promise<ProbeReport> {
    return new Promise((resolve) => {
      this.worker.once("message", (m: { count: number; failures: string[]; latencies: number[] }) => {
        const sorted = [...m.latencies].sort((a, b) => a - b);
        const at = (p: number) => round(sorted[Math.min(sorted.length - 1, Math.floor(p * sorted.length))] ?? 0);
        resolve({ count: m.count, failures: m.failures, maxMs: round(sorted.at(-1) ?? 0), p50Ms: at(0.5), p99Ms: at(0.99), over100: sorted.filter((x) => x > 100).length });
      });
      this.worker.postMessage("report");
    });
  }

  async stop(): Promise<void> {
    this.worker.postMessage("stop");
    await new Promise((r) => this.worker.once("exit", r));
  }
}

export function round(x: number, digits = 1): number {
  const f = 10 ** digits;
  return Math.round(x * f) / f;
}
