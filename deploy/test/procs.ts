/**
 * Real processes for the deployment tests: `lipsync serve` on a free port, HAProxy, helm. Every
 * wait is bounded; every process a test starts is killed by it (stopAll) if still running.
 */
import { spawn, type ChildProcess } from "node:child_process";
import { existsSync, readFileSync } from "node:fs";
import net from "node:net";
import path from "node:path";
import { fileURLToPath } from "node:url";

export const REPO_ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), "../..");
/** The CLI from its TypeScript sources: the tests need no build. */
export const CLI = ["--import", "tsx", path.join(REPO_ROOT, "packages", "server", "src", "cli.ts")];

const running = new Set<ChildProcess>();

export interface Served {
  proc: ChildProcess;
  url: string;
  port: number;
  /** Resolves with the exit code once the process is gone. */
  exited: Promise<number | null>;
  /** What it wrote to stderr (its log at --log-level warn and above). */
  stderr: () => string;
}

/**
 * Starts `command` (node and its arguments by default, `lipsync serve ARGS` from sources);
 * resolves once it prints the URL it serves on.
 */
export function serve(args: string[], options: { command?: string[]; env?: NodeJS.ProcessEnv; timeoutMs?: number } = {}): Promise<Served> {
  const [exe, ...pre] = options.command ?? [process.execPath, ...CLI];
  const proc = spawn(exe!, [...pre, ...args], { cwd: REPO_ROOT, stdio: ["ignore", "pipe", "pipe"], env: options.env ?? process.env });
  running.add(proc);
  const exited = new Promise<number | null>((resolve) => proc.on("exit", (code) => {
    running.delete(proc);
    resolve(code);
  }));
  let out = "";
  let err = "";
  proc.stderr!.on("data", (d) => (err += d));
  return new Promise((resolve, reject) => {
    const timeoutMs = options.timeoutMs ?? 90_000;
    const timer = setTimeout(() => reject(new Error(`server did not start in ${timeoutMs / 1000} s: ${err.slice(-2000)}`)), timeoutMs);
    proc.stdout!.on("data", (d) => {
      out += d;
      const m = /open (http:\/\/[^/\s]+)\//.exec(out);
      if (m) {
        clearTimeout(timer);
        const url = m[1]!;
        resolve({ proc, url, port: Number(new URL(url).port), exited, stderr: () => err });
      }
    });
    void exited.then((code) => {
      clearTimeout(timer);
      reject(new Error(`server exited (${code}) before serving: ${err.slice(-2000)}`));
    });
  });
}

/** Runs a program to its end: exit code and output, or a failure after `timeoutMs`. */
export function run(exe: string, args: string[], options: { env?: NodeJS.ProcessEnv; timeoutMs?: number; cwd?: string } = {}): Promise<{ code: number | null; stdout: string; stderr: string }> {
  return new Promise((resolve, reject) => {
    const proc = spawn(exe, args, { cwd: options.cwd ?? REPO_ROOT, stdio: ["ignore", "pipe", "pipe"], env: options.env ?? process.env });
    running.add(proc);
    let stdout = "";
    let stderr = "";
    proc.stdout!.on("data", (d) => (stdout += d));
    proc.stderr!.on("data", (d) => (stderr += d));
    const timeoutMs = options.timeoutMs ?? 60_000;
    const timer = setTimeout(() => {
      proc.kill("SIGKILL");
      reject(new Error(`${path.basename(exe)} ${args.slice(0, 2).join(" ")} did not finish in ${timeoutMs / 1000} s`));
    }, timeoutMs);
    proc.on("error", (e) => {
      clearTimeout(timer);
      reject(e);
    });
    proc.on("close", (code) => {
      clearTimeout(timer);
      running.delete(proc);
      resolve({ code, stdout, stderr });
    });
  });
}

/** Starts a long-running program (HAProxy); its output is kept for failure messages. */
export function start(exe: string, args: string[], env: NodeJS.ProcessEnv = process.env): { proc: ChildProcess; output: () => string; exited: Promise<number | null> } {
  const proc = spawn(exe, args, { cwd: REPO_ROOT, stdio: ["ignore", "pipe", "pipe"], env });
  running.add(proc);
  let output = "";
  proc.stdout!.on("data", (d) => (output += d));
  proc.stderr!.on("data", (d) => (output += d));
  const exited = new Promise<number | null>((resolve) => proc.on("exit", (code) => {
    running.delete(proc);
    resolve(code);
  }));
  return { proc, output: () => output, exited };
}

/** Kills what the tests started and is still running. */
export function stopAll(): void {
  for (const p of running) p.kill("SIGKILL");
  running.clear();
}

/** A TCP port free on 127.0.0.1 now (the OS picks it; the caller binds it at once). */
export function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const s = net.createServer();
    s.once("error", reject);
    s.listen(0, "127.0.0.1", () => {
      const { port } = s.address() as net.AddressInfo;
      s.close(() => resolve(port));
    });
  });
}

/** helm: the pinned build scripts/setup.sh --system makes, else one on PATH. */
export function helmBinary(): string {
  const version = readFileSync(path.join(REPO_ROOT, "deploy", "helm", "HELM_VERSION"), "utf8").trim();
  const built = path.join(REPO_ROOT, ".cache", "tools", `helm-${version}`, "helm");
  if (existsSync(built)) return built;
  for (const dir of (process.env.PATH ?? "").split(":")) if (dir && existsSync(path.join(dir, "helm"))) return path.join(dir, "helm");
  throw new Error(`helm ${version} not found: run bash scripts/setup.sh --system (it builds ${path.relative(REPO_ROOT, built)})`);
}

/** Resolves once `cond()` holds, checking every `everyMs`; fails naming `what` after `ms`. */
export async function until(cond: () => boolean | Promise<boolean>, what: string, ms = 10_000, everyMs = 50): Promise<void> {
  const deadline = Date.now() + ms;
  for (;;) {
    if (await cond()) return;
    if (Date.now() > deadline) throw new Error(`${what}: not within ${ms} ms`);
    await new Promise((r) => setTimeout(r, everyMs));
  }
}
