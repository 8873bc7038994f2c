/**
 * `lipsync serve` as its own process on a free loopback port, for tests and benchmarks that
 * need the server's timing apart from the test's own work (a room session's clock, say). Runs
 * the CLI from source; resolves once it prints its URL, and stops with SIGTERM (its drain) then
 * SIGKILL.
 */
import { spawn, type ChildProcess } from "node:child_process";
import path from "node:path";
import { fileURLToPath } from "node:url";

const REPO_ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), "..");
const CLI = path.join(REPO_ROOT, "packages", "server", "src", "cli.ts");

export interface LipSyncProcess {
  url: string;
  /** What it printed, stdout and stderr (its log). */
  output(): string;
  stop(): Promise<void>;
}

export async function startLipSync(args: string[] = [], timeoutMs = 120_000): Promise<LipSyncProcess> {
  const child: ChildProcess = spawn(process.execPath, ["--conditions", "source", "--import", "tsx", CLI, "serve", "--host", "127.0.0.1", "--port", "0", ...args], {
    cwd: REPO_ROOT, stdio: ["ignore", "pipe", "pipe"], env: { ...process.env, LOG_LEVEL: process.env.LOG_LEVEL ?? "info" },
  });
  let log = "";
  const url = await new Promise<string>((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`lipsync serve printed no URL within ${timeoutMs} ms:\n${log.slice(-2000)}`)), timeoutMs);
    const onData = (b: Buffer) => {
      log += b.toString();
      if (log.length > 500_000) log = log.slice(-250_000);
      const m = /open (http:\/\/[\d.]+:\d+)\//.exec(log);
      if (m) {
        clearTimeout(timer);
        resolve(m[1]!);
      }
    };
    child.stdout!.on("data", onData);
    child.stderr!.on("data", onData);
    child.once("exit", (code) => {
      clearTimeout(timer);
      reject(new Error(`lipsync serve exited (${code}):\n${log.slice(-2000)}`));
    });
  }).catch(async (e: unknown) => {
    child.kill("SIGKILL");
    throw e;
  });
  return {
    url,
    output: () => log,
    stop: async () => {
      if (child.exitCode !== null || child.signalCode !== null) return;
      const exited = new Promise<void>((r) => child.once("exit", () => r()));
      child.kill("SIGTERM");
      const timer = setTimeout(() => child.kill("SIGKILL"), 15_000);
      await exited;
      clearTimeout(timer);
    },
  };
}
