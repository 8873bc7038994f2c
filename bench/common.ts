/** Shared bits of the benchmarks: machine description, percentiles, the table printer. */
import { execSync, spawn, type ChildProcess } from "node:child_process";
import path from "node:path";
import os from "node:os";

export function machine(): string {
  const cpu = os.cpus()[0]?.model.replace(/\s+/g, " ").trim() ?? "unknown CPU";
  return `${os.availableParallelism()} cores ${cpu}, ${Math.round(os.totalmem() / 2 ** 30)} GiB, Node ${process.version}`;
}

export function commit(): string {
  try {
    return execSync("git rev-parse --short HEAD", { stdio: ["ignore", "pipe", "ignore"] }).toString().trim();
  } catch {
    return "unknown";
  }
}

export function percentile(values: number[], p: number): number {
  if (!values.length) return 0;
  const s = [...values].sort((a, b) => a - b);
  return s[Math.min(s.length - 1, Math.floor(p * s.length))]!;
}

/** A Markdown table on stderr (stdout keeps one JSON line per result). */
export function printTable(head: string[], rows: string[][]): void {
  const lines = [`| ${head.join(" | ")} |`, `| ${head.map(() => "---").join(" | ")} |`, ...rows.map((r) => `| ${r.join(" | ")} |`)];
  process.stderr.write(lines.join("\n") + "\n");
}

export const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

export interface ServerProcess {
  url: string;
  close(): Promise<void>;
}

/** `lipsync serve` (the built CLI) in a child process on a free port. */
export function spawnServer(extra: string[] = []): Promise<ServerProcess> {
  const cli = path.resolve(import.meta.dirname, "../packages/server/dist/cli.js");
  const child: ChildProcess = spawn(process.execPath, [cli, "serve", "--port", "0", "--host", "127.0.0.1", "--log-level", "warn", ...extra], { stdio: ["ignore", "pipe", "inherit"] });
  return new Promise((resolve, reject) => {
    let out = "";
    child.once("exit", (code) => reject(new Error(`server exited (${code}); run pnpm build first`)));
    child.stdout!.on("data", (d: Buffer) => {
      out += d.toString();
      const m = /open (http:\/\/[^\s]+?)\/? in a browser/.exec(out);
      if (m) {
        resolve({
          url: m[1]!.replace("localhost", "127.0.0.1"),
          close: () => new Promise<void>((done) => {
            child.once("exit", () => done());
            child.kill("SIGTERM");
          }),
        });
      }
    });
  });
}
