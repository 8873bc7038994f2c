/**
 * The abuse driver: a real `lipsync serve` child over a temporary avatar root, each row of
 * issue 17 run as a seeded, bounded case against it, one result per case. Case k draws from
 * Rng(seed, "abuse:ROW"), so `--seed S --only ROW` replays it.
 */
import { ServerChild } from "../child.js";
import { Rng } from "../rng.js";
import type { AbuseCase, CaseOutcome, Scale } from "./case.js";
import { CONNECTION_CASES } from "./cases-connections.js";
import { meanwhile } from "./clients.js";
import { PACKAGE_CASES } from "./cases-packages.js";
import { CraftedRoot } from "./packages.js";

/** Every row, in the order they run: the drain (row 10) ends the server, so it comes last. */
export const CASES: AbuseCase[] = [...PACKAGE_CASES, ...CONNECTION_CASES].sort((a, b) => Number(a.endsServer ?? false) - Number(b.endsServer ?? false) || a.row - b.row);

/** Longest one case may take before it counts as a hang, ms. */
const CASE_MS = 90_000;
/** Bystander rounds before the cases: a fresh server's first render, JPEG encode and session pay for lazy set-up (about a second here). */
const WARMUP_ROUNDS = 3;

async function startServer(root: CraftedRoot, options: AbuseOptions): Promise<ServerChild> {
  const child = await ServerChild.start({ args: serverArgs(root.root, options.scale), ...(options.cli ? { cli: options.cli } : {}) });
  for (let i = 0; i < WARMUP_ROUNDS; i++) await meanwhile(child.url, i);
  return child;
}

export interface AbuseOptions {
  seed: number;
  scale: Scale;
  /** Rows to run (default: all). */
  only?: number[];
  /** A built CLI instead of the TypeScript sources. */
  cli?: string;
  onResult?: (r: AbuseResult) => void;
}

export interface AbuseResult extends CaseOutcome {
  abuse: string;
  row: number;
  seed: number;
  scale: string;
  /** "failed", "passed", or "known" (failed, and waiting for the fix `known` names). */
  verdict: "passed" | "failed" | "known";
  known?: string;
  ms: number;
  server_alive: boolean;
}

/** The server as the cases need it: the crafted root, lazy frames (row 3), a budget rows 5 can pass, the scale's bounds. */
export function serverArgs(root: string, scale: Scale): string[] {
  return [
    "--avatars", root, "--preload", "demo", "--memory", "lazy", "--capacity", "8", "--rate-limit", "0", "--http2-keepalive", "2", "--drain-seconds", "3",
    "--avatar-memory-mb", "2048", "--connections-per-address", String(scale.perAddressCap),
    "--handshake-timeout-ms", String(scale.handshakeMs), "--headers-timeout-ms", String(scale.headersMs),
  ];
}

export async function runAbuse(options: AbuseOptions): Promise<AbuseResult[]> {
  const root = new CraftedRoot();
  const results: AbuseResult[] = [];
  let child: ServerChild | undefined;
  try {
    child = await startServer(root, options);
    for (const c of CASES.filter((x) => !options.only || options.only.includes(x.row))) {
      if (!child.alive) child = await startServer(root, options);
      const t0 = performance.now();
      let outcome: CaseOutcome;
      let timer: NodeJS.Timeout | undefined;
      try {
        outcome = await Promise.race([
          c.run({ child, root, rng: new Rng(options.seed, `abuse:${c.row}`), scale: options.scale }),
          new Promise<CaseOutcome>((resolve) => (timer = setTimeout(() => resolve({ failures: [`no result in ${CASE_MS} ms`], figures: {} }), CASE_MS))),
        ]);
      } catch (err) {
        outcome = { failures: [`the case threw: ${(err as Error).stack ?? String(err)}`.slice(0, 600)], figures: {} };
      } finally {
        clearTimeout(timer);
      }
      const alive = c.endsServer ? true : child.alive;
      if (!alive) outcome.failures.push(`the server died: exit ${JSON.stringify(child.exit)}; ${child.stderr.slice(-600)}`);
      const failed = outcome.failures.length > 0;
      const result: AbuseResult = {
        abuse: c.name, row: c.row, seed: options.seed, scale: options.scale.name,
        verdict: !failed ? "passed" : c.known ? "known" : "failed", ...(c.known ? { known: c.known } : {}),
        ms: Math.round(performance.now() - t0), server_alive: alive, ...outcome,
      };
      results.push(result);
      options.onResult?.(result);
    }
  } finally {
    await child?.stop();
    root.remove();
  }
  return results;
}
