/** Shared bits of the benchmarks: machine description, percentiles, the table printer. */
import { execSync } from "node:child_process";
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
